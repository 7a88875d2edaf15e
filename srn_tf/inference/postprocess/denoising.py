"""Output denoising: remove the sensor noise a deblurred image still carries.

A blurred photograph carries the sensor's noise, and the bundled default model
passes most of it through to its output (trained on pairs with noise of 0.01 and
noise-free targets, it still leaves about that much). Wavelet shrinkage
(scikit-image's `denoise_wavelet`, BayesShrink, on YCbCr, with `WAVELET`) with
the noise level estimated from the blurred input (`estimate_sigma`, the median
absolute deviation of its finest wavelet coefficients) takes it out; on a
noise-free input the estimate is about the 8-bit rounding and the image comes back
all but unchanged (docs/deblurring.md, "Output denoising").
"""

import numpy as np
from skimage.restoration import denoise_wavelet

from srn_tf.inference.postprocess.noise import noise_level

# Daubechies' least-asymmetric wavelet with 4 vanishing moments: 0.05 to 0.1 dB more
# than scikit-image's default Haar wavelet on noisy uniform shake (docs/deblurring.md,
# "Output denoising").
WAVELET = "sym4"


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
    denoised = denoise_wavelet(np.clip(deblurred, 0.0, 1.0), sigma=noise,
                               wavelet=WAVELET, method="BayesShrink", mode="soft", channel_axis=-1,
                               convert2ycbcr=deblurred.shape[-1] == 3, rescale_sigma=True)
    return np.clip(denoised, 0.0, 1.0).astype(np.float32)
