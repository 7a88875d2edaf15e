"""The noise level of a blurred input: what denoising removes and what holds back
kernel refinement's deconvolution, which would amplify it."""

import numpy as np
import pywt
from scipy.stats import norm

from srn_tf.inference.postprocess.threads import map_in_threads

# The median absolute value of Gaussian noise of standard deviation 1.
GAUSSIAN_MEDIAN_ABSOLUTE = norm.ppf(0.75)


def noise_level(image):
    """The standard deviation of Gaussian noise in `image`, estimated.

    The median absolute value of the image's finest diagonal wavelet coefficients
    (Daubechies 2), divided by that of unit Gaussian noise, per channel: scikit-image's
    `estimate_sigma` (Donoho and Johnstone's estimate), computing only the diagonal
    band it reads (a quarter of the full transform's bands); a blurred image has
    little fine detail to mistake for noise.

    Args:
        image: (height, width, channels) float32 in [0, 1].

    Returns:
        float, the mean over the channels.
    """
    # The channels are measured at once (`map_in_threads`).
    return float(np.mean(map_in_threads(
        _channel_noise, (image[..., channel] for channel in range(image.shape[2])))))


def _channel_noise(values):
    """`noise_level` of one (height, width) channel."""
    _, column_details = pywt.dwt(np.ascontiguousarray(values), "db2", axis=1)
    _, diagonal = pywt.dwt(column_details, "db2", axis=0)
    # Coefficients exactly 0 (flat or clipped regions) are left out, as
    # estimate_sigma does.
    magnitudes = np.abs(diagonal[diagonal != 0])
    return np.median(magnitudes) / GAUSSIAN_MEDIAN_ABSOLUTE if magnitudes.size else 0.0
