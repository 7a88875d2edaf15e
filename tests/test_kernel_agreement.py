"""Kernel agreement: refinement by one kernel only where one kernel explains the image."""

import cv2
import numpy as np
import pytest
import skimage.data
from scipy import signal

import srn_tf
from srn_tf.data.synth.render import CameraResponse, blur_along_path
from srn_tf.data.synth.spatially_varying import render_spatially_varying
from srn_tf.data.synth.trajectory import shake_poses
from srn_tf.inference.postprocess import kernel_agreement
from srn_tf.inference.postprocess.blur_kernels import (KERNEL_SIZE, TO_DOMAIN, channel_mean,
                                                       estimate_kernel, reblur, shrink)
from srn_tf.inference.postprocess.kernel_agreement import (FLOOR_FRACTION, FULL_AGREEMENT,
                                                           NO_AGREEMENT, SMALLEST_TILE,
                                                           disagreement, refinement_share,
                                                           share_of_disagreement,
                                                           shrunk_disagreement,
                                                           shrunk_refinement_share, tile_windows)
from srn_tf.inference.postprocess.kernel_refinement import (RANGE_WINDOW, refine_with_kernel,
                                                            refine_with_one_kernel,
                                                            within_local_range)


@pytest.fixture(scope="module")
def sharp():
    """(384, 512, 3) float32 in [0, 1]: scikit-image's coffee, enough texture in every tile."""
    return skimage.data.coffee()[8:392, 44:556].astype(np.float32) / 255


def _line_kernel(length, degrees):
    kernel = np.zeros((KERNEL_SIZE, KERNEL_SIZE), np.float32)
    centre = KERNEL_SIZE // 2
    dx = 0.5 * length * np.cos(np.radians(degrees))
    dy = 0.5 * length * np.sin(np.radians(degrees))
    cv2.line(kernel, (round(centre - dx), round(centre - dy)),
             (round(centre + dx), round(centre + dy)), 1.0)
    return kernel / kernel.sum()


def _rough(blurred, sharp):
    """What a small network leaves: the sharp image plus a little of the blur and smooth
    errors of 0.01."""
    error = cv2.GaussianBlur(np.random.default_rng(3).normal(0, 1, sharp.shape), (0, 0), 1.5)
    return (0.8 * sharp + 0.2 * blurred + 0.01 * error / error.std()).astype(np.float32)


def _psnr(sharp, image):
    return 10 * np.log10(1.0 / np.mean((np.clip(image, 0, 1) - sharp) ** 2))


