"""Kernel agreement: refinement by one kernel only where one kernel explains the image."""

import cv2
import numpy as np
import pytest
import skimage.data

import srn_tf
from benchmarks.unseen_shake import shake_poses
from srn_tf.data.synth.render import CameraResponse, blur_along_path
from srn_tf.data.synth.spatially_varying import render_spatially_varying
from srn_tf.inference.postprocess import kernel_agreement
from srn_tf.inference.postprocess.blur_kernels import KERNEL_SIZE, reblur
from srn_tf.inference.postprocess.kernel_agreement import (FULL_AGREEMENT, NO_AGREEMENT,
                                                           disagreement, refinement_share,
                                                           tile_windows)
from srn_tf.inference.postprocess.kernel_refinement import (refine_with_kernel,
                                                            refine_with_one_kernel, refined_share,
                                                            within_local_range)
from srn_tf.inference.postprocess.noise import noise_level


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


def _kept_change(blurred, rough, agreement):
    """What refine_with_kernel returns at an agreement's share: the output plus the
    noise's share of the refinement's change, kept within the output's local range."""
    refined = within_local_range(refine_with_one_kernel(blurred, rough), rough)
    return rough + agreement * refined_share(noise_level(blurred)) * (refined - rough)


@pytest.mark.parametrize("grid, tile", [(3, (192, 256)), (4, (153, 204))])
def test_tiles_cover_the_image_and_overlap_by_half(grid, tile):
    windows = tile_windows((384, 512), grid)
    assert len(windows) == grid * grid
    covered = np.zeros((384, 512), int)
    for rows, columns in windows:
        covered[rows, columns] += 1
        assert (rows.stop - rows.start, columns.stop - columns.start) == tile
    assert covered.min() == 1 and covered.max() == 4


def test_uniform_blur_is_refined_in_full(sharp):
    blurred = reblur(sharp, _line_kernel(15, 30))
    rough = _rough(blurred, sharp)
    # Measured 1.05: every tile's own kernel is the whole image's.
    assert disagreement(blurred, rough) < FULL_AGREEMENT
    assert refinement_share(blurred, rough) == 1.0
    # The output keeps the noise's share of the refinement's change (float32 rounding).
    np.testing.assert_allclose(refine_with_kernel(blurred, rough),
                               _kept_change(blurred, rough, 1.0), atol=1e-6)


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
        output = srn_tf.deblur_image(model, planes, flips=1, flat_level=False,
                                     kernel_refinement=False, denoise=False)
        ratios[name] = disagreement(planes, output)
    # Measured 1.73 (roll) and 1.51 (shake; its 4x4 grid's worst tile, 1.09 on the
    # 3x3 grid): the roll gets no refinement, the shake about half of it.
    assert ratios["roll"] > NO_AGREEMENT + 0.05
    assert ratios["shake"] < ratios["roll"] - 0.15


def test_between_the_limits_the_refinement_is_blended(sharp, monkeypatch):
    blurred = reblur(sharp, _line_kernel(15, 30))
    rough = _rough(blurred, sharp)
    halfway = (FULL_AGREEMENT + NO_AGREEMENT) / 2
    monkeypatch.setattr(kernel_agreement, "disagreement", lambda *images: halfway)
    assert refinement_share(blurred, rough) == pytest.approx(0.5)
    np.testing.assert_allclose(refine_with_kernel(blurred, rough),
                               _kept_change(blurred, rough, 0.5), atol=1e-6)


def test_images_too_small_to_tile_are_assumed_to_have_one_blur(sharp):
    small = sharp[:150, :150]
    assert disagreement(small, small) == 1.0
    assert refinement_share(small, small) == 1.0
