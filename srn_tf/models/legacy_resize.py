"""The TF1 bilinear resize that SRN-DeblurNet was trained with.

The release resizes with TF1's `tf.image.resize_images(..., method=0)`: bilinear,
`align_corners=False`, and the legacy pixel convention (no half-pixel centres).
TF2's `tf.image.resize` samples at half-pixel centres and gives different numbers,
so every resize in this package goes through `legacy_bilinear_resize`.
"""

import math

import tensorflow as tf


def scaled_length(length, scale):
    """Returns `round(length * scale)` with Python 2's rounding (halves away from 0).

    The release computes level sizes as `int(round(h * scale))` under Python 2;
    Python 3's `round` sends halves to even, which would change odd sizes.

    Args:
        length: a Python int or a scalar int32 tensor.
        scale: a Python float.
    """
    if isinstance(length, int):
        return int(math.floor(length * scale + 0.5))
    scaled = tf.floor(tf.cast(length, tf.float64) * scale + 0.5)
    return tf.cast(scaled, tf.int32)


def spatial_size(images):
    """Returns (height, width) of an NHWC tensor, as ints where known statically."""
    static = images.shape
    dynamic = tf.shape(images)
    height = static[1] if static[1] is not None else dynamic[1]
    width = static[2] if static[2] is not None else dynamic[2]
    return height, width


def legacy_bilinear_resize(images, size):
    """Resizes like TF1's `tf.image.resize_images(images, size, method=0)`.

    Args:
        images: (batch, height, width, channels) tensor, any float dtype.
        size: (new_height, new_width) as ints or scalar int tensors.

    Returns:
        (batch, new_height, new_width, channels) tensor in the dtype of `images`.
    """
    new_height, new_width = size
    if all(isinstance(v, int) for v in (new_height, new_width)):
        if tuple(images.shape[1:3]) == (new_height, new_width):
            return images  # TF1 skips the op when the size is unchanged.
    # The raw op is what TF1's resize_images ran; it computes in float32.
    resized = tf.raw_ops.ResizeBilinear(
        images=images,
        size=tf.stack([new_height, new_width]),
        align_corners=False,
        half_pixel_centers=False,
    )
    return tf.cast(resized, images.dtype)
