"""Running a model over overlapping tiles and feathering them into one image.

SRN sees most of an image at its coarsest level, so a tile's result differs from
the whole image's near the tile's edges. Tiles therefore overlap, and in each
overlap the two tiles are blended: the outer quarter of each tile's side of the
overlap is dropped, and across the middle half one fades out as the other fades
in (raised cosine, weights summing to one), so no seam is left where a tile
ends. README.md ("Tiling") gives the measured error against overlap.
"""

import math

import numpy as np


def tile_spans(length, tile, overlap, multiple=16):
    """Places tiles of one size along an axis of `length` pixels.

    The number of tiles is the least that covers `length` with tiles of at most
    `tile` pixels overlapping by at least `overlap`; the tile size is then shrunk
    to the least multiple of `multiple` that still does, and the tiles are spread
    evenly, so little work is wasted and every tile has one shape (one trace).

    Args:
        length: pixels along the axis.
        tile: largest tile side wanted (rounded down to a multiple of `multiple`).
        overlap: least overlap between neighbouring tiles, below the tile side.
        multiple: tile sides are multiples of this (the model's size multiple).

    Returns:
        List of (start, stop) pairs, in order, covering [0, length).
    """
    tile = max(multiple, tile // multiple * multiple)
    if length <= tile:
        return [(0, length)]
    if not 0 <= overlap < tile:
        raise ValueError(f"tile_overlap must be in [0, tile). Received: tile={tile}, "
                         f"tile_overlap={overlap}")
    count = math.ceil((length - overlap) / (tile - overlap))
    needed = math.ceil((length + (count - 1) * overlap) / count)
    size = min(tile, math.ceil(needed / multiple) * multiple, length)
    starts = [round(i * (length - size) / (count - 1)) for i in range(count)]
    return [(start, start + size) for start in starts]


def _ramp(width):
    """Weights rising from 0 to 1 across an overlap of `width` pixels.

    The outer quarters are flat (0, then 1) and a raised cosine joins them, so a
    tile's outermost pixels, the ones most changed by what the tile cannot see
    (and by the convolutions' zero padding), do not count at all. `_ramp(w)` and
    its mirror image sum to one at every pixel.
    """
    margin = width // 4
    position = (np.arange(width) + 0.5 - margin) / max(width - 2 * margin, 1)
    return (np.sin(0.5 * np.pi * np.clip(position, 0.0, 1.0)) ** 2).astype(np.float32)


def feather_weights(spans, index):
    """1-D blending weights of tile `index`: ramps over its overlaps with neighbours.

    In each overlap the tile entering gets `_ramp` and the tile leaving its
    complement, so the weights of the two sum to one and change smoothly.

    Returns:
        float32 array (stop - start,) of weights in [0, 1].
    """
    start, stop = spans[index]
    weights = np.ones(stop - start, np.float32)
    if index > 0:
        width = spans[index - 1][1] - start
        if width > 0:
            weights[:width] = np.minimum(weights[:width], _ramp(width))
    if index < len(spans) - 1:
        width = stop - spans[index + 1][0]
        if width > 0:
            weights[-width:] = np.minimum(weights[-width:], _ramp(width)[::-1])
    return weights


def run_tiled(function, images, tile, overlap, multiple=16):
    """Applies an image-to-image `function` tile by tile and feathers the results.

    Args:
        function: maps a (batch, tile_height, tile_width, channels) float32 array
            to an array of the same shape (e.g. a padded model run).
        images: (batch, height, width, channels) float32 array.
        tile: largest tile side in pixels.
        overlap: least overlap between neighbouring tiles in pixels.
        multiple: tile sides are multiples of this where the image allows.

    Returns:
        (batch, height, width, channels) float32 array.
    """
    _, height, width, _ = images.shape
    rows = tile_spans(height, tile, overlap, multiple)
    columns = tile_spans(width, tile, overlap, multiple)
    if len(rows) == 1 and len(columns) == 1:
        return np.asarray(function(images), np.float32)
    total = np.zeros(images.shape, np.float32)
    weight_sum = np.zeros((height, width), np.float32)
    for i, (top, bottom) in enumerate(rows):
        row_weights = feather_weights(rows, i)
        for j, (left, right) in enumerate(columns):
            weights = row_weights[:, None] * feather_weights(columns, j)[None, :]
            result = np.asarray(function(images[:, top:bottom, left:right]), np.float32)
            total[:, top:bottom, left:right] += result * weights[None, :, :, None]
            weight_sum[top:bottom, left:right] += weights
    total /= weight_sum[None, :, :, None]
    return total
