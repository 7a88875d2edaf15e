"""Paired blurred/sharp images: the release's data lists, GOPRO_Large's folders, and their checks.

One reader per layout, for training and evaluation alike:

  * `read_datalist`: the release's lists (`datalist_gopro.txt`), one
    `sharp_path blur_path` pair per line;
  * `read_gopro`: GOPRO_Large's `<split>/<scene>/{blur,sharp}/<frame>.png`.

Both check every file before anything runs (`check_pairs`: that it exists, is an
image within the pixel limit, and has the size and channels of its partner, read
from the file header only, `image_header.read_header`) and
report every problem at once, one line each, naming the file, in one
`PairListError`. No TensorFlow here, so a bad list fails in seconds, not hours
into a run at the first unreadable image.

Training checks more than evaluation: its pipeline decodes with
`tf.io.decode_image` (PNG, JPEG, BMP, GIF; no TIFF) and ignores EXIF
orientation, and its crops need both sides of an image to be at least the crop.
The `min_side`, `formats` and `exif_orientation` options say so; `TRAINING_CHECKS`
holds the last two as the trainer passes them.
"""

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor

from srn_tf.data.image_io import (DEFAULT_MAX_MEGAPIXELS, is_image_file, pixel_limit_error,
                                  read_header)

# What tf.io.decode_image reads (the training pipeline's decoder).
DECODABLE_FORMATS = ("PNG", "JPEG", "BMP", "GIF")
# The checks that match the training pipeline's decoder (add min_side=crop_size).
TRAINING_CHECKS = {"formats": DECODABLE_FORMATS, "exif_orientation": False}
GOPRO_SPLITS = ("train", "test")
_CHANNEL_NAMES = {1: "gray", 3: "RGB", 4: "RGBA"}


@dataclasses.dataclass(frozen=True)
class ImagePair:
    """One blurred image and its sharp ground truth.

    Attributes:
        name: relative path naming the pair in reports and under `images/`
            (the blurred image's path as listed, or relative to GOPRO_Large).
        blur_path: the blurred image file.
        sharp_path: its sharp ground truth.
    """

    name: str
    blur_path: str
    sharp_path: str


class PairListError(ValueError):
    """A pair list, or the images it names, cannot be used.

    The message is `summary` (when given) followed by the problems, one a line.

    Attributes:
        problems: one line per problem, each naming the file (or list line).
    """

    def __init__(self, problems, summary=None):
        self.problems = list(problems)
        lines = ([summary] if summary else []) + self.problems
        super().__init__("\n".join(lines))


def read_datalist(datalist, data_root=None, *, min_side=None, formats=None,
                  exif_orientation=True, num_threads=16, max_megapixels=DEFAULT_MAX_MEGAPIXELS,
                  check=True):
    """Reads a list in the release's format and checks every file it names.

    Each non-empty line is `sharp_path blur_path` (whitespace between). Relative
    paths resolve against `data_root`; absolute paths are kept.

    Args:
        datalist: the list file (e.g. the release's `datalist_gopro.txt`).
        data_root: folder the paths are relative to (default: the list's folder).
        min_side, formats, exif_orientation, num_threads, max_megapixels: as in
            `check_pairs`.
        check: check the files' headers (`check_pairs`); False: only the list
            itself, the files left to `usable_pairs` (srn-eval).

    Returns:
        List of `ImagePair`, in the list's order.

    Raises:
        PairListError: a missing or empty list, malformed lines, missing or
            unreadable files, pairs whose images differ in size (and with the
            options, images too small or of another format); every one named.
    """
    datalist = os.fspath(datalist)
    if not os.path.isfile(datalist):
        raise PairListError([f"{datalist}: no such data list"], "cannot read the pair list")
    if data_root is None:
        data_root = os.path.dirname(os.path.abspath(datalist))
    data_root = os.fspath(data_root)
    pairs, problems = [], []
    with open(datalist) as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) != 2:
                problems.append(f"{datalist}:{number}: expected 'sharp_path blur_path', "
                                f"found {len(fields)} fields: {line!r}")
                continue
            sharp, blur = fields
            pairs.append(ImagePair(os.path.normpath(blur), os.path.join(data_root, blur),
                                   os.path.join(data_root, sharp)))
    if not pairs and not problems:
        problems.append(f"{datalist}: lists no image pairs")
    if check:
        problems += _pair_problems(pairs, min_side=min_side, formats=formats,
                                   exif_orientation=exif_orientation, num_threads=num_threads,
                                   max_megapixels=max_megapixels)
    if problems:
        raise PairListError(problems, f"{len(problems)} problem(s) in {datalist}")
    return pairs


