"""The TF1 bilinear resize that SRN-DeblurNet was trained with, on every Keras backend.

The release resizes with TF1's `tf.image.resize_images(..., method=0)`: bilinear,
`align_corners=False`, and the legacy pixel convention (no half-pixel centres).
TF2's `tf.image.resize` and `keras.ops.image.resize` sample at half-pixel centres
and give different numbers, so every resize in this package goes through
`legacy_bilinear_resize`.

Under the TensorFlow backend that function runs TF1's own kernel
(`tf.raw_ops.ResizeBilinear`), the op the release ran: the TensorFlow outputs stay
exactly those of earlier versions (tests/test_default_model.py pins them bit for
bit), and height and width may be unknown until run time (the SavedModel export
traces with None sizes). Under JAX and PyTorch it runs
`legacy_bilinear_resize_keras_ops`, the same arithmetic written in `keras.ops`;
tests/test_legacy_resize.py and the backend tests hold it to the raw op within
1e-6.
"""

import math

import keras
from keras import ops

_TENSORFLOW_BACKEND = keras.backend.backend() == "tensorflow"
if _TENSORFLOW_BACKEND:
    import tensorflow as tf


def scaled_length(length, scale):
    """Returns `round(length * scale)` with Python 2's rounding (halves away from 0).

    The release computes level sizes as `int(round(h * scale))` under Python 2;
    Python 3's `round` sends halves to even, which would change odd sizes.

    Args:
        length: a Python int, or a scalar int tensor (a size known only at run time
            under TensorFlow).
        scale: a Python float.
    """
    if isinstance(length, int):
        return int(math.floor(length * scale + 0.5))
    scaled = ops.floor(ops.cast(length, "float64") * scale + 0.5)
    return ops.cast(scaled, "int32")


def spatial_size(images):
    """Returns (height, width) of an NHWC tensor or array: Python ints where known
    statically, scalar tensors otherwise (TensorFlow graphs with None sizes)."""
    shape = ops.shape(images)
    return shape[1], shape[2]


def _source_coordinates(in_size, out_size):
    """Where TF1's legacy kernel samples along one axis of length `in_size`.

    Output index i reads source coordinate `i * (in_size / out_size)` in float32
    (no half-pixel offset), between the pixels `floor` and `min(ceil, in_size - 1)`
    (clamped at the far edge).

    Returns:
        (lower, upper, lerp): int32 indices and float32 weights of the upper pixel,
        each of shape (out_size,).
    """
    scale = ops.divide(ops.cast(in_size, "float32"), ops.cast(out_size, "float32"))
    coordinates = ops.arange(out_size, dtype="float32") * scale
    lower = ops.floor(coordinates)
    upper = ops.minimum(ops.cast(ops.ceil(coordinates), "int32"), in_size - 1)
    return ops.cast(lower, "int32"), upper, coordinates - lower


def legacy_bilinear_resize_keras_ops(images, size):
    """TF1's legacy bilinear resize (`ResizeBilinear`, `half_pixel_centers=False`,
    `align_corners=False`) in `keras.ops`, for every backend.

    It interpolates as TF1's CPU kernel does, in float32: along the width
    first (`top = top_left + (top_right - top_left) * x_lerp`, likewise `bottom`),
    then along the height (`top + (bottom - top) * y_lerp`).

    Args:
        images: (batch, height, width, channels) tensor, any float dtype.
        size: (new_height, new_width) as ints.

    Returns:
        (batch, new_height, new_width, channels) tensor in the dtype of `images`.
    """
    images = ops.convert_to_tensor(images)
    height, width = spatial_size(images)
    new_height, new_width = size
    y_lower, y_upper, y_lerp = _source_coordinates(height, new_height)
    x_lower, x_upper, x_lerp = _source_coordinates(width, new_width)
    values = ops.cast(images, "float32")
    top_rows = ops.take(values, y_lower, axis=1)
    bottom_rows = ops.take(values, y_upper, axis=1)
    x_lerp = ops.reshape(x_lerp, (1, 1, new_width, 1))
    y_lerp = ops.reshape(y_lerp, (1, new_height, 1, 1))

    def along_width(rows):
        left = ops.take(rows, x_lower, axis=2)
        right = ops.take(rows, x_upper, axis=2)
        return left + (right - left) * x_lerp

    top = along_width(top_rows)
    bottom = along_width(bottom_rows)
    return ops.cast(top + (bottom - top) * y_lerp, images.dtype)


def legacy_bilinear_resize(images, size):
    """Resizes like TF1's `tf.image.resize_images(images, size, method=0)`.

    Under the TensorFlow backend this is TF1's kernel itself (bit-identical to the
    release and to earlier versions, any size known or not); under JAX and PyTorch
    `legacy_bilinear_resize_keras_ops` (see the module docstring).

    Args:
        images: (batch, height, width, channels) tensor, any float dtype.
        size: (new_height, new_width) as ints or (TensorFlow only) scalar int tensors.

    Returns:
        (batch, new_height, new_width, channels) tensor in the dtype of `images`.
    """
    new_height, new_width = size
    if all(isinstance(v, int) for v in (new_height, new_width)):
        if tuple(images.shape[1:3]) == (new_height, new_width):
            return images  # TF1 skips the op when the size is unchanged.
    if not _TENSORFLOW_BACKEND:
        return legacy_bilinear_resize_keras_ops(images, size)
    # The raw op is what TF1's resize_images ran; it computes in float32.
    resized = tf.raw_ops.ResizeBilinear(
        images=images,
        size=tf.stack([new_height, new_width]),
        align_corners=False,
        half_pixel_centers=False,
    )
    return tf.cast(resized, images.dtype)
