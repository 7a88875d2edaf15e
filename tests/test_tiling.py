"""Tiles: placement, blending weights, and no visible seam where tiles meet."""

import cv2
import keras
import numpy as np
import pytest
import skimage.data
import skimage.transform

import srn_tf
from srn_tf.inference import tiling


@pytest.mark.parametrize("length,tile,overlap", [
    (96, 64, 16), (128, 64, 16), (2160, 1024, 128), (3840, 1408, 128), (1200, 512, 192),
    (112, 48, 0), (80, 64, 8),
])
def test_tiles_cover_the_axis_on_the_16_pixel_grid_with_enough_overlap(length, tile, overlap):
    spans = tiling.tile_spans(length, tile, overlap, 16)
    assert spans[0][0] == 0 and spans[-1][1] == length
    sizes = {stop - start for start, stop in spans}
    assert len(sizes) == 1  # one tile shape: one trace
    size = sizes.pop()
    assert size <= tile and size % 16 == 0
    assert all(start % 16 == 0 for start, _ in spans)  # the whole image's sampling grid
    for (_, stop), (start, _) in zip(spans, spans[1:]):
        assert stop - start >= overlap


def test_a_short_axis_is_one_tile():
    assert tiling.tile_spans(48, 64, 16, 16) == [(0, 48)]


def test_overlap_not_below_the_tile_is_a_clear_error():
    with pytest.raises(ValueError, match=r"tile=64, tile_overlap=64: the overlap must be in "
                                         r"\[0, 48\]"):
        tiling.tile_spans(208, 64, 64, 16)


# Settings that made tile_spans loop forever before: tiles of 16 and 24 (both 16
# once rounded) with the default 64, and overlaps of tile - 8, above tile - 16.
FORMERLY_HANGING = [(16, 64), (24, 64), (16, 8), (24, 12), (31, 15), (40, 20), (47, 23),
                    (64, 56), (200, 192), (1024, 1016)]


@pytest.mark.parametrize("tile,overlap", FORMERLY_HANGING)
def test_impossible_overlaps_are_refused_not_looped_on(tile, overlap):
    with pytest.raises(ValueError) as info:
        tiling.tile_spans(2048, tile, overlap, 16)
    message = str(info.value)
    assert f"tile={tile}, tile_overlap={overlap}" in message
    assert f"[0, {tiling.largest_overlap(tile, 16)}]" in message and "\n" not in message
    with pytest.raises(ValueError, match=f"tile={tile}"):
        tiling.check_tiling(tile, overlap, 16)


@pytest.mark.parametrize("tile", [1, 15, 16, 24, 31, 32, 48, 63])
def test_tiles_below_four_size_multiples_are_refused_with_one_reason(tile):
    """--tile=1 ran (6 times slower, 0.8 dB worse) while 16 to 31 were refused for
    their default overlap: now every tile below 64 gets the same one reason,
    whatever the overlap asked for."""
    for overlap in (None, 0, 8):
        with pytest.raises(ValueError) as info:
            tiling.check_tiling(tile, overlap, 16)
        message = str(info.value)
        assert message.startswith(f"tile={tile}: tiles must be at least 64 pixels")
        assert "\n" not in message
    assert tiling.smallest_tile(8) == 32
    tiling.check_tiling(32, None, 8)


