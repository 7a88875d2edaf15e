"""Writes sharp/blurred PNG pairs and a release-style list, for smoke runs and benchmarks.

    python benchmarks/synthetic_pairs.py --output=/tmp/smoke_pairs --count=8 --height=256 --width=256

Sharp images are crops of scikit-image's bundled photographs (no download); the
blurred twin is the sharp image convolved with a random linear motion kernel.
"""

import argparse
import os

import cv2
import numpy as np
from skimage import data

PHOTOGRAPHS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")


def motion_kernel(rng, length=15):
    """A normalised line of `length` pixels at a random angle."""
    kernel = np.zeros((length, length), np.float32)
    angle = rng.uniform(0, np.pi)
    centre = (length - 1) / 2
    for t in np.linspace(-centre, centre, 4 * length):
        x = int(round(centre + t * np.cos(angle)))
        y = int(round(centre + t * np.sin(angle)))
        kernel[y, x] = 1.0
    return kernel / kernel.sum()


def write_pairs(output, count, height, width, seed=0):
    """Writes `count` pairs as output/{sharp,blur}/NNNN.png and output/list.txt.

    Returns:
        The list file's path (its paths are relative to `output`).
    """
    rng = np.random.default_rng(seed)
    for folder in ("sharp", "blur"):
        os.makedirs(os.path.join(output, folder), exist_ok=True)
    lines = []
    for index in range(count):
        photo = getattr(data, PHOTOGRAPHS[index % len(PHOTOGRAPHS)])()
        sharp = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
        blur = cv2.filter2D(sharp, -1, motion_kernel(rng), borderType=cv2.BORDER_REFLECT)
        name = f"{index:04d}.png"
        for folder, image in (("sharp", sharp), ("blur", blur)):
            cv2.imwrite(os.path.join(output, folder, name), image[..., ::-1])
        lines.append(f"sharp/{name} blur/{name}")
    list_path = os.path.join(output, "list.txt")
    with open(list_path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return list_path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="folder to write the pairs into")
    parser.add_argument("--count", type=int, default=8, help="number of pairs")
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(write_pairs(args.output, args.count, args.height, args.width, args.seed))


if __name__ == "__main__":
    main()
