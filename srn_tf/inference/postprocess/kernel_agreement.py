"""Kernel agreement: does one blur kernel explain the whole image?

Kernel refinement deconvolves the whole image with one kernel. That is right for
camera shake without rotation and wrong wherever the blur varies across the
frame: a camera rolling about a point (blur growing with the distance from it and
turning with the direction), an object moving on its own, depth. There the one
kernel is a compromise that fits no region, and deconvolving with it costs up to
4 dB against the network's own output (docs/deblurring.md, "Kernel refinement").

The test: with both images shrunk by `AGREEMENT_FACTOR`, one kernel is estimated
from the whole image and one from each of `grid` x `grid` overlapping tiles, for
each grid of `GRIDS` (`blur_kernels.estimate_kernel`, from the network's output
against the input).
Each tile's input is then predicted by blurring the tile's output with the whole
image's kernel and with the tile's own (on the mean of the channels, as the
kernels are estimated); where one kernel explains the image the
two predictions are as good as each other in every tile, and where the blur
varies the whole image's kernel misses the input in some tile by far more than
that tile's own kernel does. The worst tile's ratio of the two residuals (the
whole image's over the better of the two, both plus a floor so that a flat tile's
tiny residuals do not decide) is the image's disagreement: 1.0 to 1.3 on most
uniform shake, up to 3.9 on a heavy camera roll or a moving object, about 2.0 on
two halves blurred differently. Both kinds of blur of `blur_kernels` are measured
and the lower disagreement counts, so that linear-light blur is not taken for
varying blur by the 8-bit model; the two grids' tiles are centred differently, so
the higher of their disagreements counts, so that a region blurred differently is
not missed because it straddles the tiles of one grid.

Refinement then runs in full at a disagreement up to `FULL_AGREEMENT`, not at all
from `NO_AGREEMENT`, and in proportion between, so that the output does not jump
between the two for images near the limit; where it does not run at all, its cost
is saved too. NumPy and OpenCV only.
"""

import numpy as np

from srn_tf.inference.postprocess.blur_kernels import (KERNEL_SIZE, TO_DOMAIN, channel_mean,
                                                       estimate_kernel, reblur, shrink)
from srn_tf.inference.postprocess.threads import map_in_threads

# The images are shrunk by this factor first: the network's leftover blur there is
# about a pixel, so the estimates catch the blur itself, and the test costs little.
AGREEMENT_FACTOR = 2.0
# Tiles per side of each grid, and the fraction of a tile each neighbour overlaps: two
# grids centred differently, so that a region blurred differently does not hide
# between the tiles of one.
GRIDS = (3, 4)
TILE_OVERLAP = 0.5
# Tiles with a side below this (pixels, at the shrunk size) are too small to pin a
# kernel down; an image that small is assumed to have one blur, as before the test.
SMALLEST_TILE = 48
# Each residual gets this fraction of the tiles' mean unblurred residual
# (|output - input|^2) added, so that flat tiles, where every kernel predicts the
# input, give ratios near 1.
FLOOR_FRACTION = 0.05
# Disagreements at or below this refine in full; at or above `NO_AGREEMENT` not at
# all, linearly between: uniform shake measures 1.0 to 1.6, blur varying across the
# image up to 3.9 (docs/deblurring.md, "Kernel refinement").
FULL_AGREEMENT = 1.35
NO_AGREEMENT = 1.65
# The order the kinds of blur of `blur_kernels.TO_DOMAIN` are measured in
# (`shrunk_refinement_share`): linear light first, as a camera averages light.
KINDS_IN_TURN = ("linear light", "8-bit")


def tile_windows(shape, grid, overlap=TILE_OVERLAP):
    """`grid` x `grid` overlapping windows covering an image of `shape` (height, width, ...).

    Returns:
        list of (row slice, column slice), row by row; neighbouring tiles share
        `overlap` of a tile's side.
    """
    height, width = shape[:2]
    tile_height = int(height / (grid - (grid - 1) * overlap))
    tile_width = int(width / (grid - (grid - 1) * overlap))
    tops = np.linspace(0, height - tile_height, grid).round().astype(int)
    lefts = np.linspace(0, width - tile_width, grid).round().astype(int)
    return [(slice(top, top + tile_height), slice(left, left + tile_width))
            for top in tops for left in lefts]


