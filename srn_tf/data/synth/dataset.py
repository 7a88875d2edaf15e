"""Writes a GOPRO_Large-style dataset of blurred/sharp pairs and its data lists.

Layout under the output folder (one scene per source image, as GOPRO has one
scene per video):

    train/<scene>/blur/000000.png    train/<scene>/sharp/000000.png    ...
    test/<scene>/blur/000000.png     test/<scene>/sharp/000000.png     ...
    train_list.txt                   test_list.txt (when there is a test split)
    synth_config.json                every parameter, the seed and the split

Each list line is `sharp_path blur_path`, relative to the output folder: the
original release's data-list format. Every file is written to a temporary name
and renamed, so an interrupted run never leaves a truncated image or list.
Pairs are reproducible: scene `s` draws from `numpy.random.default_rng([seed, 1,
crc32(s)])`, so the same seed gives byte-identical files, and adding a source
image does not change the pairs of the others.
"""

import collections
import os
import zlib

import cv2
import numpy as np

from srn_tf.atomic_files import atomic_file, write_json, write_text
from srn_tf.data import image_io
from srn_tf.data.synth import render, sources, spatially_varying, trajectory

# The kinds a pair can be blurred with: blur alike everywhere, or varying across
# the image (`spatially_varying`). "mixed" draws one of DRAWN_BLUR_KINDS for each
# pair, "mixed_spatial" one of the spatially varying kinds.
DRAWN_BLUR_KINDS = ("trajectory", "shake", "linear")
BLUR_KINDS = DRAWN_BLUR_KINDS + spatially_varying.SPATIAL_KINDS + ("mixed", "mixed_spatial")
# The camera responses a pair can be averaged through; "mixed" draws one of
# DRAWN_RESPONSES for each pair: averaging in linear light as GOPRO did, or
# on the encoded values, as a blur kernel convolved with an 8-bit photograph does.
DRAWN_RESPONSES = ("gamma", "linear")
RESPONSES = render.RESPONSES + ("mixed",)
# Sharp images the package can draw on without a folder (`sources`).
BUILT_IN_SOURCES = ("skimage", "dead_leaves")
TRAIN_LIST = "train_list.txt"
TEST_LIST = "test_list.txt"
CONFIG_FILE = "synth_config.json"


