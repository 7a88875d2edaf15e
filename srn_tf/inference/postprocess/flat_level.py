"""Flat-level matching: give a deblurred image the blurred input's level where it is flat.

Blur of either kind (a kernel convolved with the 8-bit values, or frames averaged
in linear light) leaves an image unchanged where it is flat: there the sharp image
is the blurred one, and a deblurred image should be too. The bundled default model
is on average about 1.5 grey levels darker than its input there, a bias it learnt
as a compromise between the two kinds of averaging (docs/deblurring.md,
"Flat-level matching"); subtracting that offset, measured per channel over the flat pixels,
gains 0.1 to 0.17 dB on camera shake it never saw. Numpy and OpenCV only.
"""

import cv2
import numpy as np

# A pixel is flat when its 7x7 neighbourhood's grey values have a standard
# deviation below 0.02 (5 grey levels; the synthetic pairs' noise of 0.01 is
# 0.006 on the mean of three channels).
FLAT_WINDOW = 7
FLAT_MAX_STD = 0.02
# Images with fewer flat pixels than this fraction are returned unchanged: too
# few to measure an offset.
MIN_FLAT_FRACTION = 0.02


def flat_mask(image):
    """Where `image` is flat.

    Args:
        image: (height, width, channels) float32 in [0, 1].

    Returns:
        (height, width) bool array: the local standard deviation of the channel
        mean over a `FLAT_WINDOW` square is below `FLAT_MAX_STD`.
    """
    # The channels summed one by one: numpy's mean over a short last axis is
    # several times slower.
    grey = sum(image[..., channel] for channel in range(image.shape[2])) / np.float32(
        image.shape[2])
    window = (FLAT_WINDOW, FLAT_WINDOW)
    mean = cv2.blur(grey, window, borderType=cv2.BORDER_REFLECT)
    mean_of_squares = cv2.blur(grey * grey, window, borderType=cv2.BORDER_REFLECT)
    variance = np.maximum(mean_of_squares - mean * mean, 0.0)
    return variance < FLAT_MAX_STD ** 2


def match_flat_level(blurred, deblurred):
    """`deblurred` minus its mean offset from `blurred` over the flat pixels of `blurred`.

    Args:
        blurred: (height, width, channels) float32 in [0, 1], the model's input.
        deblurred: float32 array of the same shape, the model's output (not yet
            clipped or quantised).

    Returns:
        float32 array of that shape: `deblurred` with one constant per channel
        subtracted, or `deblurred` itself when fewer than `MIN_FLAT_FRACTION`
        of the pixels are flat.
    """
    if blurred.shape != deblurred.shape:
        raise ValueError(f"blurred {blurred.shape} and deblurred {deblurred.shape} differ in shape")
    mask = flat_mask(blurred)
    flat_pixels = np.count_nonzero(mask)
    if flat_pixels < MIN_FLAT_FRACTION * mask.size:
        return deblurred
    # cv2.mean sums in float64 per channel over the mask, without copying the
    # masked pixels out as boolean indexing does.
    offset = cv2.mean(deblurred - blurred, mask.view(np.uint8))[:blurred.shape[2]]
    return (deblurred - np.asarray(offset, np.float32)).astype(np.float32)


def banded_flat_offset(read_blurred, read_deblurred, height, band_rows=512):
    """`match_flat_level`'s offset for images read a band of rows at a time.

    The flat mask of each band is computed with `FLAT_WINDOW // 2` rows of its
    neighbours (and mirrored at the image's top and bottom, as on the whole
    image), so it is the whole image's mask; the offset's sum and count add up
    band by band.

    Args:
        read_blurred, read_deblurred: `read(top, bottom)`, rows top..bottom of the
            input and of the model's output, (rows, width, channels) float32.
        height: the images' rows.
        band_rows: rows per band.

    Returns:
        (channels,) float32 offset to subtract, or None when fewer than
        `MIN_FLAT_FRACTION` of the pixels are flat.
    """
    halo = FLAT_WINDOW // 2
    total, count, pixels = 0.0, 0, 0
    for top in range(0, height, band_rows):
        bottom = min(height, top + band_rows)
        outer_top, outer_bottom = max(0, top - halo), min(height, bottom + halo)
        blurred = read_blurred(outer_top, outer_bottom)
        mask = flat_mask(blurred)[top - outer_top:bottom - outer_top]
        blurred = blurred[top - outer_top:bottom - outer_top]
        deblurred = read_deblurred(top, bottom)
        total = total + (deblurred[mask] - blurred[mask]).sum(axis=0, dtype=np.float64)
        count += int(mask.sum())
        pixels += mask.size
    if count < MIN_FLAT_FRACTION * pixels:
        return None
    return (total / count).astype(np.float32)
