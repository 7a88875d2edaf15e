"""PSNR and SSIM against direct, loop-by-loop computations of their definitions.

The direct versions below are written from the definitions in srn_tf/evaluation/metrics.py
(MATLAB's psnr/ssim, scikit-image's per-channel SSIM) without sharing any code
with the library: explicit windows, np.pad for the borders, Python loops. Both
compute in float64, so agreement is to 1e-10 (summation order only).
"""

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from srn_tf.evaluation import metrics

C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2


def direct_psnr(image, reference):
    total = 0.0
    count = 0
    for value, ref in zip(image.ravel().tolist(), reference.ravel().tolist()):
        total += (float(value) - float(ref)) ** 2
        count += 1
    return 10 * math.log10(255.0 ** 2 / (total / count))


def gaussian_window(ndim, sigma=1.5, radius=5):
    grid = np.meshgrid(*[np.arange(-radius, radius + 1)] * ndim, indexing="ij")
    window = np.exp(-sum(g.astype(np.float64) ** 2 for g in grid) / (2 * sigma ** 2))
    return window / window.sum()


def ssim_at(window, x_patch, y_patch):
    mu_x = np.sum(window * x_patch)
    mu_y = np.sum(window * y_patch)
    var_x = np.sum(window * x_patch ** 2) - mu_x ** 2
    var_y = np.sum(window * y_patch ** 2) - mu_y ** 2
    cov = np.sum(window * x_patch * y_patch) - mu_x * mu_y
    return ((2 * mu_x * mu_y + C1) * (2 * cov + C2)) / (
        (mu_x ** 2 + mu_y ** 2 + C1) * (var_x + var_y + C2))


def direct_ssim_matlab(image, reference, radius=5):
    """One 3-D window over (row, column, channel), replicate padding on all axes."""
    x = np.pad(image.astype(np.float64), radius, mode="edge")
    y = np.pad(reference.astype(np.float64), radius, mode="edge")
    window = gaussian_window(3)
    height, width, channels = image.shape
    values = []
    for i in range(height):
        for j in range(width):
            for k in range(channels):
                box = (slice(i, i + 2 * radius + 1), slice(j, j + 2 * radius + 1),
                       slice(k, k + 2 * radius + 1))
                values.append(ssim_at(window, x[box], y[box]))
    return float(np.mean(values))


def direct_ssim_per_channel(image, reference, radius=5):
    """2-D window per channel, mirror padding, 5-pixel border cropped, channels averaged."""
    window = gaussian_window(2)
    height, width, channels = image.shape
    scores = []
    for k in range(channels):
        x = np.pad(image[..., k].astype(np.float64), radius, mode="symmetric")
        y = np.pad(reference[..., k].astype(np.float64), radius, mode="symmetric")
        values = []
        for i in range(radius, height - radius):
            for j in range(radius, width - radius):
                box = (slice(i, i + 2 * radius + 1), slice(j, j + 2 * radius + 1))
                values.append(ssim_at(window, x[box], y[box]))
        scores.append(np.mean(values))
    return float(np.mean(scores))


@pytest.fixture
def noisy_pair():
    """A smooth uint8 RGB image and a noisy copy of it, 16x20."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:16, 0:20]
    base = np.stack([8 * rows + 40, 6 * cols + 60, 4 * (rows + cols) + 20], axis=-1)
    noise = rng.normal(0, 12, base.shape)
    return (np.clip(base + noise, 0, 255).astype(np.uint8), base.astype(np.uint8))


def test_psnr_pools_squared_errors_over_all_values(noisy_pair):
    image, reference = noisy_pair
    assert metrics.psnr(image, reference) == pytest.approx(direct_psnr(image, reference), abs=1e-10)


def test_psnr_matches_scikit_image(noisy_pair):
    image, reference = noisy_pair
    expected = peak_signal_noise_ratio(reference, image, data_range=255)
    assert metrics.psnr(image, reference) == pytest.approx(expected, abs=1e-10)


def test_psnr_of_identical_images_is_infinite_like_matlab(noisy_pair):
    image, _ = noisy_pair
    assert metrics.psnr(image, image.copy()) == math.inf


def test_ssim_matlab_is_one_3d_window_with_replicate_padding(noisy_pair):
    image, reference = noisy_pair
    assert metrics.ssim_matlab(image, reference) == pytest.approx(
        direct_ssim_matlab(image, reference), abs=1e-10)


def test_ssim_per_channel_matches_direct_2d_computation(noisy_pair):
    image, reference = noisy_pair
    assert metrics.ssim_per_channel(image, reference) == pytest.approx(
        direct_ssim_per_channel(image, reference), abs=1e-10)


def test_ssim_definitions_differ_when_channel_means_differ():
    """Flat channels at different levels plus noise.

    Per channel, the sharp image has no structure and the noise leaves little of
    SSIM; the 3-D window also sees the step between channels, which both images
    share, so MATLAB's score is far higher.
    """
    rng = np.random.default_rng(1)
    reference = np.broadcast_to(np.array([20, 128, 235], np.uint8), (16, 16, 3)).copy()
    image = np.clip(reference + rng.normal(0, 20, reference.shape), 0, 255).astype(np.uint8)
    matlab = metrics.ssim(image, reference, "matlab")
    per_channel = metrics.ssim(image, reference, "per_channel")
    assert matlab == pytest.approx(direct_ssim_matlab(image, reference), abs=1e-10)
    assert per_channel == pytest.approx(direct_ssim_per_channel(image, reference), abs=1e-10)
    assert matlab - per_channel > 0.3


def test_ssim_of_identical_images_is_one(noisy_pair):
    image, _ = noisy_pair
    for definition in metrics.SSIM_DEFINITIONS:
        assert metrics.ssim(image, image, definition) == pytest.approx(1.0, abs=1e-12)


def test_gaussian_taps_are_matlabs_eleven_normalised_taps():
    taps = metrics.gaussian_taps(1.5)
    assert taps.shape == (11,)
    assert taps.sum() == pytest.approx(1.0, abs=1e-15)
    assert taps[0] / taps[5] == pytest.approx(math.exp(-25 / 4.5), rel=1e-12)


def test_mismatched_shapes_and_unknown_definition_are_refused(noisy_pair):
    image, reference = noisy_pair
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.psnr(image[:8], reference)
    with pytest.raises(ValueError, match="per_channel"):
        metrics.ssim(image, reference, "gaussian")
