"""The noise level of a blurred input: what denoising removes and what holds back
kernel refinement's deconvolution, which would amplify it."""

from skimage.restoration import estimate_sigma


def noise_level(image):
    """The standard deviation of Gaussian noise in `image`, estimated.

    The median absolute deviation of the image's finest wavelet coefficients
    (scikit-image's `estimate_sigma`); a blurred image has little fine detail to
    mistake for noise.

    Args:
        image: (height, width, channels) float32 in [0, 1].

    Returns:
        float, the mean over the channels.
    """
    return float(estimate_sigma(image, channel_axis=-1, average_sigmas=True))
