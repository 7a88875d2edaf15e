"""Kernel refinement: estimate the blur from the network's output, then deconvolve.

The bundled default model is small (a quarter of SRN's width) and its output is
only a rough sharp image; but a rough sharp image is enough to measure the blur
that made the input. Where the blur is one kernel for the whole image (camera
shake without rotation), that kernel, estimated from the output's strongest
edges against the input's gradients (as in Cho and Lee, "Fast motion
deblurring", SIGGRAPH Asia 2009), turns deblurring into a deconvolution the
network no longer has to guess: the refined image is the one that, blurred by the
kernel, gives the input, and elsewhere stays close to the network's output

    x = argmin |k * x - blurred|^2 + weight |x - deblurred|^2,

solved per channel in the Fourier domain. Both kinds of blur are tried: a kernel
convolved with the 8-bit values, and frames averaged in linear light (gamma 2.2);
the results are averaged, weighted towards the one whose deconvolution ends at the
lower cost. The kernel is estimated coarse to fine (a third, two thirds, full
size). The weight grows with the noise level measured in the input, so that noise
is not amplified. With the bundled model it gains 0.3 to 1.1 dB on noise-free
camera shake it never saw, little with noise, and -0.3 to +0.5 dB on synthetic
blur that varies a little across the image (docs/deblurring.md, "Kernel
refinement").
NumPy, SciPy and OpenCV only.
"""

import cv2
import numpy as np
from scipy import fft

from srn_tf.inference.postprocess.noise import noise_level

# Side of the estimated kernel in pixels: blur up to 32 pixels from the centre.
KERNEL_SIZE = 65
# Only the latent image's strongest gradients (this fraction) are trusted: the
# network's edges are right where its fine texture is not. (0.03 gained 0.05 to
# 0.27 dB less on noise-free unseen shake, 0.06 less still.)
EDGE_FRACTION = 0.015
# Tikhonov weight on the kernel, relative to the mean gradient power.
KERNEL_REGULARISATION = 0.1
# Kernel values below this fraction of its peak are estimation noise, set to 0.
KERNEL_THRESHOLD = 0.15
# The kernel is estimated coarse to fine: first on the images shrunk by the first
# factor, where the network's leftover blur is below a pixel and the estimate
# catches the whole path, then refined at each larger size from the deconvolution
# at the size before. (Full size alone recovers only the part of the path the
# network left, because deconvolving with that part gives the output back: it
# gained 0.04 to 0.19 dB less on noise-free unseen shake; factors 2 and 1, 0.02 to
# 0.14 dB less on three of the four sets; docs/default-model.md.)
SCALES = (3.0, 1.5, 1.0)
# Images shrunk below this side (pixels) skip that scale.
SMALLEST_SIDE = 48
# Kernel estimates and deconvolutions alternate this many times at each scale.
ITERATIONS = 3
# Weight of the network's output against the deconvolution on noise-free input,
# per kind of blur (linear light compresses dark values, so it needs more).
OUTPUT_WEIGHTS = {"8-bit": 0.03, "linear light": 0.1}
# At the coarser scales the output is pulled towards less (this factor), so that
# the next kernel comes from a sharper image.
COARSE_WEIGHT_FACTOR = 0.3
# The weight is multiplied by 1 + (noise / NOISE_SCALE)^2: noise of 0.01 (2.5
# grey levels) makes it 26 times larger, and the refinement all but vanishes; a
# noise-free 8-bit photograph reads about 0.001, 1.25 times. (0.003 gained up to
# 0.08 dB more on noise-free unseen shake but 0.15 dB less on examples/.)
NOISE_SCALE = 0.002
GAMMA = 2.2
# The two kinds' results are averaged with weights 1 / cost^BLEND_POWER (cost as
# `_refine_in` returns it): a kind twice as costly gets 1/17 of the weight. Picking
# the cheaper kind outright gained 0.04 to 0.17 dB less on three of the four
# noise-free unseen shake sets, 0.02 more on the fourth (docs/default-model.md); a
# power of 2: -0.07 to +0.06 dB.
BLEND_POWER = 4
# Pixels this far from the border are left out when the kinds of blur are compared.
RESIDUAL_MARGIN = 40


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
    grey_blurred, grey_latent = blurred.mean(axis=2), latent.mean(axis=2)
    shape = (grey_blurred.shape[0] + size, grey_blurred.shape[1] + size)
    numerator = denominator = 0.0
    for axis in (0, 1):
        blurred_gradient = np.diff(grey_blurred, axis=axis)
        latent_gradient = np.diff(grey_latent, axis=axis)
        strong = np.abs(latent_gradient) >= np.quantile(np.abs(latent_gradient), 1 - EDGE_FRACTION)
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


