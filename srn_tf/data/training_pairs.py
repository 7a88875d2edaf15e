"""Training pairs: the release's list format, GOPRO's folders, and checks before a run.

A pair is (sharp_path, blur_path), in that order, as the release's lists write them.
Everything here works on file names and image headers only, so that a run with a
bad list stops in seconds with every problem listed, not hours later at the first
unreadable image.
"""

import glob
import os
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

# What tf.io.decode_image reads (the training pipeline's decoder).
DECODABLE_FORMATS = ("PNG", "JPEG", "BMP", "GIF")


class PairListError(ValueError):
    """A pair list or the images it names cannot be trained on.

    Attributes:
        problems: one line per problem, each naming the file (or list line).
    """

    def __init__(self, problems, summary):
        self.problems = list(problems)
        super().__init__(summary + "\n" + "\n".join(self.problems))


def read_pair_list(list_path, data_root=None):
    """Reads a release-style list: one `sharp_path blur_path` pair per line.

    Args:
        list_path: the list file (e.g. the release's `datalist_gopro.txt`).
        data_root: folder that relative paths are resolved against; by default the
            list file's folder. Absolute paths are kept.

    Returns:
        List of (sharp_path, blur_path) pairs, in file order.

    Raises:
        PairListError: the list is missing or empty, or lines do not hold two paths
            (every such line is named).
    """
    list_path = os.fspath(list_path)
    if not os.path.isfile(list_path):
        raise PairListError([f"{list_path}: no such list file"], "cannot read the pair list")
    root = os.path.dirname(os.path.abspath(list_path)) if data_root is None else data_root
    pairs, problems = [], []
    with open(list_path) as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) != 2:
                problems.append(
                    f"{list_path}:{number}: expected 'sharp_path blur_path', got {line!r}")
                continue
            pairs.append(tuple(os.path.join(root, field) for field in fields))
    if problems:
        raise PairListError(problems, f"{len(problems)} malformed line(s) in {list_path}")
    if not pairs:
        raise PairListError([f"{list_path}: lists no image pairs"], "empty pair list")
    return pairs


def gopro_pairs(gopro_dir, split="train"):
    """Lists GOPRO_Large pairs: `<split>/<scene>/{sharp,blur}/<frame>.png`.

    Args:
        gopro_dir: the GOPRO_Large folder (holding `train/`), or the split folder itself.
        split: "train" or "test".

    Returns:
        (sharp_path, blur_path) pairs sorted by scene and frame; a blurred frame
        without its sharp twin is kept so that `check_pairs` reports it.
    """
    gopro_dir = os.fspath(gopro_dir)
    split_dir = os.path.join(gopro_dir, split)
    if not os.path.isdir(split_dir):
        split_dir = gopro_dir
    blurred = sorted(glob.glob(os.path.join(split_dir, "*", "blur", "*.png")))
    if not blurred:
        raise PairListError(
            [f"{gopro_dir}: no <scene>/blur/*.png under {split_dir}"],
            "not a GOPRO_Large folder")
    return [(os.path.join(os.path.dirname(os.path.dirname(path)), "sharp",
                          os.path.basename(path)), path) for path in blurred]


def _image_header(path):
    """Returns ((height, width), None) from the file header, or (None, problem)."""
    if not os.path.isfile(path):
        return None, f"{path}: no such file"
    try:
        with Image.open(path) as image:
            if image.format not in DECODABLE_FORMATS:
                return None, (f"{path}: {image.format} images are not supported "
                              f"(use {', '.join(DECODABLE_FORMATS)})")
            width, height = image.size
    except (OSError, SyntaxError, ValueError) as error:
        return None, f"{path}: unreadable image ({error})"
    return (height, width), None


def check_pairs(pairs, crop_size, num_threads=16):
    """Checks that every pair can be trained on, reading image headers only.

    A pair is usable when both files exist and are PNG/JPEG/BMP/GIF images, the two
    have the same height and width, and both sides are at least `crop_size`.

    Args:
        pairs: (sharp_path, blur_path) pairs.
        crop_size: side of the square training crop.
        num_threads: header reads in flight (file system latency, not CPU, bounds this).

    Raises:
        PairListError: listing every problem, one line each, naming the file.
    """
    if not pairs:
        raise PairListError(["the pair list is empty"], "no image pairs to train on")
    paths = sorted({path for pair in pairs for path in pair})
    with ThreadPoolExecutor(num_threads) as pool:
        headers = dict(zip(paths, pool.map(_image_header, paths)))
    problems = [problem for _, problem in headers.values() if problem]
    for sharp, blur in pairs:
        sharp_size, blur_size = headers[sharp][0], headers[blur][0]
        if sharp_size is None or blur_size is None:
            continue
        if sharp_size != blur_size:
            problems.append(f"{blur}: is {blur_size[0]}x{blur_size[1]} but its sharp image "
                            f"{sharp} is {sharp_size[0]}x{sharp_size[1]}")
        elif min(sharp_size) < crop_size:
            problems.append(f"{blur}: is {blur_size[0]}x{blur_size[1]}, smaller than the "
                            f"{crop_size}x{crop_size} crop")
    if problems:
        raise PairListError(
            problems, f"{len(problems)} problem(s) in {len(pairs)} training pair(s)")
