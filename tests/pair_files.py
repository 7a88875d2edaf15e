"""Tiny image pairs on disk, for the training tests."""

import os

import cv2
import numpy as np


def write_image(path, array):
    """Writes an (h, w, 3) uint8/uint16 RGB array as PNG (cv2 wants BGR)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.ascontiguousarray(array[..., ::-1]))


def write_random_pairs(folder, count, height=32, width=32, seed=0):
    """Writes `count` random sharp images and blurred twins, and `folder/list.txt`.

    Returns:
        (list_path, blurs, sharps): the RGB uint8 arrays, in list order.
    """
    rng = np.random.default_rng(seed)
    lines, blurs, sharps = [], [], []
    for index in range(count):
        sharp = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        blur = cv2.blur(sharp, (5, 5))
        write_image(os.path.join(folder, f"sharp_{index}.png"), sharp)
        write_image(os.path.join(folder, f"blur_{index}.png"), blur)
        lines.append(f"sharp_{index}.png blur_{index}.png")
        blurs.append(blur)
        sharps.append(sharp)
    list_path = os.path.join(folder, "list.txt")
    with open(list_path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return list_path, blurs, sharps


def write_constant_pairs(folder, values, height=32, width=32):
    """Pairs whose images are constant: pair k has value values[k] (for order tests)."""
    lines = []
    for index, value in enumerate(values):
        image = np.full((height, width, 3), value, np.uint8)
        for kind in ("sharp", "blur"):
            write_image(os.path.join(folder, f"{kind}_{index}.png"), image)
        lines.append(f"sharp_{index}.png blur_{index}.png")
    list_path = os.path.join(folder, "list.txt")
    with open(list_path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return list_path