def _brute_force_disagreement(blurred, deblurred, factor):
    """`shrunk_disagreement` computed another way: tiles laid out by explicit
    arithmetic, the predictions by scipy.signal.convolve2d in float64 (symmetric
    borders, as OpenCV's BORDER_REFLECT), loops over grids, tiles and kinds of blur.
    Only the kernel estimator (tested in test_kernel_refinement.py) is shared."""
    size = int((KERNEL_SIZE - 1) / factor) | 1
    inner = (slice(size // 2, -(size // 2)), slice(size // 2, -(size // 2)))
    height, width = blurred.shape[:2]
    per_grid = []
    for grid in (3, 4):
        # Neighbours overlap by half a tile: grid tiles span (grid + 1) / 2 tiles.
        tile_height, tile_width = int(2 * height / (grid + 1)), int(2 * width / (grid + 1))
        if min(tile_height, tile_width) < SMALLEST_TILE:
            continue
        per_kind = []
        for to_domain in TO_DOMAIN.values():
            input_grey = channel_mean(to_domain(blurred))
            output_grey = channel_mean(to_domain(deblurred))
            whole = estimate_kernel(input_grey[..., None], output_grey[..., None], size)
            residuals = []
            for row in range(grid):
                for column in range(grid):
                    top = round(row * (height - tile_height) / (grid - 1))
                    left = round(column * (width - tile_width) / (grid - 1))
                    window = (slice(top, top + tile_height), slice(left, left + tile_width))
                    tile_input, tile_output = input_grey[window], output_grey[window]
                    own = estimate_kernel(tile_input[..., None], tile_output[..., None], size)
                    predictions = [tile_output] + [
                        signal.convolve2d(tile_output.astype(np.float64), kernel,
                                          mode="same", boundary="symm") for kernel in (own, whole)]
                    residuals.append([np.mean((prediction - tile_input)[inner] ** 2)
                                      for prediction in predictions])
            floor = FLOOR_FRACTION * np.mean([unblurred for unblurred, _, _ in residuals])
            per_kind.append(max((whole_residual + floor) / (min(own_residual, whole_residual)
                                                            + floor)
                                for _, own_residual, whole_residual in residuals))
        per_grid.append(min(per_kind))
    return max(per_grid) if per_grid else 1.0


@pytest.mark.parametrize("grid, tile", [(3, (192, 256)), (4, (153, 204))])
def test_tiles_cover_the_image_and_overlap_by_half(grid, tile):
    windows = tile_windows((384, 512), grid)
    assert len(windows) == grid * grid
    covered = np.zeros((384, 512), int)
    for rows, columns in windows:
        covered[rows, columns] += 1
        assert (rows.stop - rows.start, columns.stop - columns.start) == tile
    assert covered.min() == 1 and covered.max() == 4


def test_identical_or_uniformly_shifted_images_agree_exactly(sharp):
    # A shift is a blur kernel with a single 1 off the centre: the whole image's
    # kernel and every tile's are that same single 1, every residual is the same
    # (0 up to the roll's wrapped columns) and every ratio is exactly 1. Even shifts,
    # so that they stay whole pixels at the test's half size.
    assert disagreement(sharp, sharp) == 1.0
    for shift in (2, 6):
        assert disagreement(np.roll(sharp, shift, axis=1), sharp) == 1.0


@pytest.mark.parametrize("shift", [2, 4])
def test_halves_shifted_by_disjoint_kernels_disagree_far_beyond_the_limit(sharp, shift):
    # Left half shifted right, right half shifted left: two single-1 kernels with no
    # pixel in common. A tile inside one half has its own kernel exactly (residual
    # 0), so its ratio is 1 + (whole image's residual) / floor, the floor being
    # FLOOR_FRACTION (1/20) of the mean unblurred residual (a shift by `shift`). No one
    # kernel fits both halves: at best it mixes the two halves' single 1s, missing each
    # by at least a quarter of a shift by 2 * `shift`, whose residual is no smaller
    # than a shift by `shift`'s on a photograph, so the ratio is at least
    # 1 + 20 / 4 = 6. (Measured 13 to 17.)
    blurred = np.roll(sharp, shift, axis=1)
    blurred[:, 256:] = np.roll(sharp, -shift, axis=1)[:, 256:]
    assert disagreement(blurred, sharp) > 6.0
    assert refinement_share(blurred, sharp) == 0.0


@pytest.mark.parametrize("right_half", [None, (5, 30), (9, 120)])
def test_disagreement_matches_a_brute_force_computation(sharp, right_half):
    # A 9-pixel line at 30 degrees over the whole image, or with the right half's
    # line shorter or turned; on images already shrunk by the agreement's factor
    # (128x160: both grids' tiles are at least SMALLEST_TILE).
    small = cv2.resize(sharp, (320, 256), interpolation=cv2.INTER_AREA)
    blurred = reblur(small, _line_kernel(9, 30))
    if right_half is not None:
        blurred[:, 160:] = reblur(small, _line_kernel(*right_half))[:, 160:]
    factor = kernel_agreement.AGREEMENT_FACTOR
    blurred, rough = shrink(blurred, factor), shrink(_rough(blurred, small), factor)
    expected = _brute_force_disagreement(blurred, rough, factor)
    # Measured 1.0, 1.89 and 2.83, and within 4e-8 of each other: float32 OpenCV
    # convolutions and means against float64 SciPy ones. A wrong floor, better
    # kernel, kind or grid moves the ratio by far more than the 1e-6 allowed.
    assert shrunk_disagreement(blurred, rough, factor) == pytest.approx(expected, rel=1e-6)
    assert (expected == 1.0) == (right_half is None)
    if right_half is not None:
        assert expected > NO_AGREEMENT


def test_uniform_blur_is_refined_in_full(sharp):
    blurred = reblur(sharp, _line_kernel(15, 30))
    rough = _rough(blurred, sharp)
    # Measured 1.05: every tile's own kernel is the whole image's.
    assert disagreement(blurred, rough) < FULL_AGREEMENT
    assert refinement_share(blurred, rough) == 1.0
    refined = refine_with_kernel(blurred, rough)
    # The refinement sharpens (measured +1.13 dB over the rough output here) and stays
    # within the output's local range (exactly: the clip returns its bounds).
    assert _psnr(sharp, refined) > _psnr(sharp, rough) + 0.5
    np.testing.assert_array_equal(within_local_range(refined, rough), refined)


def test_two_halves_blurred_differently_get_no_refinement(sharp):
    blurred = reblur(sharp, _line_kernel(21, 0))
    blurred[:, 256:] = reblur(sharp, _line_kernel(21, 90))[:, 256:]
    rough = _rough(blurred, sharp)
    # Measured 1.98: the whole image's kernel, a compromise of the two, misses the
    # input in the tiles of either half; uniform blur measures 1.0 to 1.02.
    assert disagreement(blurred, rough) > NO_AGREEMENT + 0.2
    assert refinement_share(blurred, rough) == 0.0
    np.testing.assert_array_equal(refine_with_kernel(blurred, rough), rough)
    # The one-kernel refinement would have changed the image.
    assert np.abs(refine_with_one_kernel(blurred, rough) - rough).mean() > 0.003


def test_a_camera_roll_is_refined_far_less_than_uniform_shake(sharp):
    # The bundled network's output on a camera roll (srn-synth's, 25 pixels at the
    # far corner) and on uniform shake of 20 pixels, noise 1/255.
    model = srn_tf.load_model("default")
    image = (sharp * 255).round().astype(np.uint8)
    rng = np.random.default_rng(0)
    rolled, _ = render_spatially_varying(image, "camera_roll", rng, 25.0, noise_sigma=1 / 255)
    shaken = blur_along_path(image, shake_poses(rng, 20.0), CameraResponse("gamma"), rng,
                             1 / 255)
    ratios = {}
    for name, blurred in (("roll", rolled), ("shake", shaken)):
        planes = blurred.astype(np.float32) / 255
        output = srn_tf.deblur_image(model, planes, srn_tf.quality_options("network"))
        ratios[name] = disagreement(planes, output)
    # Measured 1.73 (roll) and 1.51 (shake; its 4x4 grid's worst tile, 1.09 on the
    # 3x3 grid): the roll gets no refinement, the shake about half of it.
    assert ratios["roll"] > NO_AGREEMENT + 0.05
    assert ratios["shake"] < ratios["roll"] - 0.15


def test_between_the_limits_the_refinement_is_blended(sharp, monkeypatch):
    blurred = reblur(sharp, _line_kernel(15, 30))
    rough = _rough(blurred, sharp)
    full = refine_with_kernel(blurred, rough)
    halfway = (FULL_AGREEMENT + NO_AGREEMENT) / 2
    # Every grid's worst tile, in both kinds of blur, measures halfway.
    monkeypatch.setattr(kernel_agreement, "_worst_tile_ratios",
                        lambda blurred, deblurred, domain, grids, factor: [halfway] * len(grids))
    assert refinement_share(blurred, rough) == pytest.approx(0.5)
    half = refine_with_kernel(blurred, rough)
    # Where the full change ends strictly inside the output's local range, the clip
    # bounds neither, and half the agreement keeps half the change; float32 rounding
    # of values in [0, 1] is under 1e-6.
    square = np.ones((RANGE_WINDOW, RANGE_WINDOW), np.uint8)
    low = cv2.erode(rough, square, borderType=cv2.BORDER_REFLECT)
    high = cv2.dilate(rough, square, borderType=cv2.BORDER_REFLECT)
    inside = (full > low) & (full < high)
    assert inside.mean() > 0.5
    np.testing.assert_allclose((half - rough)[inside], 0.5 * (full - rough)[inside], atol=1e-6)


def test_images_too_small_to_tile_are_assumed_to_have_one_blur(sharp):
    small = sharp[:150, :150]
    assert disagreement(small, small) == 1.0
    assert refinement_share(small, small) == 1.0


def test_the_share_skips_the_second_kind_of_blur_only_where_it_cannot_change_it(sharp,
                                                                                monkeypatch):
    # `shrunk_refinement_share` is `share_of_disagreement(shrunk_disagreement(...))`
    # exactly, on uniform blur (share 1), blur differing by halves (share 0) and
    # between; it measures the second kind only where the first measured above
    # FULL_AGREEMENT.
    measured = []
    worst_tile_ratios = kernel_agreement._worst_tile_ratios

    def counted(blurred, deblurred, domain, grids, factor):
        measured.append(domain)
        return worst_tile_ratios(blurred, deblurred, domain, grids, factor)

    monkeypatch.setattr(kernel_agreement, "_worst_tile_ratios", counted)
    halves = reblur(sharp, _line_kernel(21, 0))
    halves[:, 256:] = reblur(sharp, _line_kernel(21, 90))[:, 256:]
    for blurred in (reblur(sharp, _line_kernel(15, 30)), halves):
        rough = shrink(_rough(blurred, sharp), 2.0)
        blurred = shrink(blurred, 2.0)
        measured.clear()
        share = shrunk_refinement_share(blurred, rough, 2.0)
        first_kind_only = len(measured) == 1
        measured.clear()
        assert share == share_of_disagreement(shrunk_disagreement(blurred, rough, 2.0))
        assert len(measured) == 2
        assert first_kind_only == (share == 1.0)
    assert not first_kind_only
