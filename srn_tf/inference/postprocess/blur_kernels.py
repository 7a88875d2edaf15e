"""Blur kernels: estimated from a blurred image and a rough sharp one, applied, undone.

The pieces kernel refinement (`kernel_refinement`) and the test of whether one
kernel explains a whole image (`kernel_agreement`) share. A blur kernel here is a
(size, size) array summing to 1, centred (a sharp image maps to a single 1 at the
centre) and oriented for convolution; images are (height, width, channels) float
arrays. Two kinds of values are modelled: a kernel convolved with the 8-bit values,
and frames averaged in linear light (gamma 2.2), where the kernel acts on
`values ** GAMMA`. NumPy, SciPy and OpenCV only.
"""

import cv2
import numpy as np
from scipy import fft

# Side of the estimated kernel in pixels: blur up to 32 pixels from the centre.
KERNEL_SIZE = 65
# Only the latent image's strongest gradients (this fraction) are trusted: the
# network's edges are right where its fine texture is not.
EDGE_FRACTION = 0.015
# Tikhonov weight on the kernel, relative to the mean gradient power.
KERNEL_REGULARISATION = 0.1
# Kernel values below this fraction of its peak are estimation noise, set to 0.
KERNEL_THRESHOLD = 0.15
# Exponent from 8-bit values to linear light, where frames are averaged (sRGB's
# approximate curve, as srn-synth renders).
GAMMA = 2.2


def estimate_kernel(blurred, latent, size=KERNEL_SIZE):
    """The blur kernel that best maps `latent`'s strongest edges onto `blurred`.

    Least squares on the gradients of the channel means, regularised, then
    clipped to non-negative values, cleared below `KERNEL_THRESHOLD` of its peak
    and normalised.

    Args:
        blurred: (height, width, channels) float array, the blurred image.
        latent: float array of the same shape, an estimate of the sharp image.
        size: odd kernel side in pixels.

    Returns:
        (size, size) kernel of `blurred`'s dtype summing to 1, centred (a sharp
        image maps to a single 1 at the centre), oriented for convolution.
    """
    grey_blurred, grey_latent = channel_mean(blurred), channel_mean(latent)
    shape = _fast_shape(grey_blurred.shape[0] + size, grey_blurred.shape[1] + size)
    numerator = denominator = 0.0
    for axis in (0, 1):
        blurred_gradient = np.diff(grey_blurred, axis=axis)
        latent_gradient = np.diff(grey_latent, axis=axis)
        strong = np.abs(latent_gradient) >= _upper_quantile(np.abs(latent_gradient),
                                                            1 - EDGE_FRACTION)
        blurred_spectrum = fft.rfft2(blurred_gradient, shape, workers=-1)
        latent_spectrum = fft.rfft2(latent_gradient * strong, shape, workers=-1)
        numerator = numerator + np.conj(latent_spectrum) * blurred_spectrum
        denominator = denominator + np.abs(latent_spectrum) ** 2
    regularisation = KERNEL_REGULARISATION * denominator.mean()
    if regularisation == 0:
        return _identity_kernel(size, blurred.dtype)
    kernel = fft.fftshift(fft.irfft2(numerator / (denominator + regularisation), shape, workers=-1))
    top, left = shape[0] // 2 - size // 2, shape[1] // 2 - size // 2
    kernel = np.maximum(kernel[top:top + size, left:left + size], 0.0)
    if kernel.max() <= 0:
        return _identity_kernel(size, blurred.dtype)
    kernel[kernel < KERNEL_THRESHOLD * kernel.max()] = 0.0
    return kernel / kernel.sum()


def channel_mean(image):
    """(height, width) mean of `image`'s channels (summed channel by channel: numpy's
    mean over a short last axis is several times slower)."""
    return sum(image[..., channel] for channel in range(image.shape[2])) / image.shape[2]


def _upper_quantile(values, fraction):
    """The least of `values` at or above numpy's linear `quantile(values, fraction)`:
    the same pixels pass `>=` against it, found by a partial sort instead of a whole
    one."""
    flat = values.ravel()
    index = min(int(np.ceil(fraction * (flat.size - 1))), flat.size - 1)
    return np.partition(flat, index)[index]


