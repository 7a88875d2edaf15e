"""srn_tf.inference.strength: the blend srn-serve hands out, defined once."""

import numpy as np
import pytest

from srn_tf.inference.strength import apply_strength, check_strength


@pytest.mark.parametrize("dtype,maximum", [(np.uint8, 255), (np.uint16, 65535)])
def test_strength_zero_and_one_give_the_input_and_the_result_exactly(dtype, maximum):
    rng = np.random.RandomState(0)
    image = rng.randint(0, maximum + 1, (9, 7, 3)).astype(dtype)
    deblurred = rng.randint(0, maximum + 1, (9, 7, 3)).astype(dtype)
    np.testing.assert_array_equal(apply_strength(image, deblurred, 0), image)
    np.testing.assert_array_equal(apply_strength(image, deblurred, 1), deblurred)
    half = apply_strength(image, deblurred, 0.5)
    expected = (image.astype(np.float64) + 0.5 * (deblurred.astype(np.float64) - image)).astype(
        dtype)  # truncated, as deblur_image converts
    np.testing.assert_array_equal(half, expected)
    assert half.dtype == dtype


def test_the_blend_truncates_and_keeps_the_input_alpha():
    image = np.array([[[10, 20, 30, 200]]], np.uint8)
    deblurred = np.array([[[11, 25, 30, 7]]], np.uint8)
    assert apply_strength(image, deblurred, 0.5).tolist() == [[[10, 22, 30, 200]]]
    floats = np.array([[[0.2, 0.4, 1.0]]], np.float32)
    out = apply_strength(floats, np.array([[[0.4, 0.0, 1.0]]], np.float32), 0.5)
    np.testing.assert_allclose(out, [[[0.3, 0.2, 1.0]]], rtol=1e-6)
    assert out.dtype == np.float32


@pytest.mark.parametrize("value", [-0.1, 1.01, "nan", "inf", "", "strong", None])
def test_bad_strengths_are_refused_in_one_line(value):
    with pytest.raises(ValueError, match=r"^strength must be a number from 0 to 1\. Received: "):
        check_strength(value)


def test_strengths_parse_from_text_and_shapes_must_agree():
    assert check_strength("0.25") == 0.25 and check_strength(1) == 1.0
    with pytest.raises(ValueError, match="differ"):
        apply_strength(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint16), 0.5)
