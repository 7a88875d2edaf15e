"""Kernel agreement: refinement by one kernel only where one kernel explains the image."""

import cv2
import numpy as np
import pytest
import skimage.data

from srn_tf.data.synth.render import CameraResponse, blur_along_path
from srn_tf.inference.postprocess import kernel_agreement
from srn_tf.inference.postprocess.blur_kernels import KERNEL_SIZE, reblur
from srn_tf.inference.postprocess.kernel_agreement import (FULL_AGREEMENT, NO_AGREEMENT,
                                                           disagreement, refinement_share,
                                                           tile_windows)
from srn_tf.inference.postprocess.kernel_refinement import refine_with_kernel, refine_with_one_kernel


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


def _roll(sharp, degrees):
    """Frames rotating about the top-left corner, averaged in linear light: the far
    corner moves about 17 pixels for 1.5 degrees, the near one not at all."""
    height, width = sharp.shape[:2]
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    poses = []
    for angle in np.radians(np.linspace(-degrees / 2, degrees / 2, 15)):
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        shift = (np.eye(2) - rotation) @ (np.zeros(2) - centre)
        poses.append([shift[0], shift[1], angle])
    image = (sharp * 255).round().astype(np.uint8)
    blurred = blur_along_path(image, np.array(poses), CameraResponse("gamma"),
                              np.random.default_rng(0), 0.0)
    return blurred.astype(np.float32) / 255


def test_tiles_cover_the_image_and_overlap_by_half():
    windows = tile_windows((384, 512))
    assert len(windows) == 9
    covered = np.zeros((384, 512), int)
    for rows, columns in windows:
        covered[rows, columns] += 1
        assert (rows.stop - rows.start, columns.stop - columns.start) == (192, 256)
    assert covered.min() == 1 and covered.max() == 4


def test_uniform_blur_is_refined_in_full(sharp):
    blurred = reblur(sharp, _line_kernel(15, 30))
    rough = _rough(blurred, sharp)
    # Measured 1.05: every tile's own kernel is the whole image's.
    assert disagreement(blurred, rough) < FULL_AGREEMENT
    np.testing.assert_array_equal(refine_with_kernel(blurred, rough),
                                  refine_with_one_kernel(blurred, rough))


@pytest.mark.parametrize("case", ["two halves", "camera roll"])
def test_blur_one_kernel_cannot_explain_gets_no_refinement(sharp, case):
    if case == "two halves":
        blurred = reblur(sharp, _line_kernel(17, 0))
        blurred[:, 256:] = reblur(sharp, _line_kernel(17, 90))[:, 256:]
    else:
        blurred = _roll(sharp, 1.5)
    rough = _rough(blurred, sharp)
    # Measured 4.1 (two halves) and 2.0 (roll): the whole image's kernel misses
    # the input in the tiles whose blur it does not share.
    assert disagreement(blurred, rough) > NO_AGREEMENT
    assert refine_with_kernel(blurred, rough) is not None
    np.testing.assert_array_equal(refine_with_kernel(blurred, rough), rough)
    # The one-kernel refinement would have changed the image.
    assert np.abs(refine_with_one_kernel(blurred, rough) - rough).mean() > 0.003


def test_between_the_limits_the_refinement_is_blended(sharp, monkeypatch):
    blurred = reblur(sharp, _line_kernel(15, 30))
    rough = _rough(blurred, sharp)
    halfway = (FULL_AGREEMENT + NO_AGREEMENT) / 2
    monkeypatch.setattr(kernel_agreement, "disagreement", lambda *images: halfway)
    assert refinement_share(blurred, rough) == pytest.approx(0.5)
    expected = rough + 0.5 * (refine_with_one_kernel(blurred, rough) - rough)
    np.testing.assert_allclose(refine_with_kernel(blurred, rough), expected, atol=1e-6)


def test_images_too_small_to_tile_are_assumed_to_have_one_blur(sharp):
    small = sharp[:150, :150]
    assert disagreement(small, small) == 1.0
    assert refinement_share(small, small) == 1.0
