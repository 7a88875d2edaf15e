"""Models and images the benchmarks share.

No trained weights can be downloaded here, so the benchmarks run either a
checkpoint given with --checkpoint or a stand-in of the release's size:

- "xavier": the release's color network with its own random initialisation. Its
  output is saturated noise (98% of values clipped), the worst case for tiling.
- "image_like": the same network with a residual output and every kernel scaled
  by 0.6, so the output is the input plus a correction of about 0.05 (0.5% of
  values clipped), the way a deblurring model's output looks.
"""

import cv2
import keras
import numpy as np
import skimage.data

import srn_tf

PROXIES = ("image_like", "xavier")
IMAGE_LIKE_KERNEL_SCALE = 0.6


def load_benchmark_model(checkpoint=None, proxy="image_like", model_type="color", seed=0,
                         dtype=None):
    """A checkpoint's model, or a stand-in (see the module docstring)."""
    if checkpoint:
        return srn_tf.load_model(checkpoint, dtype=dtype)
    keras.utils.set_random_seed(seed)
    model = srn_tf.build_model(model_type, residual_output=proxy == "image_like", dtype=dtype)
    if proxy == "image_like":
        for weight in model.weights:
            if len(weight.shape) == 4:
                weight.assign(weight * IMAGE_LIKE_KERNEL_SCALE)
    return model


def centre_crop(image, shape=(512, 512)):
    """The centre (height, width) = `shape` crop of a (height, width, channels) image, its
    first three channels, contiguous."""
    height, width = image.shape[:2]
    top, left = (height - shape[0]) // 2, (width - shape[1]) // 2
    return np.ascontiguousarray(image[top:top + shape[0], left:left + shape[1], :3])


def motion_blur(image, length=11, angle_degrees=30.0):
    """Blurs a float image with a straight motion of `length` pixels."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    centre = (length / 2 - 0.5, length / 2 - 0.5)
    rotation = cv2.getRotationMatrix2D(centre, angle_degrees, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    kernel /= kernel.sum()
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


def blurred_photo(name="coffee", height=720, width=1280):
    """An skimage.data photograph resized (bicubic) to height x width and motion-blurred.

    Returns:
        (height, width, 3) float32 array in [0, 1].
    """
    photo = getattr(skimage.data, name)().astype(np.float32) / 255.0
    photo = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(motion_blur(photo), 0.0, 1.0)
