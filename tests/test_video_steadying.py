"""srn_tf.inference.video_steadying: the blend that steadies deblurred video frames."""

import numpy as np
import pytest
import skimage.data

from srn_tf.inference.video_steadying import (MAX_WEIGHT, blend_with_previous, estimated_shift,
                                              steady_frame)

PAN = (4, 1)
SIZE = (96, 128)


def _panned_crops(count=2):
    """`count` crops of astronaut, each PAN further right and down; uint8 (h, w, 3)."""
    image = skimage.data.astronaut()
    return [np.ascontiguousarray(image[100 + index * PAN[1]:100 + index * PAN[1] + SIZE[0],
                                       150 + index * PAN[0]:150 + index * PAN[0] + SIZE[1]])
            for index in range(count)]


def test_shift_between_panned_frames_is_estimated():
    previous, current = _panned_crops()
    dx, dy = estimated_shift(previous, current)
    # Phase correlation of whole-pixel shifts lands within a tenth of a pixel
    # (sub-pixel peak fit on a windowed image); 0.25 leaves room for the window.
    assert abs(dx - PAN[0]) < 0.25 and abs(dy - PAN[1]) < 0.25


def test_agreeing_errors_are_averaged_and_disagreement_is_kept():
    rng = np.random.default_rng(0)
    truth = _panned_crops(1)[0].astype(np.float32) / 255.0
    # Two outputs of a still scene with independent small errors (1 level rms).
    previous = truth + rng.normal(0, 1 / 255, truth.shape).astype(np.float32)
    current = truth + rng.normal(0, 1 / 255, truth.shape).astype(np.float32)
    # A moving object: a patch where the frames disagree by far more than their error.
    current[20:50, 30:70] = 1.0 - current[20:50, 30:70]
    blended = blend_with_previous(previous, current, (0, 0))
    inner = (slice(25, 45), slice(35, 65))
    # Inside the object the previous frame is kept out (within float rounding).
    np.testing.assert_allclose(blended[inner], current[inner], atol=1e-6)
    still = np.ones(truth.shape[:2], bool)
    still[15:55, 25:75] = False
    error_before = np.abs(current - truth)[still].mean()
    error_after = np.abs(blended - truth)[still].mean()
    # Averaging two independent errors with weight near MAX_WEIGHT (0.5) divides
    # their spread by up to sqrt(2): at least a fifth less error where still.
    assert MAX_WEIGHT == 0.5
    assert error_after < 0.8 * error_before


def test_steady_frame_moves_the_previous_frame_by_the_estimated_pan():
    previous, current = _panned_crops()
    rng = np.random.default_rng(1)
    noisy = [np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)
             for frame in (previous, current)]
    steadied = steady_frame(noisy[0], noisy[0], noisy[1])
    assert steadied.dtype == np.uint8 and steadied.shape == current.shape
    # Where the moved previous frame covers this one, the blend halves the noise's
    # variance; without moving, the blend would refuse (textures disagree) or smear.
    covered = (slice(0, SIZE[0] - PAN[1]), slice(0, SIZE[1] - PAN[0]))
    error_before = np.abs(noisy[1].astype(float) - current)[covered].mean()
    error_after = np.abs(steadied.astype(float) - current)[covered].mean()
    assert error_after < 0.9 * error_before


@pytest.mark.parametrize("dtype, scale", [(np.uint16, 65535), (np.float32, 1.0)])
def test_steady_frame_keeps_the_frames_dtype(dtype, scale):
    frame = (_panned_crops(1)[0].astype(np.float64) / 255.0 * scale).astype(dtype)
    steadied = steady_frame(frame, frame, frame, shift=(0, 0))
    assert steadied.dtype == dtype
    # Identical frames: the blend changes nothing (integers round back exactly).
    np.testing.assert_allclose(steadied.astype(np.float64), frame.astype(np.float64),
                               atol=1e-6 * scale)