def write_png(image, path):
    """Writes uint8 RGB (height, width, 3) as a PNG; the same pixels give the same bytes."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    with atomic_file(path) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(encoded.tobytes())


def split_scenes(names, seed, test_fraction=0.0, test_names=()):
    """Chooses the held-out scenes: `test_names` if given, else a seeded random fraction.

    With a fraction, round(fraction * n) scenes are held out, at least one when
    there are two or more scenes and at most n - 1, so neither split is empty
    unless only one scene exists (then all of it trains).

    Returns:
        (train names, test names), each sorted; no name is in both.
    """
    names = sorted(names)
    if test_names:
        unknown = sorted(set(test_names) - set(names))
        if unknown:
            raise ValueError(f"test images not among the sources: {', '.join(unknown)} "
                             f"(sources: {', '.join(names)})")
        test = sorted(set(test_names))
        if len(test) == len(names):
            raise ValueError("every source image is a test image; none is left for training")
    elif test_fraction > 0 and len(names) > 1:
        count = min(len(names) - 1, max(1, round(test_fraction * len(names))))
        order = np.random.default_rng([seed, 0]).permutation(len(names))
        test = sorted(names[i] for i in order[:count])
    else:
        test = []
    return [name for name in names if name not in test], test


def scene_rng(seed, name):
    """The random generator of one scene, independent of the other scenes."""
    return np.random.default_rng([seed, 1, zlib.crc32(name.encode("utf-8"))])


def base_scale(height, width, max_side):
    """The shrink factor that fits the longer side into `max_side` (1 if it fits or 0)."""
    return min(1.0, max_side / max(height, width)) if max_side else 1.0


def make_pair(image, rng, path_parameters, response, noise_sigma, blur_kind, crop_size,
              max_side, min_scale, highlight_gain=0.0, jpeg_quality=0):
    """One (sharp, blurred, blur length) from a sharp image: rescale, crop, blur.

    Args:
        image: uint8 RGB (height, width, 3).
        rng: the scene's `numpy.random.Generator`.
        path_parameters: a `trajectory.PathParameters`.
        response: a `render.CameraResponse`, or a tuple of them to draw one
            from uniformly for this pair.
        noise_sigma: sensor noise, [0, 1] units.
        blur_kind: "trajectory" (burst along a smooth curved path, with
            rotation), "shake" (burst along a jittery hand-shake path),
            "linear" (a straight kernel), one of `spatially_varying.SPATIAL_KINDS`
            (the longest pixel path drawn like a path length; rendered on the
            crop with a margin of that length around it, so the crop's edges
            blur real surroundings), "mixed" (one of the first three, drawn
            uniformly for each pair) or "mixed_spatial" (one of the spatially
            varying kinds, drawn likewise).
        crop_size: side of a random square crop, 0 for the whole image.
        max_side: shrink so the longer side is at most this, 0 for no limit.
        min_scale: further random shrink, uniform in [min_scale, 1].
        highlight_gain: brightening of near-white pixels before averaging,
            clipped after (`render.boost_highlights`); the sharp image is the
            middle frame brightened and clipped alike. 0 for none.
        jpeg_quality: JPEG quality (1 to 100) of the blurred image, 0 for none.

    Returns:
        sharp uint8 (h, w, 3), blurred uint8 (h, w, 3) aligned with it, and the
        path length (for the spatially varying kinds the longest pixel path) in
        pixels.
    """
    height, width = image.shape[:2]
    scale = base_scale(height, width, max_side) * rng.uniform(min_scale, 1.0)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        height, width = image.shape[:2]
    out_height, out_width = (crop_size, crop_size) if crop_size else (height, width)
    offset = (int(rng.integers(0, width - out_width + 1)),
              int(rng.integers(0, height - out_height + 1)))
    sharp = image[offset[1]:offset[1] + out_height, offset[0]:offset[0] + out_width]
    if blur_kind == "mixed":
        blur_kind = DRAWN_BLUR_KINDS[int(rng.integers(0, len(DRAWN_BLUR_KINDS)))]
    elif blur_kind == "mixed_spatial":
        blur_kind = spatially_varying.SPATIAL_KINDS[
            int(rng.integers(0, len(spatially_varying.SPATIAL_KINDS)))]
    if isinstance(response, tuple):
        response = response[int(rng.integers(0, len(response)))]
    if blur_kind in spatially_varying.SPATIAL_KINDS:
        length = rng.uniform(path_parameters.min_length, path_parameters.max_length)
        margin = int(np.ceil(length)) + 2
        left, top = max(0, offset[0] - margin), max(0, offset[1] - margin)
        window = image[top:offset[1] + out_height + margin, left:offset[0] + out_width + margin]
        blurred, window_sharp = spatially_varying.render_spatially_varying(
            np.ascontiguousarray(window), blur_kind, rng, length, response, noise_sigma,
            path_parameters.frames_per_burst, highlight_gain, jpeg_quality or None)
        x, y = offset[0] - left, offset[1] - top
        return (np.ascontiguousarray(window_sharp[y:y + out_height, x:x + out_width]),
                np.ascontiguousarray(blurred[y:y + out_height, x:x + out_width]), length)
    if blur_kind == "linear":
        length = rng.uniform(path_parameters.min_length, path_parameters.max_length)
        heading = rng.uniform(0.0, np.pi)
        blurred = render.blur_linear(image, length, heading, response, rng, noise_sigma,
                                     (out_height, out_width), offset, highlight_gain)
    else:
        draw_path = (trajectory.random_shaky_path if blur_kind == "shake"
                     else trajectory.random_camera_path)
        poses, length = draw_path(rng, path_parameters)
        blurred = render.blur_along_path(image, poses, response, rng, noise_sigma,
                                         (out_height, out_width), offset, highlight_gain)
    if highlight_gain:
        linear = response.to_linear(sharp.astype(np.float32) / 255.0)
        sharp = render.encode(response.from_linear(
            render.boost_highlights(linear, highlight_gain)), rng, 0.0)
    if jpeg_quality:
        blurred = render.compress_jpeg(blurred, jpeg_quality)
    return np.ascontiguousarray(sharp), blurred, length


def _check_sizes(sharp_sources, crop_size, max_side, min_scale):
    """Raises ValueError naming every image too small for the crop at the smallest scale."""
    if not crop_size:
        return
    too_small = []
    for source in sharp_sources:
        scale = base_scale(source.height, source.width, max_side) * min_scale
        if min(source.height, source.width) * scale < crop_size:
            too_small.append(f"{source.name} ({source.height}x{source.width})")
    if too_small:
        raise ValueError(f"crop_size={crop_size} is larger than these images at scale "
                         f"{min_scale} and max_side={max_side}: {', '.join(too_small)}")


def _prepare_output(output_dir):
    """Creates `output_dir`; refuses one that already holds files (no mixed datasets)."""
    if os.path.isdir(output_dir) and os.listdir(output_dir):
        raise FileExistsError(f"{output_dir}: folder is not empty; choose a new or empty one")
    os.makedirs(output_dir, exist_ok=True)


def collect_sources(sharp_dir, names, seed, dead_leaves_images, dead_leaves_size,
                    dead_leaves_texture=0.0, dead_leaves_photo=0.0, test_fraction=0.0,
                    test_images=(), max_megapixels=image_io.DEFAULT_MAX_MEGAPIXELS):
    """The sharp images of a dataset and their split: `sharp_dir`'s, then each built-in source.

    The split is chosen first (`split_scenes`), so that photo leaves
    (`dead_leaves_photo`) are cut from the training split's photographs only and
    the held-out ones stay unseen.

    Returns:
        (sharp sources, training scene names, test scene names, unreadable): the
        last is one line per `sharp_dir` image that does not decode (or is above
        `max_megapixels`), left out (`sources.folder_sources`).

    Raises:
        ValueError: no source at all, an unknown source name, bad dead-leaves
            parameters, two images sharing a scene name, unknown test images, or
            photo leaves without a training photograph to cut them from.
        sources.SourceError: a bad `sharp_dir` (missing, no images, none readable).
    """
    unknown = [name for name in names if name not in BUILT_IN_SOURCES]
    if unknown:
        raise ValueError(f"source must be among {', '.join(BUILT_IN_SOURCES)}. "
                         f"Received: source={', '.join(unknown)}")
    if sharp_dir is None and not names:
        raise ValueError("need a sharp_dir or a built-in source "
                         f"({', '.join(BUILT_IN_SOURCES)})")
    if (dead_leaves_images < 1 or dead_leaves_size < 1 or not 0 <= dead_leaves_texture <= 1
            or not 0 <= dead_leaves_photo <= 1):
        raise ValueError("need dead_leaves_images >= 1, dead_leaves_size >= 1, "
                         "0 <= dead_leaves_texture <= 1 and 0 <= dead_leaves_photo <= 1. "
                         f"Received: dead_leaves_images={dead_leaves_images}, "
                         f"dead_leaves_size={dead_leaves_size}, "
                         f"dead_leaves_texture={dead_leaves_texture}, "
                         f"dead_leaves_photo={dead_leaves_photo}")
    photographs, unreadable = ([], []) if sharp_dir is None else sources.folder_sources(
        sharp_dir, max_megapixels)
    if "skimage" in names:
        photographs += sources.skimage_sources()
    leaf_names = ([sources.dead_leaves_name(index) for index in range(dead_leaves_images)]
                  if "dead_leaves" in names else [])
    scene_counts = collections.Counter([photo.name for photo in photographs] + leaf_names)
    clashes = [name for name, count in scene_counts.items() if count > 1]
    if clashes:
        raise ValueError(f"scene names given by more than one source: {', '.join(clashes)}")
    train, test = split_scenes(list(scene_counts), seed, test_fraction, test_images)
    if not leaf_names:
        return photographs, train, test, unreadable
    training_photos = [photo for photo in photographs if photo.name in train]
    if dead_leaves_photo and not training_photos:
        raise ValueError(f"dead_leaves_photo={dead_leaves_photo} cuts leaves from the training "
                         "split's photographs, and it has none: add --source=skimage or "
                         "--sharp_dir")
    leaves = sources.dead_leaves_sources(dead_leaves_images, dead_leaves_size, seed,
                                         dead_leaves_texture, dead_leaves_photo, training_photos)
    return photographs + leaves, train, test, unreadable


def synthesize_dataset(output_dir, sharp_dir=None, source=(), pairs_per_image=1, seed=0,
                       test_fraction=0.2, test_images=(), blur_kind="trajectory",
                       frames_per_burst=15, min_length=5.0, max_length=30.0,
                       max_turn_degrees=90.0, max_rotation_degrees=1.0, noise_sigma=0.01,
                       response="gamma", gamma=2.2, crop_size=0, max_side=0, min_scale=1.0,
                       dead_leaves_images=48, dead_leaves_size=384, dead_leaves_texture=0.0,
                       dead_leaves_photo=0.0, highlight_gain=0.0, jpeg_quality=0,
                       max_megapixels=image_io.DEFAULT_MAX_MEGAPIXELS, report=print,
                       report_unreadable=None):
    """Makes blurred/sharp pairs from sharp images and writes them GOPRO-style.

    Args:
        output_dir: new or empty folder to write into (layout in the module doc).
        sharp_dir: folder of sharp images, or None.
        source: names of built-in sources to add (a name or a sequence of them):
            "skimage" for scikit-image's photographs (`sources.SKIMAGE_PHOTOS`),
            "dead_leaves" for procedural dead-leaves images.
        pairs_per_image: pairs made from each source image.
        seed: the seed every random choice derives from.
        test_fraction, test_images: the held-out source images (see `split_scenes`).
        blur_kind: one of `BLUR_KINDS` (see `make_pair`).
        frames_per_burst, min_length, max_length, max_turn_degrees,
            max_rotation_degrees: the camera paths (`trajectory.PathParameters`).
        noise_sigma: Gaussian sensor noise on the blurred image, [0, 1] units.
        response, gamma: the camera response undone before averaging
            (`render.CameraResponse`), or "mixed" for one of `DRAWN_RESPONSES`
            drawn for each pair.
        crop_size, max_side, min_scale: sizes (see `make_pair`).
        dead_leaves_images, dead_leaves_size, dead_leaves_texture,
            dead_leaves_photo: how many dead-leaves images source "dead_leaves"
            draws, their side in pixels, the share of their leaves that are cut
            from the training split's photographs, and the share of the rest that
            are textured.
        highlight_gain, jpeg_quality: near-white pixels brightened before
            averaging (0: none) and the blurred image's JPEG quality (0: none);
            see `make_pair`.
        max_megapixels: `sharp_dir` images of more pixels (millions, read from
            the header) are left out, as are those that do not decode.
        report: called with one progress line per source image.
        report_unreadable: called with the one-line reason ("<path>: <what is
            wrong>") of each `sharp_dir` image left out, before anything is
            written; None: `report`. synth_config.json lists them too.

    Returns:
        {"train": [(sharp_path, blur_path), ...], "test": [...]}, paths relative
        to `output_dir`.

    Raises:
        sources.SourceError: a missing or empty folder, or one with no readable image.
        ValueError: no or unknown sources, bad parameters, unknown test images,
            images too small.
        FileExistsError: `output_dir` is not empty.
    """
    if blur_kind not in BLUR_KINDS:
        raise ValueError(f"blur_kind must be one of {', '.join(BLUR_KINDS)}. "
                         f"Received: blur_kind={blur_kind!r}")
    if response not in RESPONSES:
        raise ValueError(f"response must be one of {', '.join(RESPONSES)}. "
                         f"Received: response={response!r}")
    if pairs_per_image < 1 or crop_size < 0 or max_side < 0 or not 0 < min_scale <= 1:
        raise ValueError("need pairs_per_image >= 1, crop_size >= 0, max_side >= 0 and "
                         f"0 < min_scale <= 1. Received: pairs_per_image={pairs_per_image}, "
                         f"crop_size={crop_size}, max_side={max_side}, min_scale={min_scale}")
    if noise_sigma < 0 or not 0 <= test_fraction < 1:
        raise ValueError("need noise_sigma >= 0 and 0 <= test_fraction < 1. Received: "
                         f"noise_sigma={noise_sigma}, test_fraction={test_fraction}")
    if highlight_gain < 0 or not 0 <= jpeg_quality <= 100:
        raise ValueError("need highlight_gain >= 0 and 0 <= jpeg_quality <= 100 (0: no JPEG). "
                         f"Received: highlight_gain={highlight_gain}, jpeg_quality={jpeg_quality}")
    path_parameters = trajectory.PathParameters(frames_per_burst, min_length, max_length,
                                                max_turn_degrees, max_rotation_degrees)
    if response == "mixed":
        camera_response = tuple(render.CameraResponse(kind, gamma) for kind in DRAWN_RESPONSES)
    else:
        camera_response = render.CameraResponse(response, gamma)
    output_dir = os.fspath(output_dir)
    source_names = [source] if isinstance(source, str) else list(source)
    sharp_sources, train, test, unreadable = collect_sources(
        sharp_dir, source_names, seed, dead_leaves_images, dead_leaves_size,
        dead_leaves_texture, dead_leaves_photo, test_fraction, test_images, max_megapixels)
    for reason in unreadable:
        (report_unreadable or report)(reason)
    _check_sizes(sharp_sources, crop_size, max_side, min_scale)
    split_of = {**{name: "train" for name in train}, **{name: "test" for name in test}}
    _prepare_output(output_dir)

    pairs = {"train": [], "test": []}
    for index, sharp_source in enumerate(sharp_sources, start=1):
        split = split_of[sharp_source.name]
        scene = os.path.join(split, sharp_source.name)
        for kind in ("blur", "sharp"):
            os.makedirs(os.path.join(output_dir, scene, kind), exist_ok=True)
        image = sharp_source.load()
        rng = scene_rng(seed, sharp_source.name)
        lengths = []
        for number in range(pairs_per_image):
            sharp, blurred, length = make_pair(
                image, rng, path_parameters, camera_response, noise_sigma, blur_kind,
                crop_size, max_side, min_scale, highlight_gain, jpeg_quality)
            sharp_path = os.path.join(scene, "sharp", f"{number:06d}.png")
            blur_path = os.path.join(scene, "blur", f"{number:06d}.png")
            write_png(sharp, os.path.join(output_dir, sharp_path))
            write_png(blurred, os.path.join(output_dir, blur_path))
            pairs[split].append((sharp_path, blur_path))
            lengths.append(length)
        plural = "s" if pairs_per_image > 1 else ""
        report(f"[{index}/{len(sharp_sources)}] {sharp_source.name} -> {scene}: "
               f"{pairs_per_image} pair{plural} of {sharp.shape[0]}x{sharp.shape[1]}, "
               f"blur paths {min(lengths):.1f} to {max(lengths):.1f} px")

    for split, list_name in (("train", TRAIN_LIST), ("test", TEST_LIST)):
        if pairs[split]:
            lines = "".join(f"{sharp} {blur}\n" for sharp, blur in pairs[split])
            write_text(lines, os.path.join(output_dir, list_name))
    config = {
        "seed": seed, "source": source_names,
        "sharp_dir": sharp_dir and os.fspath(sharp_dir),
        "dead_leaves_images": dead_leaves_images, "dead_leaves_size": dead_leaves_size,
        "dead_leaves_texture": dead_leaves_texture, "dead_leaves_photo": dead_leaves_photo,
        "pairs_per_image": pairs_per_image, "blur_kind": blur_kind,
        "frames_per_burst": frames_per_burst, "min_length": min_length,
        "max_length": max_length, "max_turn_degrees": max_turn_degrees,
        "max_rotation_degrees": max_rotation_degrees, "noise_sigma": noise_sigma,
        "response": response, "gamma": gamma, "crop_size": crop_size, "max_side": max_side,
        "min_scale": min_scale, "highlight_gain": highlight_gain, "jpeg_quality": jpeg_quality,
        "train_scenes": train, "test_scenes": test, "unreadable_sources": unreadable,
    }
    write_json(config, os.path.join(output_dir, CONFIG_FILE))
    return pairs