def _identity_kernel(size, dtype):
    kernel = np.zeros((size, size), dtype)
    kernel[size // 2, size // 2] = 1.0
    return kernel


def deconvolve(blurred, latent, kernel, weight):
    """argmin_x |kernel * x - blurred|^2 + weight |x - latent|^2, per channel.

    Both images are mirrored by the kernel's size at each border first, so that
    the Fourier domain's wrap-around does not reach the image.

    Args:
        blurred: (height, width, channels) float array.
        latent: float array of the same shape, the prior (the network's output).
        kernel: (size, size) blur kernel (`estimate_kernel`).
        weight: > 0, the prior's weight; larger stays closer to `latent`.

    Returns:
        (height, width, channels) array of `blurred`'s dtype, not clipped.
    """
    size = kernel.shape[0]
    pad = ((size, size), (size, size), (0, 0))
    blurred, latent = np.pad(blurred, pad, mode="reflect"), np.pad(latent, pad, mode="reflect")
    shape = blurred.shape[:2]
    centred = np.zeros(shape, blurred.dtype)
    centred[:size, :size] = kernel
    centred = np.roll(centred, (-(size // 2), -(size // 2)), axis=(0, 1))
    kernel_spectrum = fft.rfft2(centred, workers=-1)[..., None]
    solution = ((np.conj(kernel_spectrum) * fft.rfft2(blurred, axes=(0, 1), workers=-1)
                 + weight * fft.rfft2(latent, axes=(0, 1), workers=-1))
                / (np.abs(kernel_spectrum) ** 2 + weight))
    return fft.irfft2(solution, shape, axes=(0, 1), workers=-1)[size:-size, size:-size]


def reblur(image, kernel):
    """`image` convolved with `kernel`, mirrored at the borders: (height, width, channels)."""
    flipped = np.ascontiguousarray(kernel[::-1, ::-1])
    return np.stack([cv2.filter2D(image[..., channel], -1, flipped, borderType=cv2.BORDER_REFLECT)
                     for channel in range(image.shape[2])], axis=-1)


_TO_DOMAIN = {"8-bit": lambda image: image,
              "linear light": lambda image: np.clip(image, 0.0, 1.0) ** GAMMA}
_FROM_DOMAIN = {"8-bit": lambda image: image,
                "linear light": lambda image: np.clip(image, 0.0, 1.0) ** (1 / GAMMA)}


def _shrink(image, factor):
    """`image` (height, width, channels) reduced by `factor` by pixel-area averaging."""
    if factor == 1:
        return image
    height, width = image.shape[:2]
    shape = (max(1, round(height / factor)), max(1, round(width / factor)))
    return _resize(image, shape, cv2.INTER_AREA)


def _resize(image, shape, interpolation=cv2.INTER_LINEAR):
    """`image` (h, w, channels) resampled to `shape` (height, width), channels kept."""
    resized = cv2.resize(image, (shape[1], shape[0]), interpolation=interpolation)
    return resized.reshape(shape[0], shape[1], image.shape[2])


def _scales(shape):
    """The shrink factors of `SCALES` that leave both sides at least `SMALLEST_SIDE`."""
    return [factor for factor in SCALES
            if factor == 1 or min(shape[:2]) / factor >= SMALLEST_SIDE]


def _refine_in(domain, blurred, deblurred, weight):
    """(refined image in [0, 1] values, its relative cost).

    The cost is what the last deconvolution minimised, `|k * x - blurred|^2 +
    weight |x - deblurred|^2` per pixel, in the domain's values and as a fraction
    of `blurred`'s variance there, so that the two kinds of values compare.
    """
    to_domain, from_domain = _TO_DOMAIN[domain], _FROM_DOMAIN[domain]
    blurred_in, deblurred_in = to_domain(blurred), to_domain(deblurred)
    refined = None
    for factor in _scales(blurred.shape):
        blurred_scaled, deblurred_scaled = _shrink(blurred_in, factor), _shrink(deblurred_in, factor)
        shape = blurred_scaled.shape
        refined = deblurred_scaled if refined is None else _resize(refined, shape[:2])
        size = int((KERNEL_SIZE - 1) / factor) | 1
        scaled_weight = weight * (COARSE_WEIGHT_FACTOR if factor > 1 else 1.0)
        for _ in range(ITERATIONS):
            kernel = estimate_kernel(blurred_scaled, refined, size)
            refined = deconvolve(blurred_scaled, deblurred_scaled, kernel, scaled_weight)
    margin = min(RESIDUAL_MARGIN, blurred.shape[0] // 4, blurred.shape[1] // 4)
    window = (slice(margin, blurred.shape[0] - margin), slice(margin, blurred.shape[1] - margin))
    cost = (np.mean((reblur(refined, kernel) - blurred_in)[window] ** 2)
            + weight * np.mean((refined - deblurred_in)[window] ** 2))
    return from_domain(refined), cost / max(float(np.var(blurred_in[window])), 1e-12)


def refine_with_kernel(blurred, deblurred):
    """`deblurred` refined by the blur kernel estimated from it and `blurred`.

    Args:
        blurred: (height, width, channels) float32 in [0, 1], the model's input.
        deblurred: float32 array of the same shape, the model's output.

    Returns:
        float32 array of that shape (not clipped): the deconvolutions in the two
        kinds of blur (8-bit and linear light), averaged with weights `1 /
        cost^BLEND_POWER`, so the cheaper kind dominates.
    """
    if blurred.shape != deblurred.shape:
        raise ValueError(f"blurred {blurred.shape} and deblurred {deblurred.shape} differ in shape")
    blurred, deblurred = blurred.astype(np.float32), deblurred.astype(np.float32)
    noise_factor = 1.0 + (noise_level(blurred) / NOISE_SCALE) ** 2
    candidates = [_refine_in(domain, blurred, deblurred, weight * noise_factor)
                  for domain, weight in OUTPUT_WEIGHTS.items()]
    least_cost = max(min(cost for _, cost in candidates), 1e-12)
    shares = [(least_cost / max(cost, 1e-12)) ** BLEND_POWER for _, cost in candidates]
    return (sum(share * refined for share, (refined, _) in zip(shares, candidates))
            / sum(shares)).astype(np.float32)
