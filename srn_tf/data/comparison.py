"""Side-by-side views of blurred inputs and their deblurred results, to look at.

`srn-deblur --side_by_side=FILE.png` collects one strip per image as it goes
(input | result, shrunk to a modest height so a folder of large photos stays a
small file) and writes them as one contact sheet at the end.
"""

import cv2

from srn_tf.data.contact_sheet import contact_sheet
from srn_tf.data.image_io import as_rgb8

STRIP_HEIGHT = 360


def comparison_strip(blurred, deblurred, max_height=STRIP_HEIGHT):
    """[blurred, deblurred] as uint8 RGB (`as_rgb8`), both shrunk (area) to at most
    `max_height` rows. Both are (height, width, channels) uint8 or uint16 arrays."""
    images = [as_rgb8(blurred), as_rgb8(deblurred)]
    height, width = images[0].shape[:2]
    if height > max_height:
        size = (max(1, round(width * max_height / height)), max_height)
        images = [cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in images]
    return images


def side_by_side(strips):
    """One sheet from (label, [blurred, deblurred]) strips: `contact_sheet` with a header."""
    return contact_sheet([(f"{label}: blurred | deblurred", images) for label, images in strips])
