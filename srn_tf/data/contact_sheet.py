"""Contact sheets: blurred | deblurred | sharp strips, one per image, to look at."""

import cv2
import numpy as np

LABEL_HEIGHT = 20
_BACKGROUND = 255
_TEXT_COLOR = (0, 0, 0)


def contact_sheet(strips):
    """Stacks labelled strips of images side by side into one RGB image.

    Each strip becomes a white label band of `LABEL_HEIGHT` rows with its text,
    above its images placed left to right. Strips narrower than the widest are
    padded with white on the right.

    Args:
        strips: list of (label, images): label a str, images a list of
            (height, width, 3) uint8 arrays of one height, e.g.
            [blurred, deblurred, sharp].

    Returns:
        (sum of (LABEL_HEIGHT + height), max of summed widths, 3) uint8 array.
    """
    rows = []
    for label, images in strips:
        heights = {image.shape[0] for image in images}
        if len(heights) != 1:
            raise ValueError(f"contact sheet strip {label!r} mixes image heights {sorted(heights)}")
        strip = np.concatenate(images, axis=1)
        band = np.full((LABEL_HEIGHT, strip.shape[1], 3), _BACKGROUND, np.uint8)
        cv2.putText(band, label, (4, LABEL_HEIGHT - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    _TEXT_COLOR, 1, cv2.LINE_AA)
        rows.append(np.concatenate([band, strip], axis=0))
    width = max(row.shape[1] for row in rows)
    rows = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)),
                   constant_values=_BACKGROUND) for row in rows]
    return np.concatenate(rows, axis=0)