def test_the_default_overlap_fits_every_tile_that_is_not_refused():
    # 64, or half the tile actually used (rounded down to 16): 32 for 64 to 79, 40 for 80.
    for tile in range(64, 300):
        overlap = tiling.check_tiling(tile, None, 16)
        assert overlap == min(64, tiling.rounded_tile(tile, 16) // 2)
        assert overlap <= tiling.largest_overlap(tile, 16)
        spans = tiling.tile_spans(1024, tile, overlap, 16)
        assert all(stop - start >= overlap for (_, stop), (start, _) in zip(spans, spans[1:]))
    assert tiling.check_tiling(64, None, 16) == 32 and tiling.check_tiling(79, None, 16) == 32
    assert tiling.check_tiling(1024, None, 16) == 64
    assert tiling.check_tiling(None, None, 16) is None
    assert tiling.check_tiling(64, 48, 16) == 48  # the largest allowed: 64 - 16
    assert tiling.check_tiling(64, 56, 8) == 56  # another model's multiple: 64 - 8
    for tile in (0, -16, 2.5, True):
        with pytest.raises(ValueError, match="tile must be a positive number of pixels"):
            tiling.check_tiling(tile, None, 16)
    with pytest.raises(ValueError, match="tile=64, tile_overlap=-1"):
        tiling.check_tiling(64, -1, 16)


def test_the_default_overlap_is_the_one_deblur_image_uses(monkeypatch):
    from srn_tf.inference import streamed

    overlaps = []
    original = streamed.stream_tiled

    def spy(function, read, shape, tile, overlap, *arguments, **keywords):
        overlaps.append(overlap)
        return original(function, read, shape, tile, overlap, *arguments, **keywords)

    monkeypatch.setattr(streamed, "stream_tiled", spy)
    srn_tf.deblur_image(_image_like_model(), _photo(96, 160), tile=80)
    assert overlaps == [tiling.default_overlap(80, 16)] == [40]


@pytest.mark.parametrize("multiple", [8, 16])
def test_check_tiling_refuses_exactly_what_tile_spans_cannot_place(multiple):
    """Every tile 1..100 and overlap 0..tile on axes of 1 to 12 grid steps: tiles below
    `smallest_tile` are refused; for the others tile_spans either places valid tiles
    or raises, and raises exactly when check_tiling does (on axes longer than one
    tile; a shorter axis is one tile whatever the overlap)."""
    for tile in range(1, 101):
        rounded = tiling.rounded_tile(tile, multiple)
        for overlap in range(0, tile + 1):
            try:
                tiling.check_tiling(tile, overlap, multiple)
                allowed = True
            except ValueError:
                allowed = False
            if tile < tiling.smallest_tile(multiple):
                assert not allowed
                continue
            for length in range(multiple, multiple * 13, multiple):
                if length <= rounded:
                    assert tiling.tile_spans(length, tile, overlap, multiple) == [(0, length)]
                    continue
                if not allowed:
                    with pytest.raises(ValueError):
                        tiling.tile_spans(length, tile, overlap, multiple)
                    continue
                spans = tiling.tile_spans(length, tile, overlap, multiple)
                assert spans[0][0] == 0 and spans[-1][1] == length
                assert all(b - a <= rounded and a % multiple == 0 for a, b in spans)
                assert all(stop - start >= overlap
                           for (_, stop), (start, _) in zip(spans, spans[1:]))


def test_blending_weights_sum_to_one_so_a_pointwise_function_is_untouched():
    images = np.random.default_rng(0).uniform(0, 1, (2, 90, 150, 3)).astype(np.float32)
    result = tiling.run_tiled(lambda tile: np.sqrt(tile), images, tile=64, overlap=20, multiple=16)
    np.testing.assert_allclose(result, np.sqrt(images), rtol=0, atol=1e-6)


def _photo(height, width):
    photo = skimage.transform.resize(skimage.data.astronaut(), (height, width), anti_aliasing=True)
    return photo.astype(np.float32)


def _jumps(difference, axis):
    """Mean absolute step of `difference` between neighbouring lines along `axis`."""
    steps = np.abs(np.diff(difference, axis=axis)).mean(axis=(2, 1 - axis))
    return steps  # steps[k]: between line k and k + 1


def _boundary_steps(spans):
    """Line pairs (k, k + 1) where a tile starts or stops inside the image."""
    length = spans[-1][1]
    edges = {start - 1 for start, _ in spans if start > 0}
    edges |= {stop - 1 for _, stop in spans if stop < length}
    return sorted(edges)


def _seam_ratios(tiled, untiled, spans_rows, spans_columns, boundaries=None):
    """max step of the tiled-untiled error on tile boundaries / max step elsewhere."""
    difference = tiled - untiled
    ratios = []
    for axis, spans in ((0, spans_rows), (1, spans_columns)):
        steps = _jumps(difference, axis)
        edges = boundaries[axis] if boundaries else _boundary_steps(spans)
        elsewhere = np.delete(steps, edges)
        ratios.append(steps[edges].max() / elsewhere.max())
    return ratios


def _image_like_model():
    """A small untrained model whose output stays image-like.

    With Xavier weights an untrained SRN's output is mostly clipped noise, and the
    tiled-untiled error is pixel noise that hides any seam. A residual output and
    halved kernels keep the output near its input (about 20% clipped), so the
    error is smooth and a seam would show.
    """
    keras.utils.set_random_seed(4)
    model = srn_tf.build_model("color", base_filters=8, blocks_per_stage=1,
                               residual_output=True)
    for weight in model.weights:
        if len(weight.shape) == 4:
            weight.assign(weight * 0.5)
    return model


def _overlap_middles(spans):
    return [(stop + start) // 2 - 1 for (_, stop), (start, _) in zip(spans, spans[1:])]


def test_tiled_result_has_no_seam_at_tile_boundaries():
    model = _image_like_model()
    image = _photo(96, 128)
    untiled = srn_tf.deblur_image(model, image)
    tiled = srn_tf.deblur_image(model, image, tile=64, tile_overlap=16)
    rows = tiling.tile_spans(96, 64, 16, 16)
    columns = tiling.tile_spans(128, 64, 16, 16)
    assert len(rows) > 1 and len(columns) > 1
    # The tiles do change the result (SRN sees most of the image)...
    assert np.abs(tiled - untiled).max() > 1e-4
    # ...but the change does not jump where a tile starts or stops, nor in the
    # middle of an overlap: the error's step across those lines is no larger than
    # its steps anywhere else.
    for lines in (None, [_overlap_middles(rows), _overlap_middles(columns)]):
        assert max(_seam_ratios(tiled, untiled, rows, columns, boundaries=lines)) <= 1.0


def test_the_seam_check_catches_tiles_cut_without_blending(monkeypatch):
    """Negative control: hard cuts in the middle of each overlap leave a seam there."""
    def hard_cut(spans, index):
        start, stop = spans[index]
        weights = np.ones(stop - start, np.float32)
        if index > 0:
            weights[:(spans[index - 1][1] - start) // 2] = 0
        if index < len(spans) - 1:
            width = stop - spans[index + 1][0]
            weights[stop - start - (width - width // 2):] = 0
        return weights

    model = _image_like_model()
    image = _photo(96, 128)
    untiled = srn_tf.deblur_image(model, image)
    monkeypatch.setattr(tiling, "feather_weights", hard_cut)
    tiled = srn_tf.deblur_image(model, image, tile=64, tile_overlap=16)
    rows = tiling.tile_spans(96, 64, 16, 16)
    columns = tiling.tile_spans(128, 64, 16, 16)
    cuts = [_overlap_middles(rows), _overlap_middles(columns)]
    assert max(_seam_ratios(tiled, untiled, rows, columns, boundaries=cuts)) > 1.0


def test_lengths_off_the_16_pixel_grid_are_refused():
    with pytest.raises(ValueError, match="length must be a multiple of 16"):
        tiling.tile_spans(100, 64, 16, 16)


def test_stream_tiled_gives_a_local_filter_exactly_one_band_at_a_time():
    """A 5x5 box filter through tiles of 32 overlapping by 4 (the blend drops 1 pixel of
    each tile's side) with 2 pixels of margin: the same as on the
    whole image (within float32 rounding of the blend), handed on one band per row of
    tiles, in order, no band taller than a tile; without the margin it differs."""
    images = np.random.default_rng(1).uniform(0, 1, (1, 100, 150, 2)).astype(np.float32)

    def box(batch):
        return np.stack([cv2.blur(batch[0, ..., c], (5, 5), borderType=cv2.BORDER_REFLECT)
                         for c in range(batch.shape[3])], axis=-1)[None]

    def streamed(margin):
        bands = []
        tiling.stream_tiled(box, lambda top, bottom, left, right:
                            images[:, top:bottom, left:right], (100, 150), 32, 4, 1,
                            lambda top, band: bands.append((top, band)), margin=margin)
        return bands

    bands = streamed(2)
    rows = tiling.tile_spans(100, 32, 4, 1)
    assert len(bands) == len(rows) > 1
    assert [top for top, _ in bands] == [0] + [start for start, _ in rows[1:]]
    assert all(band.shape[1] <= 32 for _, band in bands)
    result = np.concatenate([band for _, band in bands], axis=1)
    np.testing.assert_allclose(result, box(images), rtol=0, atol=1e-6)
    without = np.concatenate([band for _, band in streamed(0)], axis=1)
    assert np.abs(without - box(images)).max() > 1e-3
