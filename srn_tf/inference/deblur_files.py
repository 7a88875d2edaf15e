"""Deblurring a file, a folder tree or a glob of images into an output folder.

This is the library function behind `srn-deblur`. Every image runs at full
resolution (padded to the model's size multiple and cropped back) unless a fixed height and width ask
for the release's test mode. Output files mirror the input tree and keep the
input's format and bit depth; a file that cannot be read or written is reported
and skipped, and the others still get done.
"""

import dataclasses
import os
import sys
import time

import numpy as np

from srn_tf.checkpoints.loading import load_deblur_model
from srn_tf.data import image_io
from srn_tf.data.comparison import comparison_strip, side_by_side
from srn_tf.data.video import is_video_path
from srn_tf.inference import per_file
from srn_tf.models.inference_options import options_for
from srn_tf.models.presets import resolve_model_path
from srn_tf.precision import INT8
from srn_tf.inference.tiling import check_tiling


@dataclasses.dataclass
class DeblurSummary:
    """What a `deblur_files` run did. `failed` lists (input path, one-line reason);
    `unsupported` the files that look like images of a type no reader here takes
    (.gif, .heic, camera raw...), left alone and listed, not failed."""

    done: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    failed: list = dataclasses.field(default_factory=list)
    unsupported: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    # The side-by-side sheet written, or None.
    side_by_side: str = None

    @property
    def ok(self):
        return not self.failed


class DeblurInterrupted(KeyboardInterrupt):
    """Ctrl-C during `deblur_files`: what was done before it, and the file it stopped in.

    Its message is the one line srn-deblur prints; `summary` is the `DeblurSummary`
    so far. The file being deblurred was not written (outputs are renamed into place
    only when complete; `kept` says what a video kept for a rerun to resume),
    and a rerun skips the outputs already written.
    """

    def __init__(self, summary, current, total, kept=None):
        self.summary, self.current, self.total = summary, current, total
        where = f" while deblurring {current} ({kept or 'not written'})" if current else ""
        super().__init__(
            f"stopped{where}; done {len(summary.done)}, skipped {len(summary.skipped)}, "
            f"failed {len(summary.failed)} of {total} files; run the same command again to "
            "do the rest (outputs already written are skipped)")


def list_inputs(input_path):
    """Lists the images `input_path` names (`srn_tf.data.image_io.list_images`).

    Args:
        input_path: an image file, a folder (searched recursively for PNG, JPEG,
            BMP, WebP and TIFF files), or a glob pattern (`**` matches subfolders).

    Returns:
        Sorted list of (path, relative path) pairs.
    """
    return image_io.list_images(input_path)


class _Progress:
    """A progress bar on a terminal, one line per file (image or video) otherwise.

    The time per file is over the files deblurred so far only: skipped and
    failed files take next to no time and would make it look faster. The ETA
    counts every file still to come at that rate.
    """

    def __init__(self, total, enabled):
        self.total = total
        self.enabled = enabled and total > 0
        self.bar = None
        self.deblurred = 0
        self.deblur_seconds = 0.0
        if self.enabled and sys.stdout.isatty():
            import keras
            self.bar = keras.utils.Progbar(total, unit_name="file")

    def update(self, count, path, status, seconds=None):
        """Reports file `count` of the total; `seconds` is given for a deblurred one."""
        if seconds is not None:
            self.deblurred += 1
            self.deblur_seconds += seconds
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(count)
            return
        if self.deblurred:
            seconds_each = self.deblur_seconds / self.deblurred
            rate = f"{seconds_each:.2f} s/file, ETA {seconds_each * (self.total - count):.0f} s"
        else:
            rate = "no file deblurred yet"
        print(f"[{count}/{self.total}] {status} {path} ({rate})", flush=True)


