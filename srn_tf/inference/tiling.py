"""Running a model over overlapping tiles and feathering them into one image.

SRN sees most of an image at its coarsest level, so a tile's result differs from
the whole image's near the tile's edges. Tiles therefore overlap, and in each
overlap the two tiles are blended: the outer quarter of each tile's side of the
overlap is dropped, and across the middle half one fades out as the other fades
in (raised cosine, weights summing to one), so no seam is left where a tile
ends. docs/tiling.md gives the measured error against overlap.

NumPy only at import, so console scripts can `check_tiling` their flags before
TensorFlow loads.
"""

import math

import numpy as np

# The overlap `deblur_image` uses when none is given: this, or half the tile
# actually used if smaller (`default_overlap`).
DEFAULT_TILE_OVERLAP = 64
# The smallest tile, in size multiples of the model (64 pixels for the release's
# networks): SRN's coarsest level sees the tile shrunk by 4 and subsamples it by 4
# more, so a tile of 4 multiples leaves it a 4 x 4 grid of features; smaller tiles
# see next to nothing of the image at that level (tiles of 16 pixels, no overlap
# possible, were 6 times slower and 0.8 dB further from the whole image, with a
# faint grid), and their overlap cannot be half the tile.
SMALLEST_TILE_MULTIPLES = 4


def smallest_tile(multiple):
    """The smallest tile side `check_tiling` accepts for a model's size multiple."""
    return SMALLEST_TILE_MULTIPLES * multiple


