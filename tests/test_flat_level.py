"""Flat-level matching: the offset over flat areas goes, everything else stays."""

import numpy as np
import pytest

from srn_tf.inference.postprocess.flat_level import FLAT_MAX_STD, MIN_FLAT_FRACTION, flat_mask, match_flat_level


def _half_flat_image(seed=0):
    """(64, 64, 3) float32: left half flat grey (plus noise of 0.01), right half random."""
    rng = np.random.default_rng(seed)
    image = np.full((64, 64, 3), 0.4, np.float32) + rng.normal(0, 0.01, (64, 64, 3))
    image[:, 32:] = rng.uniform(0, 1, (64, 32, 3))
    return image.astype(np.float32)


def test_flat_mask_finds_the_flat_half_and_not_the_textured_one():
    mask = flat_mask(_half_flat_image())
    # Away from the border between the halves (3 pixels: half the 7x7 window).
    assert mask[:, :28].all()
    assert not mask[:, 36:].any()


def test_flat_mask_threshold_is_the_local_standard_deviation_of_the_grey_values():
    stripes = np.zeros((32, 32, 3), np.float32)
    # Alternate columns +-a: the standard deviation of any 7x7 window is close to a.
    for amplitude, flat in ((0.9 * FLAT_MAX_STD, True), (1.1 * FLAT_MAX_STD, False)):
        stripes[:, ::2], stripes[:, 1::2] = 0.5 + amplitude, 0.5 - amplitude
        assert flat_mask(stripes)[8:24, 8:24].all() == flat
        assert flat_mask(stripes)[8:24, 8:24].any() == flat


def test_a_constant_offset_per_channel_is_removed_exactly():
    blurred = _half_flat_image()
    offset = np.array([-0.006, 0.01, 0.0], np.float32)
    matched = match_flat_level(blurred, blurred + offset)
    # float32 sums of 64x64 values: ~1e-7.
    np.testing.assert_allclose(matched, blurred, atol=1e-6)


def test_only_the_flat_pixels_decide_the_offset():
    blurred = _half_flat_image()
    deblurred = blurred.copy()
    deblurred[:, 40:] += 0.2  # a change where the input is textured: not an offset
    np.testing.assert_array_equal(match_flat_level(blurred, deblurred), deblurred)
    deblurred[:, :20] -= 0.01  # the flat part darker: the whole image is raised
    matched = match_flat_level(blurred, deblurred)
    mask = flat_mask(blurred)
    expected_offset = (deblurred[mask] - blurred[mask]).mean(axis=0)
    assert expected_offset.max() < -0.005
    np.testing.assert_allclose(matched, deblurred - expected_offset, atol=1e-6)


def test_images_with_almost_no_flat_pixels_are_left_alone():
    rng = np.random.default_rng(1)
    textured = rng.uniform(0, 1, (48, 48, 3)).astype(np.float32)
    assert flat_mask(textured).mean() < MIN_FLAT_FRACTION
    np.testing.assert_array_equal(match_flat_level(textured, textured - 0.1), textured - 0.1)


def test_gray_images_work_and_shapes_must_agree():
    blurred = _half_flat_image()[:, :, :1]
    np.testing.assert_allclose(match_flat_level(blurred, blurred + 0.02), blurred, atol=1e-6)
    with pytest.raises(ValueError, match=r"blurred \(64, 64, 1\) and deblurred \(64, 64, 3\)"):
        match_flat_level(blurred, np.zeros((64, 64, 3), np.float32))
