"""Kernel refinement: the blur is read from a rough sharp image and deconvolved."""

import cv2
import numpy as np
import pytest
import skimage.data
from skimage.metrics import peak_signal_noise_ratio

from srn_tf.inference.postprocess import blur_kernels, kernel_refinement
from srn_tf.inference.postprocess.blur_kernels import (GAMMA, KERNEL_SIZE, deconvolve,
                                                       estimate_kernel, reblur)
from srn_tf.inference.postprocess.kernel_refinement import (CLEAN_SHARE, NOISY_LEVEL,
                                                            NOISY_SHARE, refine_with_kernel,
                                                            refine_with_one_kernel, refined_share,
                                                            within_local_range)
from srn_tf.inference.postprocess.noise import noise_level


@pytest.fixture(scope="module")
def sharp():
    """(320, 320, 3) float64 in [0, 1]: a crop of scikit-image's coffee photograph.

    Large enough for the strongest 1.5% of its gradients (`EDGE_FRACTION`) to
    outline the objects; at 160x160 they are too few to pin a kernel down.
    """
    return skimage.data.coffee()[40:360, 140:460].astype(np.float64) / 255


@pytest.fixture(scope="module")
def shake():
    """(KERNEL_SIZE, KERNEL_SIZE) kernel: a bent 14-pixel path, off-centre like real shake."""
    kernel = np.zeros((KERNEL_SIZE, KERNEL_SIZE))
    centre = KERNEL_SIZE // 2
    cv2.line(kernel, (centre - 6, centre + 2), (centre + 2, centre - 2), 1.0)
    cv2.line(kernel, (centre + 2, centre - 2), (centre + 7, centre), 1.0)
    return kernel / kernel.sum()


def _blur(sharp, kernel, kind):
    if kind == "8-bit":
        return reblur(sharp, kernel)
    return reblur(sharp ** GAMMA, kernel) ** (1 / GAMMA)


def _rough(sharp):
    """`sharp` with smooth errors of 0.06: right edges, wrong detail (25.0 dB)."""
    error = cv2.GaussianBlur(np.random.default_rng(5).normal(0, 1, sharp.shape), (0, 0), 1.5)
    return sharp + 0.06 * error / error.std()


def _psnr(sharp, image):
    return peak_signal_noise_ratio(sharp, np.clip(image, 0, 1), data_range=1)


def _correlation(a, b):
    return np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))


def test_the_kernel_is_recovered_from_the_sharp_image(sharp, shake):
    estimated = estimate_kernel(reblur(sharp, shake), sharp)
    assert estimated.shape == (KERNEL_SIZE, KERNEL_SIZE) and estimated.min() >= 0
    assert estimated.sum() == pytest.approx(1.0)
    # Measured 0.957: thresholding clears the faint ends of the path.
    assert _correlation(estimated, shake) > 0.9


