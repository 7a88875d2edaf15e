"""Running a model over overlapping tiles and feathering them into one image.

SRN sees most of an image at its coarsest level, so a tile's result differs from
the whole image's near the tile's edges. Tiles therefore overlap, and in each
overlap the two tiles are blended: the outer quarter of each tile's side of the
overlap is dropped, and across the middle half one fades out as the other fades
in (raised cosine, weights summing to one), so no seam is left where a tile
ends. docs/tiling.md gives the measured error against overlap.
"""

import math

import numpy as np


def tile_spans(length, tile, overlap, multiple):
    """Places tiles of one size along an axis of `length` pixels.

    Tiles start at multiples of `multiple` (the model's size multiple): SRN
    subsamples by 4 per level and by 4 inside each level, so a tile that starts
    elsewhere sees its pixels on another sampling grid than the whole image does
    and differs from it everywhere, not only near its edges. The number of tiles
    is the least that covers `length` with tiles of at most `tile` pixels
    overlapping by at least `overlap`; the tile size is the least multiple of
    `multiple` that then allows it, and the tiles are spread evenly, so little
    work is wasted and every tile has one shape (one trace).

    Args:
        length: pixels along the axis, a multiple of `multiple` (pad first).
        tile: largest tile side wanted (rounded down to a multiple of `multiple`).
        overlap: least overlap between neighbouring tiles, below the tile side.
        multiple: tile starts and sides are multiples of this.

    Returns:
        List of (start, stop) pairs, in order, covering [0, length).
    """
    if length % multiple:
        raise ValueError(f"length must be a multiple of {multiple}. Received: length={length}")
    tile = max(multiple, tile // multiple * multiple)
    if length <= tile:
        return [(0, length)]
    if not 0 <= overlap < tile:
        raise ValueError(f"tile_overlap must be in [0, tile). Received: tile={tile}, "
                         f"tile_overlap={overlap}")
    count = math.ceil((length - overlap) / (tile - overlap))
    while True:
        needed = math.ceil((length + (count - 1) * overlap) / count / multiple) * multiple
        for size in range(needed, tile + 1, multiple):
            steps = (length - size) // multiple
            starts = [round(i * steps / (count - 1)) * multiple for i in range(count)]
            if all(a + size - b >= overlap for a, b in zip(starts, starts[1:])):
                return [(start, start + size) for start in starts]
        count += 1


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


def run_tiled(function, images, tile, overlap, multiple):
    """Applies an image-to-image `function` tile by tile and feathers the results.

    The images are first edge-padded at the bottom and right to a multiple of
    `multiple`, as a whole-image run pads them, so that every tile lies on the
    whole image's sampling grid (see `tile_spans`); the result is cropped back.

    Args:
        function: maps a (batch, tile_height, tile_width, channels) float32 array
            to an array of the same shape (e.g. a model run).
        images: (batch, height, width, channels) float32 array.
        tile: largest tile side in pixels.
        overlap: least overlap between neighbouring tiles in pixels.
        multiple: tile starts and sides are multiples of this.

    Returns:
        (batch, height, width, channels) float32 array.
    """
    _, height, width, _ = images.shape
    # Imported here: the console scripts check tiles with this module before
    # TensorFlow loads.
    from srn_tf.inference.padding import pad_to_multiple

    padded = np.asarray(pad_to_multiple(images, multiple))
    rows = tile_spans(padded.shape[1], tile, overlap, multiple)
    columns = tile_spans(padded.shape[2], tile, overlap, multiple)
    if len(rows) == 1 and len(columns) == 1:
        return np.asarray(function(images), np.float32)
    total = np.zeros(padded.shape, np.float32)
    weight_sum = np.zeros(padded.shape[1:3], np.float32)
    for i, (top, bottom) in enumerate(rows):
        row_weights = feather_weights(rows, i)
        for j, (left, right) in enumerate(columns):
            weights = row_weights[:, None] * feather_weights(columns, j)[None, :]
            result = np.asarray(function(padded[:, top:bottom, left:right]), np.float32)
            total[:, top:bottom, left:right] += result * weights[None, :, :, None]
            weight_sum[top:bottom, left:right] += weights
    total /= weight_sum[None, :, :, None]
    return total[:, :height, :width]
