"""Paired blurred/sharp test images: the release's data lists and GOPRO_Large's folders.

Both readers check every file before anything runs (that it exists, is an image,
and has the size of its partner, read from the file header only) and report
every problem at once, one line each, naming the file. No TensorFlow here, so a
bad test set fails in a fraction of a second.
"""

import dataclasses
import os

from PIL import Image, UnidentifiedImageError

from srn_tf.data.image_io import is_image_file

# EXIF orientations that turn an image by 90 degrees (read_image applies them).
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)


@dataclasses.dataclass(frozen=True)
class ImagePair:
    """One test image.

    Attributes:
        name: relative path naming the pair in reports and under `images/`
            (the blurred image's path as listed).
        blur_path: the blurred image file.
        sharp_path: its sharp ground truth.
    """

    name: str
    blur_path: str
    sharp_path: str


class DatasetError(ValueError):
    """A test set that cannot be evaluated; `problems` holds one line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def read_datalist(datalist, data_root=None):
    """Reads a data list in the release's format and checks every file it names.

    Each non-empty line is `sharp_path blur_path` (one space between), paths
    relative to `data_root`.

    Args:
        datalist: the list file.
        data_root: folder the paths are relative to (default: the list's folder).

    Returns:
        List of `ImagePair`, in the list's order.

    Raises:
        DatasetError: malformed lines, missing or unreadable files, pairs whose
            images differ in size; every one of them named.
    """
    datalist = os.fspath(datalist)
    if not os.path.isfile(datalist):
        raise DatasetError([f"{datalist}: no such data list"])
    if data_root is None:
        data_root = os.path.dirname(os.path.abspath(datalist))
    pairs, problems = [], []
    with open(datalist) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 2:
                problems.append(f"{datalist}:{number}: expected 'sharp_path blur_path', "
                                f"found {len(fields)} fields")
                continue
            sharp, blur = fields
            pairs.append(ImagePair(os.path.normpath(blur), os.path.join(data_root, blur),
                                   os.path.join(data_root, sharp)))
    if not pairs and not problems:
        problems.append(f"{datalist}: lists no image pairs")
    problems += check_pairs(pairs)
    if problems:
        raise DatasetError(problems)
    return pairs


def read_gopro(gopro_dir, blur_folder="blur"):
    """Lists GOPRO_Large's test pairs: `test/<scene>/{blur_folder,sharp}/<frame>.png`.

    Args:
        gopro_dir: the GOPRO_Large folder (holding `test/`).
        blur_folder: "blur" (the paper's inputs) or "blur_gamma" (the variant
            averaged in gamma-decoded space).

    Returns:
        List of `ImagePair`, scenes and frames in sorted order; names are paths
        relative to `gopro_dir` (`test/<scene>/<blur_folder>/<frame>`).

    Raises:
        DatasetError: no test folder, a scene without `blur_folder` or `sharp`, a
            blurred frame without its sharp frame, unreadable or mismatched files.
    """
    gopro_dir = os.fspath(gopro_dir)
    test_dir = os.path.join(gopro_dir, "test")
    if not os.path.isdir(test_dir):
        raise DatasetError([f"{gopro_dir}: no 'test' folder (expected GOPRO_Large's layout "
                            "test/<scene>/blur|sharp/*.png)"])
    pairs, problems = [], []
    for scene in sorted(os.listdir(test_dir)):
        scene_dir = os.path.join(test_dir, scene)
        if not os.path.isdir(scene_dir):
            continue
        blur_dir = os.path.join(scene_dir, blur_folder)
        sharp_dir = os.path.join(scene_dir, "sharp")
        missing = [folder for folder in (blur_dir, sharp_dir) if not os.path.isdir(folder)]
        if missing:
            problems += [f"{folder}: no such folder" for folder in missing]
            continue
        for frame in sorted(filter(is_image_file, os.listdir(blur_dir))):
            name = os.path.join("test", scene, blur_folder, frame)
            pairs.append(ImagePair(name, os.path.join(blur_dir, frame),
                                   os.path.join(sharp_dir, frame)))
    if not pairs and not problems:
        problems.append(f"{test_dir}: holds no blurred test images")
    problems += check_pairs(pairs)
    if problems:
        raise DatasetError(problems)
    return pairs


def _displayed_size(path):
    """(height, width) of an image file as read_image returns it; reads the header only."""
    with Image.open(path) as image:
        width, height = image.size
        orientation = image.getexif().get(0x0112, 1)
    if orientation in _TRANSPOSING_ORIENTATIONS:
        return width, height
    return height, width


def check_pairs(pairs):
    """One line per missing file, unreadable file, or pair of different sizes."""
    problems = []
    for pair in pairs:
        sizes = {}
        for path in (pair.blur_path, pair.sharp_path):
            if not os.path.isfile(path):
                problems.append(f"{path}: no such file")
                continue
            try:
                sizes[path] = _displayed_size(path)
            except (UnidentifiedImageError, OSError) as error:
                problems.append(f"{path}: cannot be read as an image ({error})")
        if len(sizes) == 2 and sizes[pair.blur_path] != sizes[pair.sharp_path]:
            problems.append(
                f"{pair.blur_path}: is {'x'.join(map(str, sizes[pair.blur_path]))} but its "
                f"sharp image {pair.sharp_path} is {'x'.join(map(str, sizes[pair.sharp_path]))}")
    return problems