def read_gopro(gopro_dir, *, split="test", blur_folder="blur", min_side=None, formats=None,
               exif_orientation=True, num_threads=16, max_megapixels=DEFAULT_MAX_MEGAPIXELS,
               check=True):
    """Lists GOPRO_Large's pairs, `<split>/<scene>/{blur_folder,sharp}/<frame>`, checked.

    Args:
        gopro_dir: the GOPRO_Large folder (holding `<split>/`), or the split folder
            itself (a folder named `split`, e.g. `GOPRO_Large/train`).
        split: "train" or "test".
        blur_folder: "blur" (the paper's inputs) or "blur_gamma" (the variant
            averaged in gamma-decoded space); another name is looked for as given.
        min_side, formats, exif_orientation, num_threads, max_megapixels: as in
            `check_pairs`.
        check: as in `read_datalist`.

    Returns:
        List of `ImagePair`, scenes and frames in sorted order; names are paths
        relative to GOPRO_Large (`<split>/<scene>/<blur_folder>/<frame>`).

    Raises:
        ValueError: `split` is not one of the above.
        PairListError: no split folder, a scene without `blur_folder` or `sharp`,
            a blurred frame without its sharp frame, unreadable or mismatched
            files (and with the options, images too small or of another format).
    """
    if split not in GOPRO_SPLITS:
        raise ValueError(f"split must be one of {GOPRO_SPLITS}. Received: {split!r}")
    gopro_dir = os.fspath(gopro_dir)
    split_dir = os.path.join(gopro_dir, split)
    if not os.path.isdir(split_dir) and os.path.basename(os.path.normpath(gopro_dir)) == split:
        split_dir = gopro_dir
    if not os.path.isdir(split_dir):
        raise PairListError([f"{gopro_dir}: no '{split}' folder (expected GOPRO_Large's "
                             f"layout {split}/<scene>/blur|sharp/*.png)"],
                            "not a GOPRO_Large folder")
    pairs, problems = [], []
    for scene in sorted(os.listdir(split_dir)):
        scene_dir = os.path.join(split_dir, scene)
        if not os.path.isdir(scene_dir):
            continue
        blur_dir = os.path.join(scene_dir, blur_folder)
        sharp_dir = os.path.join(scene_dir, "sharp")
        missing = [folder for folder in (blur_dir, sharp_dir) if not os.path.isdir(folder)]
        if missing:
            problems += [f"{folder}: no such folder" for folder in missing]
            continue
        for frame in sorted(filter(is_image_file, os.listdir(blur_dir))):
            name = os.path.join(split, scene, blur_folder, frame)
            pairs.append(ImagePair(name, os.path.join(blur_dir, frame),
                                   os.path.join(sharp_dir, frame)))
    if not pairs and not problems:
        problems.append(f"{split_dir}: holds no blurred images "
                        f"(<scene>/{blur_folder}/*.png)")
    if check:
        problems += _pair_problems(pairs, min_side=min_side, formats=formats,
                                   exif_orientation=exif_orientation, num_threads=num_threads,
                                   max_megapixels=max_megapixels)
    if problems:
        raise PairListError(problems, f"{len(problems)} problem(s) in {split_dir}")
    return pairs


def _image_header(path, formats, exif_orientation, max_megapixels):
    """((height, width, channels), None) from the file header, or (None, problem)."""
    try:
        header = read_header(path)
    except (OSError, ValueError) as error:
        return None, str(error)
    kind = "JPEG" if header.format == "MPO" else header.format  # MPO: a JPEG and more
    if formats is not None and kind not in formats:
        return None, f"{path}: {kind} images are not supported (use {', '.join(formats)})"
    if formats is None and (not is_image_file(path) or kind == "GIF"):
        return None, f"{path}: not a PNG, JPEG, BMP, WebP or TIFF file"
    problem = pixel_limit_error(path, header, max_megapixels)
    if problem:
        return None, problem
    height, width = (header.height, header.width) if exif_orientation else header.stored_size
    return (height, width, header.channels), None