def _worst_tile_ratios(blurred, deblurred, domain, grids, factor):
    """Per grid of `grids`, the largest over its tiles of (whole-image kernel's
    residual + floor) / (the better kernel's residual + floor), both images already
    shrunk by `factor`, in `domain`'s values; each grid's floor from its own tiles."""
    # Kernels are estimated from the channels' mean (`estimate_kernel`), so the
    # residuals are measured on it too: a third of the convolutions.
    blurred, deblurred = (channel_mean(TO_DOMAIN[domain](image))[..., None]
                          for image in (blurred, deblurred))
    size = int((KERNEL_SIZE - 1) / factor) | 1
    whole = estimate_kernel(blurred, deblurred, size)
    inner = (slice(size // 2, -(size // 2)), slice(size // 2, -(size // 2)))

    def tile_residuals(window):
        """The tile's residuals unblurred, with its own kernel, with the whole image's."""
        tile_blurred, tile_deblurred = blurred[window], deblurred[window]
        own = estimate_kernel(tile_blurred, tile_deblurred, size)
        return [np.mean((prediction - tile_blurred)[inner] ** 2) for prediction in
                (tile_deblurred, reblur(tile_deblurred, own), reblur(tile_deblurred, whole))]

    worst = []
    for grid in grids:
        # The tiles are measured at once (`map_in_threads`).
        residuals = map_in_threads(tile_residuals, tile_windows(blurred.shape, grid))
        unblurred, own_residual, whole_residual = np.array(residuals, np.float64).T
        floor = FLOOR_FRACTION * unblurred.mean() + 1e-12
        worst.append(float(np.max((whole_residual + floor)
                                  / (np.minimum(own_residual, whole_residual) + floor))))
    return worst


def disagreement(blurred, deblurred):
    """How badly the whole image's kernel explains its worst region (1: as well as
    that region's own kernel).

    Args:
        blurred: (height, width, channels) float32 in [0, 1], the model's input.
        deblurred: float32 array of the same shape, the model's output.

    Returns:
        float >= 1: the higher over the grids of the lower over the two kinds of
        blur of the worst tile's residual ratio (module docstring); 1.0 for images
        too small to tile.
    """
    return shrunk_disagreement(shrink(blurred, AGREEMENT_FACTOR),
                               shrink(deblurred, AGREEMENT_FACTOR), AGREEMENT_FACTOR)


def shrunk_disagreement(blurred, deblurred, factor):
    """`disagreement` of images already shrunk by `factor` (>= `AGREEMENT_FACTOR`;
    the kernels are estimated at `KERNEL_SIZE / factor`): the streamed plan
    (`srn_tf.inference.streamed`) shrinks a big image further, so that the test
    takes a bounded number of pixels."""
    grids = _grids(blurred.shape)
    if not grids:
        return 1.0
    per_domain = [_worst_tile_ratios(blurred, deblurred, domain, grids, factor)
                  for domain in TO_DOMAIN]
    return max(min(ratios) for ratios in zip(*per_domain))


def shrunk_refinement_share(blurred, deblurred, factor):
    """`share_of_disagreement(shrunk_disagreement(blurred, deblurred, factor))`, the
    same value with less work: the kinds of blur are measured one after the other
    (`KINDS_IN_TURN`), and where one kind's worst ratio over the grids is at most
    `FULL_AGREEMENT`, so is the disagreement (over the kinds, the lower counts): the
    share is 1 without measuring the other kind (on uniform shake of the kind
    measured first, half the test's time)."""
    grids = _grids(blurred.shape)
    if not grids:
        return 1.0
    per_domain = []
    for domain in KINDS_IN_TURN:
        ratios = _worst_tile_ratios(blurred, deblurred, domain, grids, factor)
        if max(ratios) <= FULL_AGREEMENT:
            return 1.0
        per_domain.append(ratios)
    return share_of_disagreement(max(min(ratios) for ratios in zip(*per_domain)))


def _grids(shape):
    """The grids of `GRIDS` whose tiles of an image of `shape` have sides of at least
    `SMALLEST_TILE`."""
    return [grid for grid in GRIDS if _smallest_side(tile_windows(shape, grid)) >= SMALLEST_TILE]


def _smallest_side(windows):
    rows, columns = windows[0]
    return min(rows.stop - rows.start, columns.stop - columns.start)


def refinement_share(blurred, deblurred):
    """How much of kernel refinement's change to keep: 1 where one kernel explains the
    image (`disagreement` <= `FULL_AGREEMENT`), 0 from `NO_AGREEMENT`, linear between
    (`shrunk_refinement_share` of the images shrunk by `AGREEMENT_FACTOR`)."""
    return shrunk_refinement_share(shrink(blurred, AGREEMENT_FACTOR),
                                   shrink(deblurred, AGREEMENT_FACTOR), AGREEMENT_FACTOR)


def share_of_disagreement(ratio):
    """`refinement_share` of a disagreement `ratio`."""
    return float(np.clip((NO_AGREEMENT - ratio) / (NO_AGREEMENT - FULL_AGREEMENT), 0.0, 1.0))