def _identity_kernel(size, dtype):
    kernel = np.zeros((size, size), dtype)
    kernel[size // 2, size // 2] = 1.0
    return kernel


def _fast_shape(height, width):
    """The smallest (height, width) at least as large whose real FFTs are fast (sides
    of small prime factors: a side like 1410 = 2 x 3 x 5 x 47 is several times slower)."""
    return fft.next_fast_len(height, real=True), fft.next_fast_len(width, real=True)


class Deconvolution:
    """`deconvolve` for one pair of images and many kernels of one size: the images'
    spectra are computed once.

    Both images are mirrored by the kernel's size at each border (and a little more,
    to a fast FFT size), so that the Fourier domain's wrap-around does not reach the
    image.
    """

    def __init__(self, blurred, latent, size):
        """blurred, latent: (height, width, channels) float arrays; size: odd kernel side."""
        self._height, self._width = blurred.shape[:2]
        self._size = size
        self._shape = _fast_shape(self._height + 2 * size, self._width + 2 * size)
        pad = ((size, self._shape[0] - self._height - size),
               (size, self._shape[1] - self._width - size), (0, 0))
        self._dtype = blurred.dtype
        self._blurred = fft.rfft2(np.pad(blurred, pad, mode="reflect"), axes=(0, 1), workers=-1)
        self._latent = fft.rfft2(np.pad(latent, pad, mode="reflect"), axes=(0, 1), workers=-1)

    def __call__(self, kernel, weight):
        """argmin_x |kernel * x - blurred|^2 + weight |x - latent|^2: (height, width,
        channels) of the images' dtype, not clipped."""
        size = self._size
        centred = np.zeros(self._shape, self._dtype)
        centred[:size, :size] = kernel
        centred = np.roll(centred, (-(size // 2), -(size // 2)), axis=(0, 1))
        kernel_spectrum = fft.rfft2(centred, workers=-1)[..., None]
        solution = ((np.conj(kernel_spectrum) * self._blurred + weight * self._latent)
                    / (np.abs(kernel_spectrum) ** 2 + weight))
        restored = fft.irfft2(solution, self._shape, axes=(0, 1), workers=-1)
        return restored[size:size + self._height, size:size + self._width]


def deconvolve(blurred, latent, kernel, weight):
    """argmin_x |kernel * x - blurred|^2 + weight |x - latent|^2, per channel
    (`Deconvolution`).

    Args:
        blurred: (height, width, channels) float array.
        latent: float array of the same shape, the prior (the network's output).
        kernel: (size, size) blur kernel (`estimate_kernel`).
        weight: > 0, the prior's weight; larger stays closer to `latent`.

    Returns:
        (height, width, channels) array of `blurred`'s dtype, not clipped.
    """
    return Deconvolution(blurred, latent, kernel.shape[0])(kernel, weight)


def reblur(image, kernel):
    """`image` convolved with `kernel`, mirrored at the borders: (height, width, channels)."""
    flipped = np.ascontiguousarray(kernel[::-1, ::-1])
    return np.stack([cv2.filter2D(image[..., channel], -1, flipped, borderType=cv2.BORDER_REFLECT)
                     for channel in range(image.shape[2])], axis=-1)


TO_DOMAIN = {"8-bit": lambda image: image,
              "linear light": lambda image: np.clip(image, 0.0, 1.0) ** GAMMA}
FROM_DOMAIN = {"8-bit": lambda image: image,
                "linear light": lambda image: np.clip(image, 0.0, 1.0) ** (1 / GAMMA)}


def shrink(image, factor):
    """`image` (height, width, channels) reduced by `factor` by pixel-area averaging."""
    if factor == 1:
        return image
    height, width = image.shape[:2]
    shape = (max(1, round(height / factor)), max(1, round(width / factor)))
    return resize(image, shape, cv2.INTER_AREA)


def resize(image, shape, interpolation=cv2.INTER_LINEAR):
    """`image` (h, w, channels) resampled to `shape` (height, width), channels kept."""
    resized = cv2.resize(image, (shape[1], shape[0]), interpolation=interpolation)
    return resized.reshape(shape[0], shape[1], image.shape[2])