def test_a_sharp_or_flat_image_gives_the_identity_kernel(sharp):
    identity = np.zeros((KERNEL_SIZE, KERNEL_SIZE))
    identity[KERNEL_SIZE // 2, KERNEL_SIZE // 2] = 1
    np.testing.assert_allclose(estimate_kernel(sharp, sharp), identity, atol=1e-6)
    flat = np.full((64, 64, 3), 0.5)
    np.testing.assert_array_equal(estimate_kernel(flat, flat), identity)


def test_deconvolution_with_the_true_kernel_recovers_the_sharp_image(sharp, shake):
    blurred = reblur(sharp, shake)
    restored = deconvolve(blurred, blurred, shake, weight=1e-3)
    # Measured 23.3 -> 29.0 dB (the weight holds back the frequencies the kernel removed).
    assert _psnr(sharp, restored) > _psnr(sharp, blurred) + 5
    # An overwhelming weight returns the prior.
    prior = np.full_like(blurred, 0.3)
    np.testing.assert_allclose(deconvolve(blurred, prior, shake, weight=1e9), prior, atol=1e-6)


@pytest.mark.parametrize("kind, least_gain", [("8-bit", 4.0), ("linear light", 1.0)])
def test_a_rough_estimate_is_refined(sharp, shake, kind, least_gain):
    blurred = _blur(sharp, shake, kind).astype(np.float32)
    rough = _rough(sharp).astype(np.float32)
    refined = refine_with_one_kernel(blurred, rough)
    assert refined.dtype == np.float32 and refined.shape == rough.shape
    # Measured +6.2 dB (8-bit) and +2.9 dB (linear light) over the rough estimate,
    # which is itself 1.8 to 2.8 dB above the blurred input. For linear-light blur
    # the two kinds cost nearly the same here (the 8-bit one 1.2 times less) and
    # their weighted mean beats each alone (8-bit +1.4 dB, linear light +2.6).
    assert _psnr(sharp, refined) > _psnr(sharp, rough) + least_gain


def test_the_kinds_of_blur_are_averaged_weighted_to_the_one_that_made_the_input(
        sharp, shake, monkeypatch):
    blurred = _blur(sharp, shake, "8-bit").astype(np.float32)
    rough = _rough(sharp).astype(np.float32)
    refined = refine_with_one_kernel(blurred, rough)
    alone = {}
    for kind, weight in dict(kernel_refinement.OUTPUT_WEIGHTS).items():
        monkeypatch.setattr(kernel_refinement, "OUTPUT_WEIGHTS", {kind: weight})
        alone[kind] = refine_with_one_kernel(blurred, rough)
    # refined = share * 8-bit + (1 - share) * linear light, one share for every pixel.
    difference = (alone["8-bit"] - alone["linear light"]).ravel()
    share = np.dot(refined.ravel() - alone["linear light"].ravel(), difference) / np.dot(
        difference, difference)
    np.testing.assert_allclose(
        refined, share * alone["8-bit"] + (1 - share) * alone["linear light"], atol=1e-5)
    # Measured 0.998: the linear-light kind costs 4.8 times as much here.
    assert share > 0.99


def test_a_noisy_input_keeps_the_result_close_to_the_estimate(sharp, shake):
    blurred = _blur(sharp, shake, "8-bit")
    noisy = np.clip(blurred + np.random.default_rng(0).normal(0, 0.02, blurred.shape), 0, 1)
    rough = _rough(sharp).astype(np.float32)
    change = np.abs(refine_with_one_kernel(blurred.astype(np.float32), rough) - rough).mean()
    noisy_change = np.abs(refine_with_one_kernel(noisy.astype(np.float32), rough) - rough).mean()
    # Noise of 0.02 weighs the estimate about 45 times more: measured 0.0094 against 0.0379.
    assert noisy_change < 0.3 * change


def test_gray_images_are_refined_and_shapes_must_agree(sharp, shake):
    gray = _blur(sharp, shake, "8-bit")[..., :1].astype(np.float32)
    rough = _rough(sharp)[..., :1].astype(np.float32)
    assert refine_with_kernel(gray, rough).shape == (320, 320, 1)
    # Too small for the coarse scales (SMALLEST_SIDE): refined at full size only.
    small = refine_with_one_kernel(gray[:40, :40], rough[:40, :40])
    assert small.shape == (40, 40, 1) and np.isfinite(small).all()
    with pytest.raises(ValueError, match=r"blurred \(320, 320, 1\) and deblurred \(320, 320, 3\)"):
        refine_with_kernel(gray, np.zeros((320, 320, 3), np.float32))


def test_the_share_of_the_change_kept_grows_with_the_noise_up_to_its_limit():
    levels = [0.0, 0.25 * NOISY_LEVEL, 0.5 * NOISY_LEVEL, NOISY_LEVEL, 2 * NOISY_LEVEL]
    shares = [refined_share(level) for level in levels]
    assert shares[0] == CLEAN_SHARE and shares[-2] == shares[-1] == pytest.approx(NOISY_SHARE)
    assert shares[2] == pytest.approx((CLEAN_SHARE + NOISY_SHARE) / 2)
    assert all(low < high for low, high in zip(shares[:4], shares[1:4]))


def test_ringing_beyond_the_outputs_local_range_is_cut_and_edges_within_it_kept():
    # A vertical step from 0.2 to 0.8; the refined image steepens it (within the
    # range) and rings 0.1 beyond it two pixels away (outside the range).
    deblurred = np.full((9, 40, 1), 0.2, np.float32)
    deblurred[:, 20:] = 0.8
    deblurred[:, 18:22] = np.array([0.3, 0.45, 0.55, 0.7], np.float32)[:, None]
    refined = deblurred.copy()
    refined[:, 18:22] = np.array([0.25, 0.3, 0.7, 0.75], np.float32)[:, None]
    refined[:, 10] = 0.1
    refined[:, 30] = 0.9
    kept = within_local_range(refined, deblurred)
    np.testing.assert_array_equal(kept[:, 18:22], refined[:, 18:22])
    np.testing.assert_allclose(kept[:, 10], 0.2)
    np.testing.assert_allclose(kept[:, 30], 0.8)


@pytest.mark.parametrize("noise", [None, NOISY_LEVEL])
def test_the_refined_output_stays_within_the_outputs_local_range(sharp, shake, noise):
    blurred = _blur(sharp, shake, "8-bit").astype(np.float32)
    rough = _rough(sharp).astype(np.float32)
    # At NOISY_LEVEL the share kept is NOISY_SHARE, above 1: the clip comes after it.
    refined = refine_with_kernel(blurred, rough, noise)
    square = np.ones((kernel_refinement.RANGE_WINDOW,) * 2, np.uint8)
    for channel in range(3):
        low = cv2.erode(rough[..., channel], square, borderType=cv2.BORDER_REFLECT)
        high = cv2.dilate(rough[..., channel], square, borderType=cv2.BORDER_REFLECT)
        # Exact: the clip returns the bounds themselves.
        assert (refined[..., channel] >= low).all() and (refined[..., channel] <= high).all()
    # And it still gains over the rough estimate.
    assert _psnr(sharp, refined) > _psnr(sharp, rough) + 1.0


@pytest.mark.parametrize("size", [7, 1000, 230399])
def test_the_edge_threshold_passes_the_same_pixels_as_numpys_quantile(size):
    rng = np.random.default_rng(size)
    for values in (np.abs(rng.normal(size=size)), np.round(np.abs(rng.normal(size=size)), 1)):
        for fraction in (0.0, 0.5, 1 - blur_kernels.EDGE_FRACTION, 1.0):
            np.testing.assert_array_equal(
                values >= blur_kernels._upper_quantile(values, fraction),
                values >= np.quantile(values, fraction), err_msg=f"{size} {fraction}")


def test_a_noise_level_given_is_the_one_used(sharp, shake):
    blurred = _blur(sharp, shake, "8-bit").astype(np.float32)
    rough = _rough(sharp).astype(np.float32)
    # deblur_image estimates the level once for refinement and denoising: the same
    # result as estimating it here; a noisier level keeps a larger share.
    estimated = refine_with_kernel(blurred, rough)
    np.testing.assert_array_equal(refine_with_kernel(blurred, rough, noise_level(blurred)),
                                  estimated)
    assert not np.array_equal(refine_with_kernel(blurred, rough, NOISY_LEVEL), estimated)


def test_reblurring_with_the_kernels_box_is_the_whole_kernels_convolution(sharp, shake):
    # `reblur` cuts the kernel to the box around its non-zero values and its centre;
    # the full 65 x 65 convolution (cv2.filter2D, mirrored borders) is the reference.
    # 1e-6: float32 sums taken in another order (values in [0, 1]).
    image = sharp.astype(np.float32)
    for kernel in (shake, np.roll(shake, (20, -25), axis=(0, 1))):
        full = cv2.filter2D(image, -1, np.ascontiguousarray(kernel[::-1, ::-1]),
                            borderType=cv2.BORDER_REFLECT)
        np.testing.assert_allclose(reblur(image, kernel.astype(np.float32)), full, atol=1e-6)
        np.testing.assert_allclose(reblur(image[..., :1], kernel.astype(np.float32)),
                                   full[..., :1], atol=1e-6)


def test_a_kernel_estimator_kept_for_many_latent_images_gives_estimate_kernels_kernels(
        sharp, shake):
    blurred = reblur(sharp, shake).astype(np.float32)
    estimator = blur_kernels.KernelEstimator(blurred, 33)
    for latent in (sharp.astype(np.float32), _rough(sharp).astype(np.float32)):
        np.testing.assert_array_equal(estimator(latent), estimate_kernel(blurred, latent, 33))


def test_refinement_transforms_the_channels_only_in_its_last_deconvolutions(sharp, shake,
                                                                            monkeypatch):
    # Kernels come from the channels' mean, so every pass before the last deconvolves
    # the mean alone: per kind of blur, only the last deconvolution takes the three
    # channels (before: every pass's, at every scale).
    channels = []

    class CountingDeconvolution(blur_kernels.Deconvolution):
        def __init__(self, blurred, latent, size):
            channels.append(blurred.shape[2])
            super().__init__(blurred, latent, size)

    monkeypatch.setattr(kernel_refinement, "Deconvolution", CountingDeconvolution)
    blurred = _blur(sharp, shake, "8-bit").astype(np.float32)
    refine_with_one_kernel(blurred, _rough(sharp).astype(np.float32))
    kinds = len(kernel_refinement.OUTPUT_WEIGHTS)
    assert channels.count(3) == kinds and len(channels) > kinds
    assert set(channels) == {1, 3}


def test_the_packed_spectra_deconvolve_as_numpys_complex_transforms(sharp, shake):
    # The deconvolution multiplies OpenCV's packed spectra; the reference solves the
    # same problem on the same mirrored, padded domain with numpy's complex float64
    # transforms. 2e-5: float32 transforms of values in [0, 1] (measured 1e-6).
    size = KERNEL_SIZE
    blurred = reblur(sharp, shake).astype(np.float32)[:150, :170]
    latent = _rough(sharp).astype(np.float32)[:150, :170]
    deconvolution = blur_kernels.Deconvolution(blurred, latent, size)
    restored, reblurred = deconvolution(shake.astype(np.float32), 0.05, with_reblurred=True)
    shape = deconvolution._shape
    pad = ((size, shape[0] - 150 - size), (size, shape[1] - 170 - size), (0, 0))
    centred = np.zeros(shape)
    centred[:size, :size] = shake
    kernel = np.fft.rfft2(np.roll(centred, (-(size // 2), -(size // 2)), axis=(0, 1)))[..., None]
    spectra = [np.fft.rfft2(np.pad(image.astype(np.float64), pad, mode="reflect"), axes=(0, 1))
               for image in (blurred, latent)]
    solution = (np.conj(kernel) * spectra[0] + 0.05 * spectra[1]) / (np.abs(kernel) ** 2 + 0.05)
    window = (slice(size, size + 150), slice(size, size + 170))
    for result, spectrum in ((restored, solution), (reblurred, kernel * solution)):
        expected = np.fft.irfft2(spectrum, shape, axes=(0, 1))[window]
        np.testing.assert_allclose(result, expected, atol=2e-5)
    # Away from the borders by the kernel's reach, the reblurred image is `reblur`'s.
    inner = (slice(size // 2, -(size // 2)), slice(size // 2, -(size // 2)))
    np.testing.assert_allclose(reblurred[inner], reblur(restored, shake)[inner], atol=2e-5)


@pytest.mark.parametrize("shape", [(40, 50), (40, 51), (45, 64), (45, 63)])
def test_the_regularisation_is_the_mean_power_over_the_stored_half_spectrum(shape):
    # The kernel's regularisation is a fraction of the mean of |rfft2|^2 over the half
    # spectrum a real transform stores, read from OpenCV's packed spectrum (a mean
    # over the whole spectrum differs by about 1/width, enough to move an estimated
    # kernel's values by 0.02). 1e-6 relative: float32 spectra.
    image = np.random.default_rng(sum(shape)).normal(size=(30, 41)).astype(np.float32)
    expected = np.mean(np.abs(np.fft.rfft2(image.astype(np.float64), shape)) ** 2)
    spectrum = blur_kernels._spectrum(image, shape)
    power = cv2.mulSpectrums(spectrum, spectrum, 0, conjB=True)
    assert blur_kernels._half_spectrum_mean(power) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("shape", [(40, 50), (40, 51), (45, 64), (45, 63)])
def test_dividing_by_a_real_spectrum_element_by_element_is_mulspectrums_exactly(shape):
    # The reciprocal of a real packed spectrum, copied to the imaginary parts' places,
    # multiplies element by element as cv2.mulSpectrums multiplies by the real
    # spectrum (imaginary parts 0): the same float32 products, exactly, for even and
    # odd sides (where the packed layout's last column and row differ).
    rng = np.random.default_rng(sum(shape))
    spectrum = cv2.dft(rng.normal(size=shape).astype(np.float32))
    power = cv2.mulSpectrums(spectrum, spectrum, 0, conjB=True)
    real_parts = cv2.dft(np.pad(np.ones((1, 1), np.float32),
                                ((0, shape[0] - 1), (0, shape[1] - 1))))
    expected = cv2.mulSpectrums(spectrum, real_parts / (power + np.float32(0.1)), 0)
    factor = blur_kernels._reciprocal(power, 0.1)
    np.testing.assert_array_equal(cv2.multiply(spectrum, factor), expected)


def test_the_kinds_costs_sums_equal_numpys_in_float64():
    # cv2.norm and cv2.meanStdDev sum in float64: within 1e-6 of numpy's float64 sums
    # (float32 inputs: numpy's own float32 means differ from these by about that).
    rng = np.random.default_rng(7)
    first, second = (rng.random((90, 70, 3), np.float32) for _ in range(2))
    window = (slice(5, -5), slice(5, -5))
    expected = np.mean((first[window].astype(np.float64) - second[window]) ** 2)
    assert kernel_refinement._mean_square_difference(first[window], second[window]) == (
        pytest.approx(expected, rel=1e-6))
    assert kernel_refinement._variance(first[window]) == pytest.approx(
        np.var(first[window].astype(np.float64)), rel=1e-6)
