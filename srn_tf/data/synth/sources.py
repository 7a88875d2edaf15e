"""The sharp images pairs are made from: a folder, scikit-image's photos, dead leaves.

A source is a list of `SharpSource`s, each a scene name (the file's stem, used as
the scene folder) and a loader returning uint8 RGB (height, width, 3). Folders are
checked before anything is written: each image is decoded once (through
`image_io.read_image`, the package's one decoder, within a pixel limit), and one
that does not decode is left out with a one-line reason naming it and what is
wrong, so the dataset is made from the others and the caller reports the rest.
"""

import dataclasses
import os
from typing import Callable

import numpy as np

from srn_tf.data import image_io
from srn_tf.data.synth import dead_leaves

IMAGE_EXTENSIONS = image_io.EXTENSIONS

# The photographs that ship inside scikit-image (no download needed): scene
# name -> function of skimage.data returning it. Gray photographs are repeated
# into three channels: blur acts on each channel alike, and their edges and
# textures add variety the five colour photographs alone lack. Synthetic,
# microscopy, medical and astronomical images are left out, as are `page` and `text`
# (smaller than 256 pixels) and `clock`,
# which is already motion-blurred: camera shake on a sharp natural scene is what
# GOPRO records.
SKIMAGE_PHOTOS = {
    "astronaut": lambda data: data.astronaut(),
    "brick": lambda data: data.brick(),
    "camera": lambda data: data.camera(),
    "chelsea": lambda data: data.chelsea(),
    "coffee": lambda data: data.coffee(),
    "coins": lambda data: data.coins(),
    "grass": lambda data: data.grass(),
    "gravel": lambda data: data.gravel(),
    "moon": lambda data: data.moon(),
    "motorcycle": lambda data: data.stereo_motorcycle()[0],
    "rocket": lambda data: data.rocket(),
}


@dataclasses.dataclass(frozen=True)
class SharpSource:
    """One sharp image: its scene name, size, and a function that loads it as uint8 RGB."""

    name: str
    height: int
    width: int
    load: Callable[[], np.ndarray]


class SourceError(ValueError):
    """A source folder or image that cannot be used; the message is one line."""


def read_rgb(path, max_megapixels=image_io.DEFAULT_MAX_MEGAPIXELS):
    """Reads an image file as uint8 RGB (height, width, 3): 16 bits rounded to 8, gray
    repeated, alpha dropped, EXIF orientation applied (`image_io.read_image`, refusing
    more than `max_megapixels` million pixels from the header).

    Raises:
        SourceError: the file cannot be read; one line naming it and what is wrong.
    """
    try:
        image = image_io.read_image(path, max_megapixels)
    except (OSError, ValueError) as error:
        raise SourceError(image_io.one_line(error)) from None
    if image.dtype == np.uint16:
        image = np.round(image / 257.0).astype(np.uint8)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def folder_sources(directory, max_megapixels=image_io.DEFAULT_MAX_MEGAPIXELS):
    """The images of a folder (not its subfolders), sorted by name, each checked to decode.

    Returns:
        (sources, unreadable): the `SharpSource`s of the images that decode, and
        one line per image that does not ("<path>: <what is wrong>"), left out.

    Raises:
        SourceError: the folder is missing or holds no images, two images share a
            stem, or no image decodes (every file named, with what is wrong).
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise SourceError(f"{directory}: no such folder")
    names = sorted(name for name in os.listdir(directory)
                   if name.lower().endswith(IMAGE_EXTENSIONS)
                   and os.path.isfile(os.path.join(directory, name)))
    if not names:
        raise SourceError(f"{directory}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder")
    stems = {}
    for name in names:
        stems.setdefault(os.path.splitext(name)[0], []).append(name)
    clashes = [" and ".join(files) for files in stems.values() if len(files) > 1]
    if clashes:
        raise SourceError(f"{directory}: images share a scene name: {'; '.join(clashes)}")
    sources, unreadable = [], []
    for name in names:
        path = os.path.join(directory, name)
        try:
            image = read_rgb(path, max_megapixels)
        except SourceError as error:
            unreadable.append(str(error))
            continue
        sources.append(SharpSource(
            os.path.splitext(name)[0], image.shape[0], image.shape[1],
            lambda path=path: read_rgb(path, max_megapixels)))
    if not sources:
        reasons = "; ".join(reason.removeprefix(directory + os.sep) for reason in unreadable)
        raise SourceError(f"{directory}: none of its {len(names)} images can be read: {reasons}")
    return sources, unreadable


def skimage_sources():
    """scikit-image's photographs (`SKIMAGE_PHOTOS`) as uint8 RGB, sorted by name."""
    import skimage.data

    sources = []
    for name, load in sorted(SKIMAGE_PHOTOS.items()):
        image = load(skimage.data)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        image = np.ascontiguousarray(image[..., :3])
        sources.append(SharpSource(name, image.shape[0], image.shape[1], lambda image=image: image))
    return sources


def dead_leaves_sources(count, size, seed, texture_fraction=0.0, photo_fraction=0.0,
                        photos=()):
    """`count` procedural dead-leaves images (`dead_leaves.dead_leaves_image`), uint8 RGB.

    Scene `dead_leaves_NNN` is drawn from `numpy.random.default_rng([seed, 2, NNN])`
    when loaded, so the same seed gives the same images, and a larger `count`
    leaves the first images unchanged. `texture_fraction` is the share of textured
    leaves, `photo_fraction` the share cut from the `photos` (`SharpSource`s,
    loaded once, when the first image is drawn; see `dead_leaves.LeafParameters`).
    """
    parameters = dead_leaves.LeafParameters(texture_fraction=texture_fraction,
                                            photo_fraction=photo_fraction)
    loaded_photos = []

    def draw(index):
        if photo_fraction and not loaded_photos:
            loaded_photos.extend(photo.load() for photo in photos)
        return dead_leaves.dead_leaves_image(np.random.default_rng([seed, 2, index]), size,
                                             parameters, loaded_photos)

    return [SharpSource(dead_leaves_name(index), size, size, lambda index=index: draw(index))
            for index in range(count)]


def dead_leaves_name(index):
    """The scene name of dead-leaves image number `index`."""
    return f"dead_leaves_{index:03d}"