def deblur_files(input_path, output_path, checkpoint=None, model_type=None, options=None,
                 height=None, width=None, precision="auto", tile=None, tile_overlap=None,
                 output_format=None, overwrite=False, side_by_side_path=None, progress=True,
                 max_megapixels=image_io.DEFAULT_MAX_MEGAPIXELS, videos=False, codec=None,
                 crf=None, frames_only=None):
    """Deblurs every image (and with `videos` every video) `input_path` names into
    `output_path`.

    Args:
        input_path: an image, a video, a folder (recursive) or a glob pattern.
        output_path: output folder; outputs mirror the input tree. Inside the input
            folder, it is left out of the inputs (a rerun never deblurs its outputs).
            For a single video, the output video file (or frames folder).
        checkpoint: a path or preset name for `load_deblur_model` (None: the
            bundled default), or an already loaded `SRNDeblurNet` /
            `SavedModelRunner`.
        model_type: the release's `--model`, for TF1 checkpoints.
        options: the `InferenceOptions` run around the network (`deblur_image`);
            None: the model's own (its folder's `srn_config.json`).
        height, width: both or neither; run the release's fixed-size test mode.
        precision: "auto" (the processor's own), "float32", "bfloat16" or "float16"
            (`deblur_image`'s).
        tile: None to tile automatically (`per_file.auto_tile`), 0 never to tile,
            or the largest tile side in pixels.
        tile_overlap: least tile overlap in pixels (None: `deblur_image`'s default).
        output_format: None to keep each input's format, else an extension
            ("png", "jpg", "bmp", "tif"); 16-bit images become 8-bit (rounded) and
            alpha is dropped where the format cannot store them.
        overwrite: replace existing outputs (otherwise they are skipped); an output
            that is one of the inputs is refused whatever `overwrite` says.
        side_by_side_path: PNG file to write a blurred | deblurred sheet into
            (`srn_tf.data.comparison`), or None: every image deblurred in
            this call, and every skipped one beside its existing output.
        progress: print progress on stdout.
        max_megapixels: an input of more pixels (millions, from its header) fails
            before it is decoded (`image_io.read_image_with_metadata`).
        videos: also deblur the videos it names (`deblur_video.deblur_video`, not in
            the side-by-side sheet); without PyAV each fails in one line.
        codec, crf, frames_only: the videos' (`deblur_video.deblur_video`'s).

    Returns:
        A `DeblurSummary`. Inputs and outputs keep their EXIF and ICC metadata
        where the output format holds it (`image_io.write_image`).

    Raises:
        FileNotFoundError: `input_path` or the checkpoint does not exist.
        srn_tf.write_safety.OutputRefused: an output or the sheet would replace an
            input (`per_file.plan_outputs`); nothing is written.
        ValueError: bad arguments, or `input_path` names no image; raised before
            the model loads when the arguments alone show it.
    """
    if (height is None) != (width is None):
        raise ValueError("give both height and width, or neither")
    if height is not None and tile:
        raise ValueError("tiling does not apply to the fixed-size mode (height and width)")
    if side_by_side_path is not None and not os.fspath(side_by_side_path).lower().endswith(
            ".png"):
        raise ValueError(f"{side_by_side_path}: the side-by-side sheet must be a .png file")
    if output_format is not None:
        image_io.check_writable("." + output_format.lower().lstrip("."),
                                np.zeros((1, 1, 3), np.uint8))
    # The output folder is left out of the inputs; no output may replace an input.
    planned = per_file.plan_outputs(input_path, output_path, output_format, side_by_side_path,
                                    videos=videos, frames_only=bool(frames_only))
    if not planned:
        raise ValueError(image_io.no_images_message(input_path))
    model, model_source = checkpoint, None
    if checkpoint is None or isinstance(checkpoint, (str, os.PathLike)):
        model = load_deblur_model(checkpoint, model_type)
        model_source = resolve_model_path(checkpoint)
    if tile:
        check_tiling(tile, tile_overlap, model.size_multiple)
    options = options_for(model, options)
    if precision == INT8:
        # Quantized (or refused, for one reason) once, before the first file.
        from srn_tf.inference.int8.quantize import int8_network

        int8_network(model)
    summary = DeblurSummary(
        unsupported=image_io.list_unsupported_images(input_path, exclude=[output_path]))
    # `deblur_video`'s keyword arguments, the same for every video of the run.
    video_args = dict(options=options, precision=precision, tile=tile,
                      tile_overlap=tile_overlap, codec=codec, crf=crf, frames_only=frames_only,
                      overwrite=overwrite, progress=progress, model_source=model_source,
                      model_type=model_type)
    strips = []
    bar = _Progress(len(planned), progress)
    start = time.time()
    current = None
    try:
        for count, (source, relative, target) in enumerate(planned, start=1):
            if is_video_path(source):  # planned only with `videos`
                current = source
                _deblur_one_video(summary, bar, count, model, source, target, video_args)
                current = None
                continue
            if os.path.exists(target) and not overwrite:
                summary.skipped.append(source)
                if side_by_side_path is not None:
                    _add_existing_strip(strips, summary, source, relative, target,
                                        max_megapixels)
                bar.update(count, source, "skipped (output exists)")
                continue
            began, current = time.time(), source
            try:
                per_file.check_memory(source, model, tile, height,
                                      max_megapixels=max_megapixels)
                image, metadata = image_io.read_image_with_metadata(source, max_megapixels)
                result = per_file.deblur_decoded(model, image, options, precision, height, width,
                                                 tile, tile_overlap)
                os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
                image_io.write_image(
                    target, per_file.fit_to_format(result, os.path.splitext(target)[1]), metadata)
            except per_file.file_errors() as error:
                summary.failed.append((source, per_file.failure_reason(source, error)))
                bar.update(count, source, "FAILED")
                current = None
                continue
            summary.done.append(target)
            current = None
            if side_by_side_path is not None:
                strips.append((relative, comparison_strip(image, result)))
            bar.update(count, source, "done", seconds=time.time() - began)
    except KeyboardInterrupt as interruption:
        summary.seconds = time.time() - start
        raise DeblurInterrupted(summary, current, len(planned),
                                getattr(interruption, "kept", None)) from None
    if strips:
        folder = os.path.dirname(os.fspath(side_by_side_path))
        os.makedirs(folder or ".", exist_ok=True)
        image_io.write_image(side_by_side_path, side_by_side(strips))
        summary.side_by_side = os.fspath(side_by_side_path)
    summary.seconds = time.time() - start
    return summary


