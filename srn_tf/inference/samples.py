"""Sample conversions of `deblur_image`: stored integers (or float32) to float32 in [0, 1]
and back, as the release converts them."""

import numpy as np

# The value of 1.0 per stored sample type.
SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}


def to_float(samples):
    """(..., channels) uint8, uint16 or float32 samples as float32 in [0, 1]."""
    return samples.astype(np.float32) / SCALES[samples.dtype]


def from_float(image, dtype):
    """Clips to [0, 1] and converts like the release: scale and truncate (no rounding)."""
    image = np.clip(image, 0.0, 1.0)
    if dtype == np.float32:
        return image.astype(np.float32)
    return (image * SCALES[np.dtype(dtype)]).astype(dtype)
