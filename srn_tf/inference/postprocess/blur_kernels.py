"""Blur kernels: estimated from a blurred image and a rough sharp one, applied, undone.

The pieces kernel refinement (`kernel_refinement`) and the test of whether one
kernel explains a whole image (`kernel_agreement`) share. A blur kernel here is a
(size, size) array summing to 1, centred (a sharp image maps to a single 1 at the
centre) and oriented for convolution; images are (height, width, channels) float
arrays. Two kinds of values are modelled: a kernel convolved with the 8-bit values,
and frames averaged in linear light (gamma 2.2), where the kernel acts on
`values ** GAMMA`.

Spectra are OpenCV's (`cv2.dft` of a real image: its packed "CCS" layout, the
height x width real numbers that hold the half of the spectrum a real image
needs), multiplied with `cv2.mulSpectrums`: OpenCV's real transforms take about
half the time of SciPy's at these sizes. NumPy, SciPy and OpenCV only.
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
    and normalised (`KernelEstimator`, which keeps `blurred`'s spectra for many
    latent images).

    Args:
        blurred: (height, width, channels) float array, the blurred image.
        latent: float array of the same shape, an estimate of the sharp image.
        size: odd kernel side in pixels.

    Returns:
        (size, size) kernel of `blurred`'s dtype summing to 1, centred (a sharp
        image maps to a single 1 at the centre), oriented for convolution.
    """
    return KernelEstimator(blurred, size)(latent)


class KernelEstimator:
    """`estimate_kernel` for one blurred image and many latent images: the blurred
    image's gradient spectra are computed once (kernel refinement estimates a
    kernel several times per scale against the same input)."""

    def __init__(self, blurred, size=KERNEL_SIZE):
        """blurred: (height, width, channels) float array; size: odd kernel side."""
        grey = channel_mean(blurred)
        self._size = size
        self._dtype = blurred.dtype
        self._shape = _fast_shape(grey.shape[0] + size, grey.shape[1] + size)
        self._blurred_spectra = [_spectrum(np.diff(grey, axis=axis), self._shape)
                                 for axis in (0, 1)]

    def __call__(self, latent):
        """latent: (height, width, channels) float array of the blurred image's shape.

        Returns: the (size, size) kernel (`estimate_kernel`)."""
        grey_latent = channel_mean(latent).astype(self._dtype, copy=False)
        numerator = denominator = 0.0
        for axis, blurred_spectrum in zip((0, 1), self._blurred_spectra):
            latent_gradient = np.diff(grey_latent, axis=axis)
            magnitude = np.abs(latent_gradient)
            strong = latent_gradient * (magnitude >= _upper_quantile(magnitude,
                                                                     1 - EDGE_FRACTION))
            latent_spectrum = _spectrum(strong, self._shape)
            numerator = numerator + cv2.mulSpectrums(blurred_spectrum, latent_spectrum, 0,
                                                     conjB=True)
            denominator = denominator + cv2.mulSpectrums(latent_spectrum, latent_spectrum, 0,
                                                         conjB=True)
        regularisation = KERNEL_REGULARISATION * _half_spectrum_mean(denominator)
        size = self._size
        if regularisation == 0:
            return _identity_kernel(size, self._dtype)
        correlation = _inverse(cv2.multiply(numerator, _reciprocal(denominator, regularisation)))
        # The centred (size, size) window of the correlation, its origin moved to the
        # middle (fftshift's), read without shifting the whole array.
        rows, columns = _wrapped_window(size, self._shape)
        kernel = np.maximum(correlation[np.ix_(rows, columns)], 0.0)
        if kernel.max() <= 0:
            return _identity_kernel(size, self._dtype)
        kernel[kernel < KERNEL_THRESHOLD * kernel.max()] = 0.0
        return (kernel / kernel.sum()).astype(self._dtype, copy=False)


