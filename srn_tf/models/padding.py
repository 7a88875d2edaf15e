"""Running a model that needs sizes in multiples of its `size_multiple` on images of any size.

`pad_to_multiple` is the one edge padding of the package: the whole-image run,
the tiles and the SavedModel's graph all pad with it. Written in `keras.ops`
(copies, reshapes and transposes only, so TensorFlow computes exactly what its own
ops did), it runs on every Keras backend, and inside TensorFlow graphs whose
height and width are unknown until run time (the SavedModel).
"""

import keras
from keras import ops

from srn_tf.models.legacy_resize import scaled_length, spatial_size


def too_small_message(min_side, height=None, width=None):
    """The one wording of "this image is smaller than the network takes", for every check
    of it (the eager check below, the exported graphs' assertion, srn-serve's upload).

    Args:
        min_side: the smallest side the model takes (its `size_multiple`).
        height, width: the image's size, when known (None inside a traced graph).
    """
    needs = f"SRN needs at least {min_side} pixels on each side"
    return needs if height is None else f"image is {height}x{width}; {needs}"


def check_min_size(height, width, min_side):
    """Raises ValueError when an image is smaller than `min_side` on a side.

    Callers pass the model's `size_multiple`: below it the coarsest level would
    see less than one cell of the network's subsampling.
    """
    if height < min_side or width < min_side:
        raise ValueError(too_small_message(min_side, height, width))


def pad_to_multiple(images, multiple):
    """Edge-replicates the bottom rows and right columns up to a multiple of `multiple`.

    The release pads the same way (`np.pad(..., 'edge')` at bottom and right).

    Args:
        images: (batch, height, width, channels) tensor or numpy array.
        multiple: the size both sides are padded to a multiple of.

    Returns:
        (batch, ceil(height / multiple) * multiple, ceil(width / multiple) * multiple,
        channels) tensor.
    """
    images = ops.convert_to_tensor(images)
    height, width = spatial_size(images)
    # Gathering clamped indices rather than concatenating repeated rows: one op per
    # axis, no zero-size tensors when nothing is padded, and ops every converter
    # (tf2onnx, TFLite builtins) maps one to one. The padded length is computed as
    # (n + multiple - 1) // multiple * multiple, all operands non-negative, so
    # runtimes whose integer division truncates agree with TensorFlow's floor.
    rows = ops.minimum(ops.arange((height + multiple - 1) // multiple * multiple), height - 1)
    images = ops.take(images, rows, axis=1)
    columns = ops.minimum(ops.arange((width + multiple - 1) // multiple * multiple), width - 1)
    return ops.take(images, columns, axis=2)


def run_per_channel(function, images):
    """Runs a one-plane `function` on each channel of `images`, restacking the results.

    The release's gray and lstm models handle RGB this way: R, G and B go through
    as a batch of three one-channel images.

    Args:
        function: maps (n, height, width, 1) to a tensor or a list of tensors
            (n, h_i, w_i, 1), e.g. one per level.
        images: (batch, height, width, channels) tensor.

    Returns:
        What `function` returns, each tensor restacked to (batch, h_i, w_i, channels).
    """
    images = ops.convert_to_tensor(images)
    batch, height, width, channels = ops.shape(images)
    planes = ops.reshape(ops.transpose(images, (0, 3, 1, 2)), (-1, height, width, 1))

    def restack(output):
        _, output_height, output_width, _ = ops.shape(output)
        output = ops.reshape(output, (batch, channels, output_height, output_width))
        return ops.transpose(output, (0, 2, 3, 1))

    return keras.tree.map_structure(restack, function(planes))


def predict_levels_any_size(model, images):
    """Runs `model` on (batch, height, width, channels) images of any size.

    Pads to the model's `size_multiple`, runs gray models plane by plane when
    given several channels, and crops every level back to the input's size
    scaled to that level.

    Args:
        model: an `SRNDeblurNet`.
        images: (batch, height, width, channels) float tensor in [0, 1].

    Returns:
        List of float32 tensors, coarse to fine, the last
        (batch, height, width, channels).
    """
    images = ops.convert_to_tensor(images)
    height, width = spatial_size(images)
    if isinstance(height, int) and isinstance(width, int):
        check_min_size(height, width, model.size_multiple)

    def run_levels(batch):
        padded = pad_to_multiple(batch, model.size_multiple)
        levels = model(padded, training=False)
        cropped = []
        for level, output in enumerate(levels):
            scale = model.scale_factor ** (model.num_scales - 1 - level)
            cropped.append(output[:, :scaled_length(height, scale), :scaled_length(width, scale), :])
        return cropped

    if model.channels == 1 and images.shape[-1] != 1:
        return run_per_channel(run_levels, images)
    return run_levels(images)


def predict_any_size(model, images):
    """Returns the finest level of `predict_levels_any_size`: (batch, height, width, channels)."""
    return predict_levels_any_size(model, images)[-1]
