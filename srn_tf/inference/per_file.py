"""What is done to each file of a folder run, shared by `deblur_files` (srn-deblur) and
srn-batch (`srn_tf.batch.pipeline`), so the two write the same files.

The output name of an input, the automatic tile side, the run of one decoded
image (the fixed-size mode or `deblur_image`, with the model's inference
options), the conversion of a result to what its output format stores, and the
one-line reason a file failed. TensorFlow is imported only when an image is
deblurred, so the Beam launcher can use this without it.
"""

import math
import os

import numpy as np

from srn_tf.data import image_io
from srn_tf.data.video import is_video_path, list_images_and_videos
from srn_tf.inference.tiling import smallest_tile

# Automatic tiling: images whose model batch (pixels x planes run at once) is above
# this run in tiles of at most this many pixels, which keeps a 2160x3840 image
# under 4 GB of peak memory (docs/tiling.md).
AUTO_TILE_PIXELS = 2_000_000


def output_name(relative, output_format=None):
    """The output's path relative to the output folder: the input's relative path,
    with the extension `output_format` ("png", ".jpg", ...) when one is given."""
    if output_format:
        return os.path.splitext(relative)[0] + "." + output_format.lower().lstrip(".")
    return relative


def video_output(relative, output_path, input_path, frames_only=False):
    """The output of the video at `relative` in a run on `input_path`: `output_path`
    itself when the input is that one video, else the relative path under the folder `output_path`
    (same name and extension), or with `frames_only` the folder of its frames (the
    relative path without its extension)."""
    if os.path.isfile(input_path):
        return output_path
    return os.path.join(output_path,
                        os.path.splitext(relative)[0] if frames_only else relative)


def plan_outputs(input_path, output_path, output_format=None, side_by_side_path=None,
                 videos=False, frames_only=False):
    """The inputs of a folder run and the output each gets, checked so that no output
    replaces an input.

    The output folder is left out of the inputs when it lies inside the input
    folder (or a glob's root), so a rerun never deblurs its own outputs
    (`image_io.list_images`'s `exclude`). Runs before TensorFlow loads.

    Args:
        input_path: an image, a video, a folder (recursive) or a glob pattern.
        output_path: the output folder; for a single video, its output file (or
            with `frames_only` the folder of its frames).
        output_format: None to keep each input's format, else an extension.
        side_by_side_path: the comparison sheet the run writes, or None.
        videos: also list videos (in the same search:
            `srn_tf.data.video.list_images_and_videos`), each with the output
            `video_output` gives it.
        frames_only: videos' outputs are folders of frames.

    Returns:
        Sorted list of (path, relative path, output path) triples.

    Raises:
        FileNotFoundError: `input_path` names no file, folder or glob.
        srn_tf.write_safety.OutputRefused: an output, or the sheet, would be one of
            the inputs (the same file, however spelled); the message names it.
    """
    from srn_tf.write_safety import OutputRefused, first_replaced_input, replaced_input_message

    output_path = os.fspath(output_path)
    listed = (list_images_and_videos if videos else image_io.list_images)(
        input_path, exclude=[output_path])
    planned = [(source, relative,
                video_output(relative, output_path, input_path, frames_only)
                if is_video_path(source)
                else os.path.join(output_path, output_name(relative, output_format)))
               for source, relative in listed]
    sources = [source for source, _, _ in planned]
    replaced = first_replaced_input(sources, [target for _, _, target in planned])
    if replaced is not None:
        raise OutputRefused(replaced_input_message(replaced, "output folder"))
    if side_by_side_path is not None:
        replaced = first_replaced_input(sources, [os.fspath(side_by_side_path)])
        if replaced is not None:
            raise OutputRefused(replaced_input_message(replaced, "side-by-side sheet"))
    return planned


