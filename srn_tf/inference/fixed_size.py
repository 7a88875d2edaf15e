"""The release's fixed-size test mode (`--height/--width`), step for step.

The release ran every image through one placeholder of height x width: portrait
images were transposed to landscape, images larger than the placeholder shrunk
(bicubic) to fit, edge-padded at the bottom and right, run, converted to
integers, cropped, enlarged back (bicubic) when they had been shrunk, and
transposed back. The release resized with `scipy.misc.imresize(..., 'bicubic')`,
which is gone from scipy; for uint8 images it handed the array unchanged to PIL's
`Image.resize(..., BICUBIC)`, and so does this module, so 8-bit images reproduce
the release's resizing exactly. 16-bit images, which the release could not read,
are resized per channel in PIL's float mode with the same filter.
"""

import numpy as np
from PIL import Image

from srn_tf.inference.deblur import deblur_image


def _resize(image, height, width):
    """PIL bicubic resize of a (h, w, c) uint8 or uint16 image to (height, width, c).

    uint8 RGB and gray go through PIL as `scipy.misc.imresize` sent them (modes
    RGB and L); uint16 goes one channel at a time in mode F, rounded back.
    """
    size = (width, height)
    if image.dtype == np.uint8:
        planes = image if image.shape[2] == 3 else image[:, :, 0]
        resized = np.asarray(Image.fromarray(planes).resize(size, Image.BICUBIC))
        return resized.reshape(height, width, image.shape[2])
    channels = [np.asarray(Image.fromarray(image[:, :, c].astype(np.float32)).resize(
        size, Image.BICUBIC)) for c in range(image.shape[2])]
    return np.clip(np.round(np.stack(channels, axis=-1)), 0, 65535).astype(np.uint16)


def deblur_fixed_size(model, image, height, width, options=None, precision="auto"):
    """Deblurs `image` through a height x width input, as the release's test mode.

    Args:
        model: an `SRNDeblurNet` or `SavedModelRunner`.
        image: (h, w, channels) uint8 or uint16 array, channels 1, 3 or 4 (alpha is
            passed through unchanged, never resized).
        height, width: the release's `--height/--width`, multiples of the
            model's size multiple; the
            image is transposed first if it is portrait, so they describe the
            landscape orientation.
        options, precision: as for `deblur_image` (options None: the model's own).

    Returns:
        The deblurred image, same shape and dtype as `image`.
    """
    multiple = model.size_multiple
    if height % multiple or width % multiple or height < multiple or width < multiple:
        raise ValueError(f"height and width must be positive multiples of {multiple}. "
                         f"Received: height={height}, width={width}")
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError("the fixed-size mode takes uint8 or uint16 images, as the release "
                         f"read them. Received dtype {image.dtype}")
    alpha = image[:, :, 3:] if image.shape[2] == 4 else None
    colour = image[:, :, :3] if alpha is not None else image
    portrait = colour.shape[0] > colour.shape[1]
    if portrait:
        colour = np.swapaxes(colour, 0, 1)
    h, w = colour.shape[:2]
    shrunk = h > height or w > width
    if shrunk:
        scale = min(height / h, width / w)
        h_fit, w_fit = int(h * scale), int(w * scale)
        colour = _resize(colour, h_fit, w_fit)
    else:
        h_fit, w_fit = h, w
    padded = np.pad(colour, ((0, height - h_fit), (0, width - w_fit), (0, 0)), mode="edge")
    result = deblur_image(model, padded, options, precision)[:h_fit, :w_fit]
    if shrunk:
        result = _resize(result, h, w)
    if portrait:
        result = np.ascontiguousarray(np.swapaxes(result, 0, 1))
    if alpha is not None:
        result = np.concatenate([result, alpha], axis=-1)
    return result