def _deblur_one_video(summary, bar, count, model, source, target, video_args):
    """`deblur_files`' step for a video: skipped when its output exists (a video file, or
    a frames folder marked complete) unless `video_args["overwrite"]`, else
    `deblur_video` with the keyword arguments `video_args`; a failure (PyAV missing,
    unreadable video) is recorded in `summary` in one line."""
    from srn_tf.data.video import MissingVideoExtra
    from srn_tf.inference.deblur_video import deblur_video, frames_complete

    exists = frames_complete(target) if video_args["frames_only"] else os.path.isfile(target)
    if exists and not video_args["overwrite"]:
        summary.skipped.append(source)
        bar.update(count, source, "skipped (output exists)")
        return
    began = time.time()
    try:
        deblur_video(model, source, target, **video_args)
    except per_file.file_errors() + (MissingVideoExtra,) as error:
        summary.failed.append((source, per_file.failure_reason(source, error)))
        bar.update(count, source, "FAILED")
        return
    summary.done.append(target)
    bar.update(count, source, "done", seconds=time.time() - began)


def _add_existing_strip(strips, summary, source, relative, target, max_megapixels):
    """Adds a skipped input's strip to the side-by-side sheet: it beside its existing output.

    An input or output that cannot be read, or that differ in size (an output
    from another input), is reported as failed, so the sheet never silently
    misses an image.
    """
    try:
        blurred = image_io.read_image(source, max_megapixels)
        existing = image_io.read_image(target, max_megapixels)
        if existing.shape[:2] != blurred.shape[:2]:
            raise ValueError(f"its existing output {target} is {existing.shape[1]}x"
                             f"{existing.shape[0]}, not {blurred.shape[1]}x{blurred.shape[0]}")
    except (OSError, ValueError) as error:
        message = str(error).splitlines()[0]
        summary.failed.append((source, f"{source}: not in the side-by-side sheet ({message})"))
        return
    strips.append((relative, comparison_strip(blurred, existing)))