def auto_tile(model, image_shape):
    """The tile side `srn-deblur` uses for an image: None (whole image) when it fits.

    An image is tiled when the planes the model runs at once (3 for a gray model
    on RGB) exceed `AUTO_TILE_PIXELS`; the tile is then the largest multiple of the
    model's size multiple whose square holds that many pixels per batch, and at
    least `tiling.smallest_tile`.
    """
    height, width, channels = image_shape
    planes = 1 if model.channels == 3 else (3 if channels >= 3 else 1)
    if height * width * planes <= AUTO_TILE_PIXELS:
        return None
    multiple = model.size_multiple
    return max(smallest_tile(multiple),
               int(math.sqrt(AUTO_TILE_PIXELS / planes)) // multiple * multiple)


def check_memory(source, model, tile=None, height=None, available=None,
                 max_megapixels=image_io.DEFAULT_MAX_MEGAPIXELS):
    """Refuses `source` in one line, from its header and before it is decoded, when
    deblurring it as `deblur_decoded` would (same tile) needs more memory than is
    free (`memory_plan`). Nothing is checked in the fixed-size mode (`height`),
    which shrinks big images.

    Raises:
        ValueError: the header cannot be read, or claims more than `max_megapixels`
            (as `image_io.read_image_with_metadata` would say, checked first).
        MemoryError: the message names the file, the memory needed and free.
    """
    if height is not None:
        return
    header = image_io.checked_header(source, max_megapixels)
    check_memory_of_shape(source, model, (header.height, header.width, header.channels),
                          header.bytes_per_sample, tile, available)


def check_memory_of_shape(source, model, shape, bytes_per_sample, tile=None, available=None):
    """`check_memory` for an image of `shape` (height, width, channels) and
    `bytes_per_sample`, known from its header or its decoded array (srn-batch checks
    there, where its model is)."""
    from srn_tf.inference import memory_plan

    height, width, channels = shape
    side = auto_tile(model, shape) if tile is None else (tile or None)
    memory_plan.check_fits(source, height, width,
                           memory_plan.plan(height, width, channels, bytes_per_sample, side),
                           available)


def deblur_decoded(model, image, options=None, precision="auto", height=None, width=None,
                   tile=None, tile_overlap=None):
    """Deblurs one decoded image as srn-deblur does.

    Args:
        model: a loaded model (`load_deblur_model`).
        image: the array `image_io.read_image_with_metadata` returned.
        options: the `InferenceOptions` to run; None: the model's own.
        precision: "auto" (the processor's own), "float32", "bfloat16" or "float16"
            (`deblur_image`'s).
        height, width: both for the release's fixed-size mode, or neither.
        tile: None to tile automatically (`auto_tile`), 0 never to tile, or the
            largest tile side in pixels.
        tile_overlap: least tile overlap in pixels (None: `deblur_image`'s default).

    Returns:
        The deblurred image, the input's shape and dtype.
    """
    if height is not None:
        from srn_tf.inference.fixed_size import deblur_fixed_size

        return deblur_fixed_size(model, image, height, width, options, precision)
    from srn_tf.inference import deblur

    side = auto_tile(model, image.shape) if tile is None else (tile or None)
    return deblur.deblur_image(model, image, options, precision, tile=side,
                               tile_overlap=tile_overlap)


def fit_to_format(image, extension):
    """Converts an image a format cannot store: 16 to 8 bits (rounded), alpha dropped."""
    extension = extension.lower()
    if image.dtype == np.uint16 and extension not in image_io.SIXTEEN_BIT_EXTENSIONS:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.shape[2] == 4 and extension not in image_io.ALPHA_EXTENSIONS:
        image = image[:, :, :3]
    return image


def file_errors():
    """The errors that fail one file and let the others run: unreadable or corrupt
    inputs, unwritable outputs, images the model cannot take, and memory running out
    for one image (under a ulimit or a container's limit) while smaller ones fit."""
    import tensorflow as tf

    return OSError, ValueError, MemoryError, tf.errors.OpError


def failure_reason(source, error):
    """The one-line reason `source` failed, starting with its path."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, MemoryError) and not message.startswith(source):
        # (A refusal of `check_memory` already says it all, starting with the path.)
        message = f"out of memory ({message})"
    if not message.startswith(source):
        message = f"{source}: {message}"
    return message
