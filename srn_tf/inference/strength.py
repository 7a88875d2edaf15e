"""Deblurring strength: a blend of an image and its deblurred version, defined once.

    result = input + strength * (deblurred - input)

computed in float64 in the image's own units (0..255 for uint8, 0..65535 for
uint16, 0..1 for float32), then clipped to that range and truncated to the
image's type, as `deblur_image` converts its outputs (no rounding). Every
integer of both ranges is exact in float64, so strength 0 gives the input and
strength 1 the deblurred image bit for bit. An alpha channel is the input's.
`srn-serve` applies it to every result it hands out; numpy only.
"""

import math

import numpy as np

_MAXIMA = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}


def check_strength(strength):
    """Returns `strength` as a float in [0, 1]; a string is parsed.

    Raises:
        ValueError: not a number, not finite, or outside [0, 1].
    """
    try:
        value = float(strength)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"strength must be a number from 0 to 1. Received: {strength!r}")
    return value


def apply_strength(image, deblurred, strength):
    """The blend of `image` and `deblurred` at `strength` (see the module docstring).

    Args:
        image: (height, width, channels) uint8, uint16 or float32 array, the input.
        deblurred: the same shape and dtype, e.g. `deblur_image(model, image)`.
        strength: 0 (the input) to 1 (the deblurred image).

    Returns:
        An array of `image`'s shape and dtype.

    Raises:
        ValueError: a bad strength, or arrays that differ in shape or dtype.
    """
    strength = check_strength(strength)
    image = np.asarray(image)
    deblurred = np.asarray(deblurred)
    if image.shape != deblurred.shape or image.dtype != deblurred.dtype:
        raise ValueError(f"the input ({image.shape}, {image.dtype}) and the deblurred image "
                         f"({deblurred.shape}, {deblurred.dtype}) differ")
    if image.dtype not in _MAXIMA or image.ndim != 3:
        raise ValueError("apply_strength takes (height, width, channels) uint8, uint16 or "
                         f"float32 images. Received {image.shape}, {image.dtype}")
    channels = 3 if image.shape[2] == 4 else image.shape[2]
    source = image[:, :, :channels].astype(np.float64)
    target = deblurred[:, :, :channels].astype(np.float64)
    blended = np.clip(source + strength * (target - source), 0.0, _MAXIMA[image.dtype])
    result = blended.astype(image.dtype)
    if image.shape[2] == 4:
        result = np.concatenate([result, image[:, :, 3:]], axis=-1)
    return result