def _pair_problems(pairs, **checks):
    """The problems `check_pairs` raises, as a list (empty when every pair is usable)."""
    return usable_pairs(pairs, **checks)[1]


def usable_pairs(pairs, *, min_side=None, formats=None, exif_orientation=True,
                 num_threads=16, max_megapixels=DEFAULT_MAX_MEGAPIXELS):
    """Splits `pairs` into those `check_pairs` accepts and one line per problem of the rest.

    srn-eval scores the usable pairs and reports the others, so one bad file does
    not stop the evaluation of a test set (it says over how many pairs its means are).

    Args:
        pairs: `ImagePair`s.
        min_side, formats, exif_orientation, num_threads, max_megapixels: as in
            `check_pairs`.

    Returns:
        (usable pairs in their order, problems): a file in several pairs is named
        once; a pair with a problem is left out of the first list.
    """
    paths = list(dict.fromkeys(path for pair in pairs
                               for path in (pair.blur_path, pair.sharp_path)))
    with ThreadPoolExecutor(max(1, num_threads)) as pool:
        headers = dict(zip(paths, pool.map(
            lambda path: _image_header(path, formats, exif_orientation, max_megapixels),
            paths)))
    usable, problems, reported = [], [], set()
    for pair in pairs:
        for path in (pair.blur_path, pair.sharp_path):
            problem = headers[path][1]
            if problem and path not in reported:
                reported.add(path)
                problems.append(problem)
        blur_size, sharp_size = headers[pair.blur_path][0], headers[pair.sharp_path][0]
        if blur_size is None or sharp_size is None:
            continue
        if blur_size[:2] != sharp_size[:2]:
            problems.append(
                f"{pair.blur_path}: is {blur_size[0]}x{blur_size[1]} but its sharp image "
                f"{pair.sharp_path} is {sharp_size[0]}x{sharp_size[1]}")
        elif blur_size[2] != sharp_size[2]:
            problems.append(
                f"{pair.blur_path}: is {_channels(blur_size[2])} but its sharp image "
                f"{pair.sharp_path} is {_channels(sharp_size[2])}")
        elif min_side is not None and min(blur_size[:2]) < min_side:
            problems.append(f"{pair.blur_path}: is {blur_size[0]}x{blur_size[1]}, smaller "
                            f"than the {min_side}x{min_side} crop")
        else:
            usable.append(pair)
    return usable, problems


def _channels(count):
    return f"{_CHANNEL_NAMES.get(count, count)} ({count} channel{'s' if count > 1 else ''})"


def check_pairs(pairs, *, min_side=None, formats=None, exif_orientation=True, num_threads=16,
                max_megapixels=DEFAULT_MAX_MEGAPIXELS):
    """Checks that every pair can be read, reading image headers only.

    A pair is usable when both files exist and are images (of `formats`, when
    given) of at most `max_megapixels`, of the same height, width and channels
    (gray, RGB or RGBA: a gray blurred image is not scored against an RGB sharp
    one), both sides at least `min_side` (when given). A file in several pairs
    is reported once.

    Args:
        pairs: `ImagePair`s.
        min_side: least height and width (the training crop); None: any.
        formats: PIL format names the reader decodes (`DECODABLE_FORMATS` for
            the training pipeline); None: any image PIL identifies (evaluation's
            `read_image` reads TIFF too).
        exif_orientation: compare sizes as `read_image` returns them, turned by
            their EXIF orientation; False: as stored, as `tf.io.decode_image`
            (the training pipeline) returns them.
        num_threads: header reads in flight (file system latency, not CPU, bounds this).
        max_megapixels: the most pixels (millions) an image may have (srn-eval's
            --max_megapixels); None: no limit of ours.

    Raises:
        PairListError: no pairs, or every problem, one line each, in list order,
            naming the file.
    """
    if not pairs:
        raise PairListError(["the pair list is empty"], "no image pairs")
    problems = _pair_problems(pairs, min_side=min_side, formats=formats,
                             exif_orientation=exif_orientation, num_threads=num_threads,
                             max_megapixels=max_megapixels)
    if problems:
        raise PairListError(problems,
                            f"{len(problems)} problem(s) in {len(pairs)} image pair(s)")
