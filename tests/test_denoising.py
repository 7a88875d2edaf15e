"""Output denoising: the noise level is read from the input, noise goes, clean stays."""

import cv2
import numpy as np
import pytest
import skimage.data
from skimage.metrics import peak_signal_noise_ratio

from srn_tf.inference.postprocess.denoising import denoise_output
from srn_tf.inference.postprocess.noise import noise_level


def _blurred_photo(channels):
    """(128, 128, channels) float32: a Gaussian-blurred crop of a scikit-image photograph."""
    photo = skimage.data.coffee() if channels == 3 else skimage.data.camera()[..., None]
    crop = photo[100:228, 200:328].astype(np.float32) / 255
    return cv2.GaussianBlur(crop, (0, 0), 2).reshape(128, 128, channels)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("sigma", [0.01, 0.02])
def test_noise_is_measured_in_the_input_and_removed(channels, sigma):
    clean = _blurred_photo(channels)
    noisy = clean + np.random.default_rng(0).normal(0, sigma, clean.shape).astype(np.float32)
    # A blurred photograph has little fine detail to mistake for noise: within 5%.
    assert noise_level(noisy) == pytest.approx(sigma, rel=0.05)
    before = peak_signal_noise_ratio(clean, np.clip(noisy, 0, 1), data_range=1)
    after = peak_signal_noise_ratio(clean, denoise_output(noisy, noisy), data_range=1)
    # Measured: +2.1 to +5.0 dB; a denoiser that did nothing, or blurred, would not reach 2.
    assert after - before > 2.0


def test_a_noise_free_input_comes_back_all_but_unchanged():
    clean = np.round(_blurred_photo(3) * 255) / 255  # 8-bit rounding only
    assert noise_level(clean) < 0.002
    # Measured 67 dB: well under a grey level anywhere.
    assert peak_signal_noise_ratio(clean, denoise_output(clean, clean), data_range=1) > 60


def test_the_noise_level_comes_from_the_blurred_input_not_the_output():
    clean = _blurred_photo(3)
    noisy = clean + np.random.default_rng(1).normal(0, 0.02, clean.shape).astype(np.float32)
    # A noise-free input leaves even a noisy output nearly as it is.
    assert peak_signal_noise_ratio(noisy.clip(0, 1), denoise_output(clean, noisy), data_range=1) > 45


def test_output_is_clipped_and_shapes_must_agree():
    noisy = _blurred_photo(3) + np.random.default_rng(2).normal(0, 0.05, (128, 128, 3))
    result = denoise_output(noisy.astype(np.float32), noisy.astype(np.float32) * 1.3)
    assert result.dtype == np.float32 and 0 <= result.min() and result.max() <= 1
    with pytest.raises(ValueError, match=r"blurred \(128, 128, 3\) and deblurred \(128, 128, 1\)"):
        denoise_output(noisy.astype(np.float32), np.zeros((128, 128, 1), np.float32))


def test_a_noise_level_given_is_the_one_used():
    clean = _blurred_photo(3)
    noisy = clean + np.random.default_rng(3).normal(0, 0.02, clean.shape).astype(np.float32)
    # The level deblur_image estimated once for refinement and denoising: the same
    # result as estimating it here, and a different one when the level differs.
    np.testing.assert_array_equal(denoise_output(noisy, noisy, noise_level(noisy)),
                                  denoise_output(noisy, noisy))
    assert not np.array_equal(denoise_output(noisy, noisy, 0.002), denoise_output(noisy, noisy))


@pytest.mark.parametrize("channels", [1, 3])
def test_the_noise_level_and_denoising_are_scikit_images_steps(channels):
    # noise_level computes only the band estimate_sigma reads, and denoise_output runs
    # denoise_wavelet's YCbCr steps with OpenCV: both are scikit-image's results, to
    # float32 rounding (1e-4 relative on the level, 1e-5 on values in [0, 1]).
    from skimage.restoration import denoise_wavelet, estimate_sigma

    clean = _blurred_photo(channels)
    noisy = clean + np.random.default_rng(4).normal(0, 0.02, clean.shape).astype(np.float32)
    level = noise_level(noisy)
    assert level == pytest.approx(estimate_sigma(noisy, channel_axis=-1, average_sigmas=True),
                                  rel=1e-4)
    expected = denoise_wavelet(np.clip(noisy, 0, 1), sigma=level, wavelet="sym4",
                               method="BayesShrink", mode="soft", channel_axis=-1,
                               convert2ycbcr=channels == 3, rescale_sigma=True)
    np.testing.assert_allclose(denoise_output(noisy, noisy, level), np.clip(expected, 0, 1),
                               atol=1e-5)


def test_a_black_input_has_no_noise_and_comes_back_unchanged():
    # Every wavelet coefficient is 0: no noise to measure (estimate_sigma gives nan).
    black = np.zeros((64, 64, 3), np.float32)
    assert noise_level(black) == 0.0
    np.testing.assert_array_equal(denoise_output(black, black), black)