def _wrapped_window(size, shape):
    """(rows, columns) indices of the (size, size) window centred on a spectrum's
    origin in an array of `shape`, wrapping around its edges (fftshift's centre,
    without shifting the array)."""
    return tuple((np.arange(size) - size // 2) % side for side in shape)


def _packed_columns(width):
    """The columns of a packed (CCS) spectrum of `width` that pack a whole column of
    frequencies along its rows: the first, and for an even width also the last."""
    return (0, width - 1) if width % 2 == 0 else (0,)


def _half_spectrum_mean(power):
    """The mean of a packed real spectrum `power` (e.g. |spectrum|^2: imaginary parts
    0) over the half of the spectrum numpy's `rfft2` stores: all rows, columns 0 to
    width // 2.

    The packed layout's inner columns hold each stored frequency once (its real
    part, then 0). Its first column (and, for an even width, its last) packs a whole
    column of frequencies the same way along the rows, where each value but row 0's
    (and, for an even height, the last row's) stands for two mirrored rows that
    `rfft2` stores both of: those count twice.
    """
    height, width = power.shape
    total = float(np.sum(power, dtype=np.float64))
    for column in _packed_columns(width):
        packed = power[:, column].astype(np.float64)
        own_mirror = packed[0] + (packed[-1] if height % 2 == 0 else 0.0)
        total += float(packed.sum()) - own_mirror
    return float(total) / (height * (width // 2 + 1))


def _spectrum(image, shape):
    """`cv2.dft` (packed CCS layout) of the 2D real `image` zero-padded to `shape`
    (padded by `cv2.copyMakeBorder` in one pass: a third of the time of filling a new
    array with zeros and copying the image in, the same values)."""
    return cv2.dft(cv2.copyMakeBorder(image, 0, shape[0] - image.shape[0],
                                      0, shape[1] - image.shape[1], cv2.BORDER_CONSTANT,
                                      value=0))


def _inverse(spectrum):
    """The real image of a packed spectrum (`_spectrum`'s inverse, scaled)."""
    return cv2.idft(spectrum, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)


def _reciprocal(power, offset):
    """The factor that divides a packed spectrum by the real spectrum `power + offset`
    (`power` e.g. `mulSpectrums(a, a, conjB=True)`, whose imaginary parts are 0),
    element by element (`cv2.multiply`): 1 / (power + offset) at each real part and
    copied to its imaginary part's place. The same products as `cv2.mulSpectrums`
    with the real spectrum (each imaginary part times 0 adds exactly 0), in less time.

    The packed layout's inner columns hold (real, imaginary) pairs side by side; its
    first column (and, for an even width, its last) packs a column of frequencies
    the same way down its rows, after row 0's real value (and before the last row's
    real value, for an even height)."""
    reciprocal = 1 / (power + power.dtype.type(offset))
    height, width = power.shape
    inner_end = width - 1 if width % 2 == 0 else width
    reciprocal[:, 2:inner_end:2] = reciprocal[:, 1:inner_end - 1:2]
    packed_end = height - 1 if height % 2 == 0 else height
    for column in _packed_columns(width):
        reciprocal[2:packed_end:2, column] = reciprocal[1:packed_end - 1:2, column]
    return reciprocal


def channel_mean(image):
    """(height, width) mean of `image`'s channels (1 to 4; `cv2.transform`, a tenth of
    the time of numpy's sums over a short last axis)."""
    channels = image.shape[2]
    return cv2.transform(image, np.full((1, channels), 1.0 / channels)).reshape(image.shape[:2])


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
        pad = (size, self._shape[0] - self._height - size,
               size, self._shape[1] - self._width - size)
        self._dtype = blurred.dtype
        self._blurred, self._latent = (
            [cv2.dft(cv2.copyMakeBorder(np.ascontiguousarray(image[..., channel], self._dtype),
                                        *pad, cv2.BORDER_REFLECT_101))
             for channel in range(image.shape[2])] for image in (blurred, latent))

    def __call__(self, kernel, weight, with_reblurred=False):
        """argmin_x |kernel * x - blurred|^2 + weight |x - latent|^2: (height, width,
        channels) of the images' dtype, not clipped.

        With `with_reblurred`, also `kernel * x` from the same spectrum (a third of
        `reblur`'s time for a 3-channel image), as `reblur` gives it wherever the
        kernel does not reach beyond the image: (x, kernel * x)."""
        size = self._size
        # The kernel placed with its centre at the origin, wrapping around.
        rows, columns = _wrapped_window(size, self._shape)
        centred = np.zeros(self._shape, self._dtype)
        centred[np.ix_(rows, columns)] = kernel
        kernel_spectrum = cv2.dft(centred)
        inverse = _reciprocal(cv2.mulSpectrums(kernel_spectrum, kernel_spectrum, 0, conjB=True),
                              weight)
        window = (slice(size, size + self._height), slice(size, size + self._width))
        restored = np.empty((self._height, self._width, len(self._blurred)), self._dtype)
        reblurred = np.empty_like(restored) if with_reblurred else None
        for channel, (blurred, latent) in enumerate(zip(self._blurred, self._latent)):
            solution = cv2.mulSpectrums(blurred, kernel_spectrum, 0, conjB=True)
            solution = cv2.scaleAdd(latent, weight, solution)
            solution = cv2.multiply(solution, inverse)
            restored[..., channel] = _inverse(solution)[window]
            if with_reblurred:
                reblurred[..., channel] = _inverse(cv2.mulSpectrums(solution, kernel_spectrum,
                                                                    0))[window]
        return (restored, reblurred) if with_reblurred else restored


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
    """`image` convolved with `kernel`, mirrored at the borders: (height, width, channels).

    The kernel is cut to the box around its non-zero values and its centre first
    (an estimated kernel has a few dozen of its 65 x 65 values set): the same sums,
    a fraction of the work."""
    flipped = kernel[::-1, ::-1]
    centre = kernel.shape[0] // 2
    rows, columns = np.nonzero(flipped)
    top, bottom = min(rows.min(initial=centre), centre), max(rows.max(initial=centre), centre)
    left, right = (min(columns.min(initial=centre), centre),
                   max(columns.max(initial=centre), centre))
    box = np.ascontiguousarray(flipped[top:bottom + 1, left:right + 1])
    blurred = cv2.filter2D(image, -1, box, anchor=(centre - left, centre - top),
                           borderType=cv2.BORDER_REFLECT)
    return blurred.reshape(image.shape)


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
