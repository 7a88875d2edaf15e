"""PSNR and SSIM on 8-bit RGB images, as the paper computed them (MATLAB) and as Python does.

The paper's numbers come from MATLAB's `psnr(A, ref)` and `ssim(A, ref)` on the
8-bit RGB results. MATLAB treats an RGB image as one 3-D volume for SSIM; most
Python code (scikit-image's `channel_axis`) averages three 2-D SSIMs instead, and
the two give different numbers on the same pair. Both are here, named.

All functions take (height, width, channels) or (height, width) arrays of any
numeric dtype holding values in [0, data_range] (uint8 results: data_range 255)
and compute in float64.
"""

import math

import numpy as np
from scipy import ndimage
from skimage.metrics import structural_similarity

SSIM_DEFINITIONS = ("matlab", "per_channel")
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _check_pair(image, reference):
    image = np.asarray(image)
    reference = np.asarray(reference)
    if image.shape != reference.shape:
        raise ValueError(
            f"images to compare differ in shape: {image.shape} vs reference {reference.shape}")
    if image.ndim not in (2, 3):
        raise ValueError(f"expected (height, width[, channels]) images. Received shape {image.shape}")
    return image.astype(np.float64), reference.astype(np.float64)


def psnr(image, reference, data_range=255.0):
    """MATLAB's `psnr(image, reference)`: 10 log10(data_range^2 / MSE) in dB.

    The MSE is the mean squared error over every value (all H*W*C of them, the
    channels pooled, not averaged per channel). Identical images give `inf`, as
    in MATLAB.

    Args:
        image: (height, width[, channels]) array, e.g. the deblurred uint8 result.
        reference: array of the same shape, e.g. the sharp image.
        data_range: the largest possible value (255 for 8-bit images).

    Returns:
        PSNR in dB as a Python float.
    """
    image, reference = _check_pair(image, reference)
    mse = np.mean((image - reference) ** 2)
    if mse == 0:
        return math.inf
    return float(10.0 * np.log10(data_range ** 2 / mse))


def gaussian_taps(sigma=SSIM_SIGMA):
    """MATLAB's normalised 1-D Gaussian: radius ceil(3 sigma), 11 taps for sigma 1.5."""
    radius = math.ceil(3 * sigma)
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-(offsets ** 2) / (2 * sigma ** 2))
    return taps / taps.sum()


def _gaussian_filter_volume(volume, taps):
    """Separable Gaussian over every axis of `volume`, replicate padding (MATLAB's)."""
    for axis in range(volume.ndim):
        volume = ndimage.correlate1d(volume, taps, axis=axis, mode="nearest")
    return volume


def ssim_matlab(image, reference, data_range=255.0):
    """MATLAB's `ssim(image, reference)` with default arguments (R2014a and later).

    An RGB image is one (height, width, 3) volume: the local statistics use one
    3-D Gaussian window (sigma 1.5, 11 taps per axis, normalised) applied with
    replicate padding on every axis, the channel axis included; C1 = (0.01 L)^2,
    C2 = (0.03 L)^2 with L = data_range; the score is the mean of

        (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))

    over every voxel, borders included, where sigma_x^2 = G*(x^2) - mu_x^2 etc.

    Returns:
        SSIM as a Python float.
    """
    x, y = _check_pair(image, reference)
    taps = gaussian_taps()
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mu_x = _gaussian_filter_volume(x, taps)
    mu_y = _gaussian_filter_volume(y, taps)
    var_x = _gaussian_filter_volume(x * x, taps) - mu_x ** 2
    var_y = _gaussian_filter_volume(y * y, taps) - mu_y ** 2
    cov_xy = _gaussian_filter_volume(x * y, taps) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return float(np.mean(ssim_map))


def ssim_per_channel(image, reference, data_range=255.0):
    """The SSIM most Python code and later papers report: 2-D SSIM per channel, averaged.

    scikit-image's `structural_similarity(channel_axis=-1, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=data_range)`: per channel, a
    2-D Gaussian window (sigma 1.5, 11 taps) with mirror padding ('reflect'), the
    same C1, C2 and formula as `ssim_matlab`, the map averaged over the interior
    only (5 pixels cropped on every side), then the channel scores averaged.
    Images must be at least 11 pixels on a side.

    Returns:
        SSIM as a Python float.
    """
    x, y = _check_pair(image, reference)
    channel_axis = -1 if x.ndim == 3 else None
    return float(structural_similarity(
        x, y, channel_axis=channel_axis, gaussian_weights=True, sigma=SSIM_SIGMA,
        use_sample_covariance=False, data_range=data_range))


def ssim(image, reference, definition="matlab", data_range=255.0):
    """SSIM by `definition`: "matlab" (the paper's, `ssim_matlab`) or "per_channel"."""
    if definition == "matlab":
        return ssim_matlab(image, reference, data_range)
    if definition == "per_channel":
        return ssim_per_channel(image, reference, data_range)
    raise ValueError(f"SSIM definition must be one of {SSIM_DEFINITIONS}. Received: {definition!r}")
