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
is not amplified.

One kernel for the whole image is wrong where the blur varies across it (a camera
rolling, an object moving, depth): there the deconvolution cost up to 4 dB
against the network's own output. `refine_with_kernel` therefore first asks
`kernel_agreement` whether one kernel explains the image and refines only as far
as it does; it keeps a share of the change that grows with the input's noise
(`refined_share`) and then clips the result to the range of the network's output
around each pixel (`keep_share`; ringing, where the kernel is wrong for a region,
overshoots that range); `refine_with_one_kernel` is the refinement alone.
Measured in docs/deblurring.md and docs/real-photographs.md. The kernel pieces are
`blur_kernels`'.
"""

import cv2
import numpy as np

from srn_tf.inference.postprocess.blur_kernels import (FROM_DOMAIN, KERNEL_SIZE, TO_DOMAIN,
                                                       Deconvolution, KernelEstimator,
                                                       channel_mean, resize, shrink)
from srn_tf.inference.postprocess.kernel_agreement import refinement_share
from srn_tf.inference.postprocess.noise import noise_level
from srn_tf.inference.postprocess.threads import map_in_threads

# Shrink factors, coarse to fine: at a third the network's leftover blur is under a
# pixel, so the first estimate catches the whole camera path; full size alone finds
# only the part the network left (docs/deblurring.md, "Kernel refinement").
SCALES = (3.0, 1.5, 1.0)
# Images shrunk below this side (pixels) skip that scale: too few edges for a kernel.
SMALLEST_SIDE = 48
# Estimate-and-deconvolve passes per scale: once at full size, where the kernel
# barely changes and a pass costs the most.
ITERATIONS = {3.0: 3, 1.5: 3, 1.0: 1}
# Weight of the network's output against the deconvolution on noise-free input, per
# kind of blur (linear light compresses dark values, so it needs more).
OUTPUT_WEIGHTS = {"8-bit": 0.03, "linear light": 0.1}
# At the coarser scales the weight is multiplied by this, so that the next kernel
# comes from a sharper image.
COARSE_WEIGHT_FACTOR = 0.3
# The weight is multiplied by 1 + (noise / NOISE_SCALE)^2: 1.1 on a noise-free 8-bit
# photograph (noise about 0.001), 12 at noise 0.01, so the deconvolution does not
# amplify the noise.
NOISE_SCALE = 0.003
# The two kinds' results are averaged with weights 1 / cost^BLEND_POWER: a kind
# twice as costly gets 1/17 of the weight, so the kind that made the input dominates.
BLEND_POWER = 4
# Pixels this far from the border are left out when the kinds' costs are compared.
RESIDUAL_MARGIN = 40
# The share of the refinement's change kept (times the agreement's) grows linearly
# with the input's noise from CLEAN_SHARE to NOISY_SHARE at NOISY_LEVEL: on clean
# input the loosely held deconvolution follows any error of the kernel, on noisy
# input its heavier weight already holds it close to the output (docs/deblurring.md).
CLEAN_SHARE = 0.2
NOISY_SHARE = 1.2
NOISY_LEVEL = 0.01
# Side of the square around each pixel whose range of the network's output the
# result is clipped to (`within_local_range`): a right kernel steepens edges within
# it, a kernel wrong for a region rings beyond it.
RANGE_WINDOW = 5


def _scales(shape):
    """The shrink factors of `SCALES` that leave both sides at least `SMALLEST_SIDE`."""
    return [factor for factor in SCALES
            if factor == 1 or min(shape[:2]) / factor >= SMALLEST_SIDE]


def _refine_in(domain, blurred, deblurred, weight):
    """(refined image in [0, 1] values, its relative cost, the last kernel).

    The cost is what the last deconvolution minimised, `|k * x - blurred|^2 +
    weight |x - deblurred|^2` per pixel, in the domain's values and as a fraction
    of `blurred`'s variance there, so that the two kinds of values compare.

    Kernels are estimated from the channels' mean (`estimate_kernel`), and the mean
    of the channels' deconvolutions is the deconvolution of their means (every step
    is linear per channel): so every pass before the last deconvolves only the
    mean, a third of the transforms, and the last deconvolves the channels.
    """
    to_domain, from_domain = TO_DOMAIN[domain], FROM_DOMAIN[domain]
    blurred_in, deblurred_in = to_domain(blurred), to_domain(deblurred)
    grey_blurred, grey_deblurred = (channel_mean(image)[..., None]
                                    for image in (blurred_in, deblurred_in))
    latent = None
    for factor in _scales(blurred.shape):
        blurred_scaled = shrink(grey_blurred, factor)
        deblurred_scaled = shrink(grey_deblurred, factor)
        shape = blurred_scaled.shape
        latent = deblurred_scaled if latent is None else resize(latent, shape[:2])
        size = int((KERNEL_SIZE - 1) / factor) | 1
        scaled_weight = weight * (COARSE_WEIGHT_FACTOR if factor > 1 else 1.0)
        estimator = KernelEstimator(blurred_scaled, size)
        deconvolution = None
        for iteration in range(ITERATIONS[factor]):
            kernel = estimator(latent)
            if factor == 1 and iteration == ITERATIONS[factor] - 1:
                break
            if deconvolution is None:
                deconvolution = Deconvolution(blurred_scaled, deblurred_scaled, size)
            latent = deconvolution(kernel, scaled_weight)
    refined, reblurred = Deconvolution(blurred_in, deblurred_in, KERNEL_SIZE)(
        kernel, weight, with_reblurred=True)
    margin = min(RESIDUAL_MARGIN, blurred.shape[0] // 4, blurred.shape[1] // 4)
    window = (slice(margin, blurred.shape[0] - margin), slice(margin, blurred.shape[1] - margin))
    cost = (_mean_square_difference(reblurred[window], blurred_in[window])
            + weight * _mean_square_difference(refined[window], deblurred_in[window]))
    return from_domain(refined), cost / max(_variance(blurred_in[window]), 1e-12), kernel


def _mean_square_difference(first, second):
    """The mean of `(first - second) ** 2` over two (height, width, channels) float32
    arrays (`cv2.norm`: one pass summing in float64, a fifth of numpy's time)."""
    return cv2.norm(first, second, cv2.NORM_L2SQR) / first.size


def _variance(image):
    """The variance of all of the (height, width, channels) `image`'s values, from its
    channels' means and standard deviations (`cv2.meanStdDev`, in float64: a sixth of
    `np.var`'s time)."""
    means, deviations = (values.ravel() for values in cv2.meanStdDev(image))
    return float(np.mean(deviations ** 2 + means ** 2) - np.mean(means) ** 2)


def refine_with_one_kernel(blurred, deblurred):
    """`deblurred` refined by the one blur kernel estimated from it and `blurred`,
    whether or not one kernel explains the image.

    Args:
        blurred: (height, width, channels) float32 in [0, 1], the model's input.
        deblurred: float32 array of the same shape, the model's output.

    Returns:
        float32 array of that shape (not clipped): the deconvolutions in the two
        kinds of blur (8-bit and linear light), averaged with weights `1 /
        cost^BLEND_POWER`, so the cheaper kind dominates.
    """
    _check_shapes(blurred, deblurred)
    blurred, deblurred = blurred.astype(np.float32), deblurred.astype(np.float32)
    return _refine(blurred, deblurred, noise_level(blurred))


def _candidates(blurred, deblurred, noise, at_once=True):
    """Per kind of blur: (kind, deconvolution weight, refined image, cost, kernel),
    and the kinds' blending shares (`BLEND_POWER`). With `at_once` the kinds are
    refined at once (`map_in_threads`; twice the working memory), else in turn."""
    noise_factor = 1.0 + (noise / NOISE_SCALE) ** 2

    def candidate(kind):
        domain, weight = kind
        return (domain, weight * noise_factor,
                *_refine_in(domain, blurred, deblurred, weight * noise_factor))

    kinds = OUTPUT_WEIGHTS.items()
    candidates = (map_in_threads(candidate, kinds) if at_once
                  else [candidate(kind) for kind in kinds])
    least_cost = max(min(candidate[3] for candidate in candidates), 1e-12)
    shares = [(least_cost / max(candidate[3], 1e-12)) ** BLEND_POWER for candidate in candidates]
    return candidates, shares


def _refine(blurred, deblurred, noise):
    """`refine_with_one_kernel` for float32 images and the input's noise level."""
    candidates, shares = _candidates(blurred, deblurred, noise)
    return (sum(share * candidate[2] for share, candidate in zip(shares, candidates))
            / sum(shares)).astype(np.float32)


def kernel_plan(blurred, deblurred, noise):
    """What `refine_with_one_kernel` found on `blurred` and `deblurred` (a crop of
    a big image), to apply to other parts of that image (`refine_with_plan`).

    Args:
        blurred, deblurred: (height, width, channels) float32, as for
            `refine_with_one_kernel`.
        noise: the whole input's `noise_level`.

    Returns:
        list of (kind of blur, kernel, deconvolution weight, blending share).
    """
    # In turn: the streamed plan keeps its memory within the bound it promises.
    candidates, shares = _candidates(blurred, deblurred, noise, at_once=False)
    return [(domain, kernel, weight, share)
            for (domain, weight, _, _, kernel), share in zip(candidates, shares)]


def refine_with_plan(blurred, deblurred, plan, share):
    """`deblurred` refined with the kernels of `kernel_plan`, as `refine_with_kernel`
    refines a whole image: the kinds' deconvolutions blended, `share` of the change
    kept, then clipped `within_local_range` of `deblurred` (`keep_share`).

    The deconvolution reaches beyond the kernel, so a part of an image is refined
    with a margin of its neighbours around it (`streamed.REFINE_MARGIN`).

    Args:
        blurred, deblurred: (height, width, channels) float32, a part of the images.
        plan: `kernel_plan`'s list.
        share: the agreement's share times `refined_share` of the noise.

    Returns:
        float32 array of that shape (not clipped to [0, 1]).
    """
    refined = sum(share_of_kind * FROM_DOMAIN[domain](
                      Deconvolution(TO_DOMAIN[domain](blurred), TO_DOMAIN[domain](deblurred),
                                    kernel.shape[0])(kernel, weight))
                  for domain, kernel, weight, share_of_kind in plan)
    return keep_share(refined / sum(entry[3] for entry in plan), deblurred, share)


def keep_share(refined, deblurred, share):
    """`deblurred` plus `share` of the change to `refined`, kept `within_local_range`
    of `deblurred`.

    The clip comes after the share, so the result never leaves the output's local
    range, even where the share is above 1 (on noisy input, `refined_share`).

    Args:
        refined, deblurred: (height, width, channels) float32 arrays.
        share: float >= 0, the fraction of the change kept.

    Returns:
        float32 array of that shape.
    """
    kept = (deblurred + np.float32(share) * (refined - deblurred)).astype(np.float32)
    return within_local_range(kept, deblurred)


def refined_share(noise):
    """The share of the refinement's change kept at an input noise level (`CLEAN_SHARE`
    to `NOISY_SHARE`, linear in the noise up to `NOISY_LEVEL`)."""
    return CLEAN_SHARE + (NOISY_SHARE - CLEAN_SHARE) * min(noise / NOISY_LEVEL, 1.0)


def within_local_range(refined, deblurred, window=RANGE_WINDOW):
    """`refined` clipped, per pixel and channel, to the range of `deblurred` over the
    `window` x `window` square around it.

    Args:
        refined, deblurred: (height, width, channels) float32 arrays.
        window: odd side of the square in pixels.

    Returns:
        float32 array of that shape.
    """
    # OpenCV's erosion and dilation take the channels at once; its min and max
    # clip in half of numpy's time.
    square = np.ones((window, window), np.uint8)
    low, high = (operation(deblurred, square, borderType=cv2.BORDER_REFLECT)
                 .reshape(deblurred.shape) for operation in (cv2.erode, cv2.dilate))
    return cv2.min(cv2.max(refined, low), high).reshape(refined.shape)


def refine_with_kernel(blurred, deblurred, noise=None):
    """`deblurred` refined by the blur kernel estimated from it and `blurred`, as far
    as one kernel explains the image (`kernel_agreement.refinement_share`).

    Args:
        blurred: (height, width, channels) float32 in [0, 1], the model's input.
        deblurred: float32 array of the same shape, the model's output.
        noise: `noise_level(blurred)` where the caller has it already (denoising
            needs it too); estimated here when None.

    Returns:
        float32 array of that shape (not clipped to [0, 1]): `deblurred` plus the
        agreement's share times `refined_share` of the input's noise times the
        change of `refine_with_one_kernel`, then clipped `within_local_range` of
        `deblurred` (`keep_share`);
        `deblurred` itself, without the cost of a refinement, where the blur
        varies across the image.
    """
    _check_shapes(blurred, deblurred)
    blurred, deblurred = blurred.astype(np.float32), deblurred.astype(np.float32)
    agreement = refinement_share(blurred, deblurred)
    if agreement == 0.0:
        return deblurred
    if noise is None:
        noise = noise_level(blurred)
    return keep_share(_refine(blurred, deblurred, noise), deblurred,
                      agreement * refined_share(noise))


def _check_shapes(blurred, deblurred):
    if blurred.shape != deblurred.shape:
        raise ValueError(f"blurred {blurred.shape} and deblurred {deblurred.shape} differ in shape")
