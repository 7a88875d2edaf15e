"""The graph every export runs, traced from an `SRNDeblurNet`.

`deblur_levels_graph` checks the size, pads to the model's size multiple, runs
gray models plane by plane and crops each level back
(`srn_tf.models.padding.predict_levels_any_size`); the SavedModel's
signatures, the ONNX file and the LiteRT file all trace it, so they compute the
same thing.
"""

import tensorflow as tf

from srn_tf.export.metadata import check_export_options
from srn_tf.models.padding import predict_levels_any_size, too_small_message

INPUT_NAME = "images"


def deblur_levels_graph(model, images):
    """The levels of `model` on float32 (batch, height, width, 3) images of any size.

    The graph every export runs (SavedModel, ONNX, LiteRT): checks the size,
    pads to the model's size multiple, runs gray models plane by plane and crops
    each level back (`predict_levels_any_size`).

    Returns:
        List of float32 tensors, coarse to fine, the last (batch, height, width, 3).
    """
    shape = tf.shape(images)
    tf.debugging.assert_greater_equal(
        tf.minimum(shape[1], shape[2]), model.size_multiple,
        message=too_small_message(model.size_multiple))
    return predict_levels_any_size(model, images)


def deblur_graph(model, images):
    """float32 (batch, height, width, 3) in [0, 1] -> the deblurred float32 images."""
    return deblur_levels_graph(model, images)[-1]


def deblur_uint8_graph(model, images):
    """uint8 (batch, height, width, 3) -> uint8, converted as the release converts its
    results: clip(x, 0, 1) * 255, truncated."""
    result = deblur_graph(model, tf.cast(images, tf.float32) / 255.0)
    return tf.cast(tf.clip_by_value(result, 0.0, 1.0) * 255.0, tf.uint8)


def export_graph_function(model, layout="nhwc", input_dtype="float32", shape=None):
    """The `tf.function` an ONNX or LiteRT file is converted from.

    Args:
        model: an `SRNDeblurNet`.
        layout: "nhwc" or "nchw", for input and output.
        input_dtype: "float32" (float32 in [0, 1] in and out) or "uint8".
        shape: (batch, height, width) to fix, or None for dynamic ones.

    Returns:
        A `tf.function` with one input signature: images in `layout` ->
        deblurred images, same shape and dtype.
    """
    check_export_options(layout, input_dtype)
    batch, height, width = shape or (None, None, None)
    dims = [batch, 3, height, width] if layout == "nchw" else [batch, height, width, 3]
    spec = tf.TensorSpec(dims, tf.as_dtype(input_dtype), name=INPUT_NAME)
    graph = deblur_uint8_graph if input_dtype == "uint8" else deblur_graph

    def deblur(images):
        if layout == "nchw":
            images = tf.transpose(images, [0, 2, 3, 1])
        result = graph(model, images)
        if layout == "nchw":
            result = tf.transpose(result, [0, 3, 1, 2])
        return result

    return tf.function(deblur, input_signature=[spec], autograph=False)
