"""Exporting a model as an ONNX file that deblurs images of any height and width.

The graph is the SavedModel's (`saved_model.deblur_graph`: padding to the size
multiple, gray models' per-channel runs, crop back), converted by tf2onnx from
a `tf.function` with dynamic batch, height and width at opset 17 or above. One
input `images`, one output `deblurred`, same shape and layout:

    layout="nhwc", input_dtype="float32": (batch, height, width, 3) float32 in [0, 1]
    layout="nchw": (batch, 3, height, width), darktable's and chaiNNer's order
    input_dtype="uint8": uint8 in and out, the output clip(x, 0, 1) * 255 truncated,
        as the SavedModel's `serving_uint8` (one entry point per file: ONNX files
        have one graph, and a second required input would burden every caller)

Height and width must be at least the size multiple (16); the metadata
(`srn_tf.export.metadata`) is in the file's `metadata_props`.
"""

import os

from srn_tf.atomic_files import atomic_file
from srn_tf.write_safety import check_destination
from srn_tf.export.formats import MIN_OPSET
from srn_tf.export.metadata import export_metadata
from srn_tf.export.graph import export_graph_function
from srn_tf.inference.onnx_graph import convert_to_onnx

OUTPUT_NAME = "deblurred"


def export_onnx(model, path, layout="nhwc", input_dtype="float32", metadata=None,
                overwrite=False, opset=MIN_OPSET):
    """Writes `model` as an ONNX file (see this module's docstring).

    Args:
        model: a built `SRNDeblurNet`.
        path: the .onnx file to write (a temporary file beside it is renamed onto it).
        layout: "nhwc" or "nchw".
        input_dtype: "float32" or "uint8".
        metadata: extra {str: str} for `export_metadata` (preset, release_name, license).
        overwrite: replace an existing `path`, which must then be a file this function
            wrote (`srn_tf.write_safety.is_onnx_export`); any other file is refused.
        opset: ONNX opset, at least 17.

    Returns:
        `path`.

    Raises:
        srn_tf.write_safety.OutputRefused: `path` is not an export to replace.
        FileExistsError: `path` is one and `overwrite` is False.
        ValueError: a bad layout, input dtype or opset.
    """
    import onnx

    path = os.fspath(path)
    if opset < MIN_OPSET:
        raise ValueError(f"opset must be at least {MIN_OPSET}. Received: opset={opset}")
    check_destination(path, "onnx", overwrite)
    proto = convert_to_onnx(export_graph_function(model, layout, input_dtype), opset)
    _name_output(proto, OUTPUT_NAME)
    names = ("batch", "channels", "height", "width") if layout == "nchw" else (
        "batch", "height", "width", "channels")
    for value in (proto.graph.input[0], proto.graph.output[0]):
        for dim, name in zip(value.type.tensor_type.shape.dim, names):
            if name != "channels":
                dim.dim_param = name
    proto.producer_name = "srn-tf"
    onnx.helper.set_model_props(
        proto, export_metadata(model, layout, input_dtype, **(metadata or {})))
    onnx.checker.check_model(proto)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_file(path) as temporary:
        onnx.save(proto, temporary)
    return path


def _name_output(proto, name):
    """Renames the graph's single output (tf2onnx calls it after the TF tensor) to `name`."""
    (output,) = proto.graph.output
    for node in proto.graph.node:
        node.output[:] = [name if value == output.name else value for value in node.output]
        node.input[:] = [name if value == output.name else value for value in node.input]
    output.name = name
