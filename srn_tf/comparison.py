"""Side-by-side views of blurred inputs and their deblurred results, to look at.

`srn-deblur --side_by_side=FILE.png` collects one strip per image as it goes
(input | result, shrunk to a modest height so a folder of large photos stays a
small file) and writes them as one contact sheet at the end.
"""

import cv2
import numpy as np

from srn_tf.contact_sheet import contact_sheet

STRIP_HEIGHT = 360


def display_rgb(image):
    """Any image `read_image` returns as uint8 RGB (height, width, 3) for viewing.

    uint16 keeps its top 8 bits, float in [0, 1] is scaled, gray is repeated into
    three channels and alpha is dropped.
    """
    image = np.asarray(image)
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def comparison_strip(blurred, deblurred, max_height=STRIP_HEIGHT):
    """[blurred, deblurred] as uint8 RGB, both shrunk (area) to at most `max_height` rows."""
    images = [display_rgb(blurred), display_rgb(deblurred)]
    height, width = images[0].shape[:2]
    if height > max_height:
        size = (max(1, round(width * max_height / height)), max_height)
        images = [cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in images]
    return images


def side_by_side(strips):
    """One sheet from (label, [blurred, deblurred]) strips: `contact_sheet` with a header."""
    return contact_sheet([(f"{label}: blurred | deblurred", images) for label, images in strips])
