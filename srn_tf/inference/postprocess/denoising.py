"""Output denoising: remove the sensor noise a deblurred image still carries.

A blurred photograph carries the sensor's noise, and the bundled default model
passes most of it through to its output (trained on pairs with noise of 0.01 and
noise-free targets, it still leaves about that much). Wavelet shrinkage
(scikit-image's `denoise_wavelet`, BayesShrink, on YCbCr, with `WAVELET`) with
the noise level estimated from the blurred input (`noise.noise_level`, the median
absolute value of its finest wavelet coefficients) takes it out; on a
noise-free input the estimate is about the 8-bit rounding and the image comes back
all but unchanged (docs/deblurring.md, "Output denoising").

`denoise_output` runs `denoise_wavelet(..., convert2ycbcr=True)`'s steps with the
colour conversions and each channel's scaling done by OpenCV on float32 (a third
of the time scikit-image's NumPy steps took around the same wavelet transforms).
"""

import cv2
import numpy as np
from skimage.restoration import denoise_wavelet

from srn_tf.inference.postprocess.noise import noise_level
from srn_tf.inference.postprocess.threads import map_in_threads

# Daubechies' least-asymmetric wavelet with 4 vanishing moments: 0.05 to 0.1 dB more
# than scikit-image's default Haar wavelet on noisy uniform shake (docs/deblurring.md,
# "Output denoising").
WAVELET = "sym4"


# RGB in [0, 1] to YCbCr (ITU-R BT.601, Y in [16, 235] less its offset), as
# scikit-image's rgb2ycbcr converts; the offsets leave the wavelet details unchanged.
YCBCR_FROM_RGB = np.array([[65.481, 128.553, 24.966],
                           [-37.797, -74.203, 112.0],
                           [112.0, -93.786, -18.214]])


def denoise_output(blurred, deblurred, noise=None):
    """`deblurred` with noise of the level estimated in `blurred` removed.

    Args:
        blurred: (height, width, channels) float32 in [0, 1], the model's input.
        deblurred: float32 array of the same shape, the model's output.
        noise: `noise_level(blurred)` where the caller has it already; estimated
            here when None.

    Returns:
        float32 array of that shape, clipped to [0, 1].
    """
    if blurred.shape != deblurred.shape:
        raise ValueError(f"blurred {blurred.shape} and deblurred {deblurred.shape} differ in shape")
    if noise is None:
        noise = noise_level(blurred)
    image = np.clip(deblurred, 0.0, 1.0).astype(np.float32, copy=False)
    colour = image.shape[-1] == 3
    to_channels = YCBCR_FROM_RGB if colour else np.eye(image.shape[-1])
    # Each channel's noise after the conversion (scikit-image's rescaling of sigma).
    sigmas = noise * np.sqrt(np.sum(to_channels ** 2, axis=1))
    converted = cv2.transform(image, to_channels).reshape(image.shape)
    # The channels are denoised at once (`map_in_threads`).
    denoised = np.stack(map_in_threads(_denoise_channel, zip(
        (converted[..., channel] for channel in range(converted.shape[-1])), sigmas)),
        axis=-1)
    if colour:
        denoised = cv2.transform(denoised, np.linalg.inv(YCBCR_FROM_RGB)).reshape(image.shape)
    return np.clip(denoised, 0.0, 1.0).astype(np.float32)


def _denoise_channel(channel_and_sigma):
    """(values, sigma) -> `values` ((height, width) float32) with noise of standard
    deviation `sigma` removed (BayesShrink, `WAVELET`), as `denoise_wavelet` does
    each channel."""
    values, sigma = channel_and_sigma
    values = np.ascontiguousarray(values)
    # Each channel scaled to [0, 1] first, as scikit-image does: its BayesShrink
    # thresholds are bounded by the float32 epsilon in those units.
    low, high = cv2.minMaxLoc(values)[:2]
    scale = high - low
    if scale == 0:
        return values
    unit = (values - np.float32(low)) * np.float32(1.0 / scale)
    result = denoise_wavelet(unit, sigma=sigma / scale, wavelet=WAVELET,
                             method="BayesShrink", mode="soft", rescale_sigma=True)
    return (result * np.float32(scale) + np.float32(low)).astype(np.float32, copy=False)