def default_overlap(tile, multiple=16):
    """The overlap used with `tile` when none is asked for: 64, or half the tile
    actually used (`rounded_tile`) if smaller, so that it always fits the tile."""
    return min(DEFAULT_TILE_OVERLAP, rounded_tile(tile, multiple) // 2)


def rounded_tile(tile, multiple):
    """The tile side actually used for `tile`: rounded down to `multiple`, at least `multiple`."""
    return max(multiple, tile // multiple * multiple)


def largest_overlap(tile, multiple):
    """The largest overlap tiles of side `tile` can have along an axis longer than a tile.

    Tiles start on multiples of `multiple` and are at most `rounded_tile(tile)`
    wide, and some two neighbours start at least `multiple` apart (together they
    must reach past one tile), so no placement overlaps everywhere by more than
    `rounded_tile(tile) - multiple`; with tiles `multiple` apart that is reached.
    """
    return rounded_tile(tile, multiple) - multiple


def _tiling_error(tile, overlap, multiple):
    rounded = rounded_tile(tile, multiple)
    return ValueError(
        f"tile={tile}, tile_overlap={overlap}: the overlap must be in "
        f"[0, {largest_overlap(tile, multiple)}] for this tile (tiles are {rounded} pixels, "
        f"the tile rounded down to a multiple of {multiple}, and start at least {multiple} "
        f"apart); use a larger tile or a smaller overlap")


def _is_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_tiling(tile, overlap, multiple):
    """Checks a tile side and overlap before any image is read; returns the overlap used.

    Refuses tiles below `smallest_tile(multiple)`, and overlaps `tile_spans`
    cannot place on an axis longer than one tile (see `largest_overlap`), whatever
    the image size; the default overlap always fits a tile that is not refused.

    Args:
        tile: largest tile side in pixels (a positive integer), or None for no tiling.
        overlap: least overlap in pixels, or None for `default_overlap(tile, multiple)`.
        multiple: the model's size multiple.

    Returns:
        The overlap that will be used (None when `tile` is None).

    Raises:
        ValueError: a one-line message echoing tile and overlap and saying what
            is allowed.
    """
    if tile is None:
        return None
    if not _is_integer(tile) or tile < 1:
        raise ValueError(f"tile must be a positive number of pixels. Received: tile={tile}")
    if tile < smallest_tile(multiple):
        raise ValueError(
            f"tile={tile}: tiles must be at least {smallest_tile(multiple)} pixels for this "
            f"model ({SMALLEST_TILE_MULTIPLES} times its size multiple of {multiple}: its "
            f"coarsest level would see almost nothing of a smaller tile)")
    if overlap is None:
        overlap = default_overlap(tile, multiple)
    if not _is_integer(overlap) or not 0 <= overlap <= largest_overlap(tile, multiple):
        raise _tiling_error(tile, overlap, multiple)
    return int(overlap)


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
        overlap: least overlap between neighbouring tiles, at most the rounded
            tile side minus `multiple` (`largest_overlap`).
        multiple: tile starts and sides are multiples of this.

    Returns:
        List of (start, stop) pairs, in order, covering [0, length).

    Raises:
        ValueError: `length` is off the grid, or no tiles of this side can
            overlap by `overlap` (checked only when the axis needs more than one
            tile, as `check_tiling` does whatever the length).
    """
    if length % multiple:
        raise ValueError(f"length must be a multiple of {multiple}. Received: length={length}")
    original = tile
    tile = rounded_tile(tile, multiple)
    if length <= tile:
        return [(0, length)]
    if not 0 <= overlap <= tile - multiple:
        raise _tiling_error(original, overlap, multiple)
    # Terminates: at the latest when count - 1 reaches (length - tile) // multiple,
    # tiles of side `tile` start `multiple` apart and overlap by tile - multiple.
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


def stream_tiled(function, read, shape, tile, overlap, multiple, write, margin=0):
    """Applies an image-to-image `function` tile by tile and feathers the results, one
    row of tiles at a time, so that only a band of tiles is ever held.

    Rows of the result are handed to `write` as soon as no later tile reaches them;
    the image itself is never held whole here: `read` fetches each tile's pixels.

    Args:
        function: maps a (batch, h, w, channels) float32 array to a
            (batch, h, w, out_channels) array.
        read: `read(top, bottom, left, right)`, the pixels of those rows and columns
            of the grid as a (batch, bottom - top, right - left, channels) float32
            array (rows and columns inside `shape`).
        shape: (height, width) of the grid tiles are placed on; both multiples of
            `multiple`.
        tile: largest tile side in pixels.
        overlap: least overlap between neighbouring tiles in pixels.
        multiple: tile starts and sides are multiples of this.
        write: `write(top, band)`, band a (batch, rows, width, out_channels) float32
            array of the finished rows from `top`; called in order, covering the grid.
        margin: `function` gets each tile with up to this many pixels of its
            neighbours on each side (inside `shape`), and its result is cropped to
            the tile: for steps whose result at a pixel depends on pixels that far.
    """
    height, width = shape
    rows = tile_spans(height, tile, overlap, multiple)
    columns = tile_spans(width, tile, overlap, multiple)
    column_weights = [feather_weights(columns, j) for j in range(len(columns))]
    band_top, total, weight_sum = 0, None, np.zeros((0, width), np.float32)
    for i, (top, bottom) in enumerate(rows):
        row_weights = feather_weights(rows, i)
        grow = bottom - band_top - weight_sum.shape[0]
        weight_sum = np.concatenate([weight_sum, np.zeros((grow, width), np.float32)])
        for j, (left, right) in enumerate(columns):
            outer = (max(0, top - margin), min(height, bottom + margin),
                     max(0, left - margin), min(width, right + margin))
            result = np.asarray(function(read(*outer)), np.float32)[
                :, top - outer[0]:bottom - outer[0], left - outer[2]:right - outer[2]]
            if total is None:
                total = np.zeros((result.shape[0], 0, width, result.shape[3]), np.float32)
            if total.shape[1] < weight_sum.shape[0]:
                total = np.concatenate([total, np.zeros(
                    (total.shape[0], weight_sum.shape[0] - total.shape[1], width,
                     total.shape[3]), np.float32)], axis=1)
            weights = row_weights[:, None] * column_weights[j][None, :]
            total[:, top - band_top:bottom - band_top, left:right] += result * weights[
                None, :, :, None]
            weight_sum[top - band_top:bottom - band_top, left:right] += weights
        finished = (rows[i + 1][0] if i + 1 < len(rows) else bottom) - band_top
        write(band_top, total[:, :finished] / weight_sum[:finished, :, None])
        total, weight_sum = total[:, finished:].copy(), weight_sum[finished:].copy()
        band_top += finished


def run_tiled(function, images, tile, overlap, multiple):
    """Applies an image-to-image `function` tile by tile and feathers the results.

    The images are first edge-padded at the bottom and right to a multiple of
    `multiple`, as a whole-image run pads them, so that every tile lies on the
    whole image's sampling grid (see `tile_spans`); the result is cropped back.
    The tiles are placed and blended by `stream_tiled`.

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
    from srn_tf.models.padding import pad_to_multiple

    padded = np.asarray(pad_to_multiple(images, multiple))
    rows = tile_spans(padded.shape[1], tile, overlap, multiple)
    columns = tile_spans(padded.shape[2], tile, overlap, multiple)
    if len(rows) == 1 and len(columns) == 1:
        return np.asarray(function(images), np.float32)
    bands = []
    stream_tiled(function, lambda top, bottom, left, right: padded[:, top:bottom, left:right],
                 padded.shape[1:3], tile, overlap, multiple, lambda top, band: bands.append(band))
    return np.concatenate(bands, axis=1)[:, :height, :width]
