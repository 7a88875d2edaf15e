"""Deblurring a video: every frame as a photo, written back with the input's timing and sound.

Each frame runs through `per_file.deblur_decoded`, the path of a photo (model,
inference options, precision, tiles). The video is cut into segments at key
frames (`srn_tf.data.video.segments`); each segment is decoded in a prefetch
thread, deblurred in another a few frames ahead of the encoder (the caller's
thread), so the network never waits on the decoder or the encoder. Finished segments are files in a work
folder beside the output (`VideoWork`), so a stopped run (Ctrl-C, kill -9)
resumes at the first unfinished segment; the segments are joined with the
input's audio and subtitle packets (stream copy) into the output only when all
are done, under a temporary name renamed into place (`join.join_segments`).

With `frames_only` the frames are written as numbered PNG or TIFF files into a
folder instead (16-bit for 10/12-bit input); a rerun skips the frames written.
"""

import dataclasses
import glob
import hashlib
import json
import os
import re
import sys
import time

from srn_tf import atomic_files
from srn_tf.data import image_io
from srn_tf.data.video import VideoError, import_av
from srn_tf.inference import per_file
from srn_tf.write_safety import TEMPORARY_NAME

# Decoded frames waiting for the network, and deblurred frames waiting for the
# encoder: enough to cover a decoder or encoder hiccup, small enough that memory
# stays a few frames (a 4K RGB uint16 frame is 50 MB).
PIPELINE_DEPTH = 4
# Without a terminal, a progress line at most this often.
PROGRESS_SECONDS = 5.0
MANIFEST = "manifest.json"
FRAMES_MANIFEST = ".srn-tf-frames.json"
# Written into every manifest: what proves a folder is this tool's work.
WRITTEN_BY = "srn-tf deblur_video"
_SEGMENT_NAME = re.compile(r"^segment-\d{5}\.nut$")
FRAME_EXTENSIONS = ("png", "tif")


class VideoInterrupted(KeyboardInterrupt):
    """Ctrl-C during `deblur_video`; its message and `kept` say what stays for a rerun."""

    def __init__(self, kept):
        self.kept = kept
        super().__init__(f"{kept}; run the same command again to resume")


def input_identity(path):
    """What tells an input file apart from another at the same path: its absolute
    path, size and modification time."""
    stat = os.stat(path)
    return {"path": os.path.abspath(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def model_identity(model):
    """A short string that changes when the network's outputs would.

    Args:
        model: a checkpoint as `load_deblur_model` takes it (a path, a preset's name,
            or None for the bundled model): its resolved path and the names, sizes
            and modification times of its files, read without loading it; or a
            loaded model: the SHA-256 of its weights (of an export runner: its file).
    """
    if model is None or isinstance(model, (str, os.PathLike)):
        from srn_tf.models.presets import resolve_model_path

        path = os.path.abspath(resolve_model_path(model))
        if os.path.isdir(path):
            files = sorted(os.path.join(folder, name) for folder, _, names in os.walk(path)
                           for name in names)
        else:
            files = [path] if os.path.isfile(path) else sorted(glob.glob(glob.escape(path)
                                                                          + ".*"))
        digest = hashlib.sha256()
        for name in files:
            stat = os.stat(name)
            digest.update(f"{os.path.relpath(name, path)}:{stat.st_size}:"
                          f"{stat.st_mtime_ns}\n".encode())
        return f"checkpoint:{path}:{digest.hexdigest()[:16]}"
    if hasattr(model, "get_weights"):
        digest = hashlib.sha256()
        for weight in model.get_weights():
            digest.update(weight.tobytes())
        return f"weights:{digest.hexdigest()[:16]}"
    return model_identity(model.path)


def work_settings(checkpoint, model_type, options, precision, tile, tile_overlap, encoding):
    """The settings that change a video's frames, as a work manifest records them.

    srn-deblur and srn-batch's planning step (which loads no model) both use this,
    so each resumes the other's work folder.

    Args:
        checkpoint: the model (`model_identity`'s argument).
        model_type: the --model given, or None.
        options: the `InferenceOptions`; None: the checkpoint's own
            (`inference_options_at`; a loaded model's `inference_options`).
        precision, tile, tile_overlap: as given to `per_file.deblur_decoded`.
        encoding: the segments' `VideoEncoding`, or None (frames written as images).

    Returns:
        A JSON-serialisable dict.
    """
    if options is None:
        if checkpoint is None or isinstance(checkpoint, (str, os.PathLike)):
            from srn_tf.checkpoints.loading import inference_options_at

            options = inference_options_at(checkpoint)
        else:
            from srn_tf.models.inference_options import options_for

            options = options_for(checkpoint)
    return json.loads(json.dumps({
        "model": model_identity(checkpoint), "model_type": model_type,
        "options": dataclasses.asdict(options), "precision": precision, "tile": tile,
        "tile_overlap": tile_overlap,
        "encoding": None if encoding is None else dataclasses.asdict(encoding)}))


def _read_manifest(path):
    """A manifest's dict, or None when it is missing, unreadable or not this tool's."""
    try:
        with open(path) as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get(
        "written_by") == WRITTEN_BY else None


def _is_own_file(name, pattern):
    """True for a file `pattern` names and for an interrupted write's leftover of one
    (`atomic_files.temporary_name`: ".<name>.tmp-<pid>-<hex><ext>")."""
    if pattern.match(name):
        return True
    return bool(TEMPORARY_NAME.match(name)) and bool(pattern.match(name[1:].split(".tmp-")[0]))


def _remove_own_files(folder, pattern, manifest_name):
    """Deletes from `folder` the files `_is_own_file` recognises and then the manifest;
    anything else is left alone. Returns how many files went."""
    removed = 0
    for name in os.listdir(folder):
        if _is_own_file(name, pattern) and os.path.isfile(os.path.join(folder, name)):
            os.remove(os.path.join(folder, name))
            removed += 1
    if os.path.exists(os.path.join(folder, manifest_name)):
        os.remove(os.path.join(folder, manifest_name))
    return removed


def _manifest(info, settings):
    """A work manifest: who wrote it, the input's identity, the run's settings (as JSON
    reads them back: `work_settings`' dict, so a resumed manifest compares equal) and
    the segments (`plan_segments(info)`, the same for srn-deblur and srn-batch)."""
    from srn_tf.data.video.segments import plan_segments

    return {"written_by": WRITTEN_BY, "input": input_identity(info.path),
            "settings": settings,
            "segments": [[s.index, s.start, s.stop] for s in plan_segments(info)],
            "complete": False}


def _same_work(existing, manifest):
    """True when two manifests are of the same input, settings and segments."""
    return all(existing.get(key) == manifest[key] for key in ("input", "settings", "segments"))


def _segments_of(manifest):
    """The `Segment`s a manifest records."""
    from srn_tf.data.video.segments import Segment

    return [Segment(index, start, stop) for index, start, stop in manifest["segments"]]


def _claim_folder(folder, manifest_name, pattern, manifest, output, files,
                  clear=False):
    """Makes `folder` with `manifest`, or resumes it: returns the manifest in force.

    An existing folder is resumed when its manifest is of the same input and
    settings (`_same_work`) and `clear` is false; otherwise the files its
    manifest proves this tool wrote (names `pattern` matches, and their
    interrupted writes) are removed first and a line naming `output` says how
    many `files` went.

    Raises:
        VideoError: the folder exists with files but no manifest of this tool.
    """
    path = os.path.join(folder, manifest_name)
    if os.path.isdir(folder) and os.listdir(folder):
        existing = _read_manifest(path)
        if existing is None:
            raise VideoError(output, f"{folder} exists and was not written by srn-deblur; "
                                     "move it away or choose another output")
        if _same_work(existing, manifest) and not clear:
            return existing
        removed = _remove_own_files(folder, pattern, manifest_name)
        if removed:
            print(f"{output}: cleared {removed} {files} of an earlier run", flush=True)
    elif os.path.lexists(folder) and not os.path.isdir(folder):
        raise VideoError(output, f"{folder} exists and is not a folder")
    os.makedirs(folder, exist_ok=True)
    atomic_files.write_json(manifest, path)
    return manifest


@dataclasses.dataclass
class VideoWork:
    """The work folder of one output video: `<dir>/.<name>.srn-tf-parts/`.

    It holds `manifest.json` (the input's identity and the settings that change
    the frames: model, options, precision, tiles, encoding, segments) and one
    file per finished segment, `segment-NNNNN.nut`, renamed into place when
    complete, so a segment file that exists is finished.

    Attributes:
        folder: the work folder's path.
        segments: the `Segment`s of the video, in order (`plan_segments(info)`).
    """

    folder: str
    segments: list

    @staticmethod
    def folder_for(output_path):
        """The work folder beside `output_path`."""
        folder, name = os.path.split(os.path.abspath(output_path))
        return os.path.join(folder, f".{name}.srn-tf-parts")

    @classmethod
    def open(cls, output_path, info, settings):
        """The work folder for `output_path`, made or resumed.

        A folder whose manifest names this input (same path, size, mtime) and
        these `settings` is resumed. One left by another input or other settings
        is cleared first, file by file, only of what its manifest proves this tool
        wrote, and a line says so.

        Args:
            output_path: the video file the run writes.
            info: the input's `VideoInfo`.
            settings: everything that changes the frames (`work_settings`).

        Raises:
            VideoError: the folder exists and is not this tool's (no manifest of
                this tool), or holds files this tool did not write.
        """
        folder = cls.folder_for(output_path)
        manifest = _claim_folder(folder, MANIFEST, _SEGMENT_NAME, _manifest(info, settings),
                                 output_path, "segment file(s)")
        return cls(folder, _segments_of(manifest))

    def segment_path(self, segment):
        """The finished file of `segment` (a `Segment`)."""
        return os.path.join(self.folder, f"segment-{segment.index:05d}.nut")

    def is_done(self, segment):
        """True when `segment`'s file exists (it is renamed into place only when complete)."""
        return os.path.isfile(self.segment_path(segment))

    def pending(self):
        """The segments whose file does not exist yet, in order: what a run has left to do."""
        return [segment for segment in self.segments if not self.is_done(segment)]

    def join(self, info, output_path, encoding):
        """Joins every segment's file with the input's audio and subtitle packets into
        `output_path` (`join.join_segments`: temporary name, then rename), then removes
        the work folder.

        Args:
            info: the input's `VideoInfo`.
            output_path: the video file to write.
            encoding: the segments' `VideoEncoding`.

        Raises:
            VideoError: what `join_segments` raises (the segments do not hold exactly
                the input's frames, or were written with other settings).
        """
        from srn_tf.data.video.join import join_segments

        join_segments(info, [self.segment_path(segment) for segment in self.segments],
                      output_path, encoding)
        self.remove()

    def remove(self):
        """Deletes the segment files and manifest this tool wrote, then the folder if empty."""
        _remove_own_files(self.folder, _SEGMENT_NAME, MANIFEST)
        try:
            os.rmdir(self.folder)
        except OSError:
            pass


def open_video_work(output_path, info, checkpoint, model_type, options, precision, tile,
                    tile_overlap, codec, crf):
    """The encoding of the video `output_path` and its work folder, made or resumed.

    srn-deblur (`deblur_video`) and srn-batch (`video_segments.plan_video`) both open
    a video's work here, with the same settings, so each resumes the other's folder.

    Args:
        output_path: the video file the run writes, its extension choosing the
            container.
        info: the input's `VideoInfo`.
        checkpoint, model_type, options, precision, tile, tile_overlap: as
            `work_settings` takes them.
        codec, crf: as `encode.choose_encoding` takes them.

    Returns:
        (the segments' `VideoEncoding`, the `VideoWork`).

    Raises:
        VideoError: the codec does not suit the output's container, or what
            `VideoWork.open` raises.
    """
    from srn_tf.data.video.encode import choose_encoding

    encoding = choose_encoding(output_path, info, codec, crf)
    work = VideoWork.open(output_path, info, work_settings(
        checkpoint, model_type, options, precision, tile, tile_overlap, encoding))
    return encoding, work


def _deblurred_frames(model, info, segment, options, precision, tile, tile_overlap, on_frame,
                      skip=None):
    """Yields (pts, deblurred frame) for `segment`, decoded in a prefetch thread.

    With `options.steady_video` each frame is steadied by the previous one
    (`video_steadying.steady_frame`), starting afresh at the segment's first frame,
    so a segment's frames are the same whichever run or worker deblurs it.

    `skip`, a predicate on a frame's pts, leaves out the frames it is true for (not
    deblurred, not yielded); it is not applied with `options.steady_video`, since a
    steadied frame depends on the segment's frames before it."""
    from srn_tf.data.video.decode import prefetched, segment_frames
    from srn_tf.inference.video_steadying import steady_frame

    if options.steady_video:
        skip = None
    previous = None
    for pts, frame in prefetched(segment_frames(info, segment), PIPELINE_DEPTH):
        if skip is not None and skip(pts):
            continue
        result = per_file.deblur_decoded(model, frame, options, precision, tile=tile,
                                         tile_overlap=tile_overlap)
        if options.steady_video:
            output = result
            if previous is not None:
                result = steady_frame(previous[1], previous[0], output)
            previous = (output, result)
        yield pts, result
        if on_frame is not None:
            on_frame(1)


def deblur_segment(model, info, segment, encoding, path, options=None, precision="auto",
                   tile=None, tile_overlap=None, on_frame=None):
    """Deblurs the frames of one segment into the video file `path`.

    Frames are decoded in a prefetch thread, deblurred with
    `per_file.deblur_decoded` (as a photo) in another thread a few frames ahead
    of the encoder, and encoded here by `encode.write_segment`, which renames
    `path` into place only when complete.

    Args:
        model: a loaded model (`load_deblur_model`).
        info: the input's `VideoInfo`.
        segment: the `Segment` to do.
        encoding: the `VideoEncoding` of the segment file.
        path: the segment file to write (.nut).
        options, precision, tile, tile_overlap: as `per_file.deblur_decoded`'s.
        on_frame: called with 1 after each frame is deblurred (progress), or None.

    Raises:
        VideoError: a frame cannot be decoded, or the segment cannot be encoded.
    """
    from srn_tf.data.video.decode import prefetched
    from srn_tf.data.video.encode import write_segment
    from srn_tf.models.inference_options import options_for

    options = options_for(model, options)
    frames = prefetched(_deblurred_frames(model, info, segment, options, precision, tile,
                                          tile_overlap, on_frame), PIPELINE_DEPTH)
    try:
        write_segment(path, info, encoding, frames)
    finally:
        frames.close()  # stops the network's thread when the encoder stops early


class _FrameProgress:
    """Progress over a video's frames: a keras Progbar on a terminal, otherwise a line
    at most every `PROGRESS_SECONDS`. The rate (and so the ETA) counts only frames
    deblurred in this run, not the ones a resumed run found done. `on_frame`, when
    given, is called with each count of frames deblurred."""

    def __init__(self, name, total, already_done, enabled, on_frame=None):
        self.name, self.total, self.count = name, total, already_done
        self.on_frame = on_frame
        self.enabled = enabled and total > 0
        self.deblurred = 0
        self.start = self.last_line = time.time()
        self.bar = None
        if self.enabled and sys.stdout.isatty():
            import keras

            self.bar = keras.utils.Progbar(total, unit_name="frame")
            self.bar.update(already_done)
        elif self.enabled and already_done == total:
            print(f"{name}: all {total} frames were done by an earlier run", flush=True)
        elif self.enabled and already_done:
            print(f"{name}: resuming at frame {already_done + 1} of {total}", flush=True)

    def advance(self, frames):
        """Counts `frames` more deblurred frames."""
        self.count += frames
        self.deblurred += frames
        if self.on_frame is not None:
            self.on_frame(frames)
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(self.count)
            return
        now = time.time()
        if now - self.last_line >= PROGRESS_SECONDS or self.count == self.total:
            self.last_line = now
            per_frame = (now - self.start) / self.deblurred
            print(f"{self.name}: frame {self.count}/{self.total} ({per_frame:.2f} s/frame, "
                  f"ETA {per_frame * (self.total - self.count):.0f} s)", flush=True)


def check_frame_memory(model, info, tile):
    """`per_file.check_memory_of_shape` for one of `info`'s frames (RGB of
    `info.frame_dtype`): raises when the memory plan cannot fit it, as for a photo."""
    per_file.check_memory_of_shape(info.path, model, (info.height, info.width, 3),
                                   1 if info.frame_dtype == "uint8" else 2, tile)


def deblur_video(model, input_path, output_path, options=None, precision="auto", tile=None,
                 tile_overlap=None, codec=None, crf=None, frames_only=None, overwrite=False,
                 progress=True, model_source=None, model_type=None, on_frame=None):
    """Deblurs every frame of the video `input_path` into `output_path`.

    Args:
        model: a loaded model (`load_deblur_model`).
        input_path: the video to read (any container and codec PyAV decodes).
        output_path: the video file to write, its extension choosing the container
            (`encode.choose_encoding`); with `frames_only`, the folder of frames.
        options: the `InferenceOptions`; None: the model's own.
        precision, tile, tile_overlap: as `per_file.deblur_decoded`'s.
        codec: one of `encode.VIDEO_CODECS`, or None for the output extension's default.
        crf: the codec's constant rate factor (quality; lower is better), or None for
            its default.
        frames_only: None, or "png"/"tif": numbered frames `frame_000001.<ext>`
            (uint16 where the input is 10/12-bit) into the folder `output_path`.
        overwrite: with `frames_only`, clear the frames of an earlier run (otherwise
            frames there of the same input and settings are kept). A video file is
            always written anew (the caller decides whether to replace one).
        progress: print progress over frames on stdout.
        model_source, model_type: the checkpoint `model` was loaded from and the
            --model given, which identify the model in the work manifest
            (`work_settings`), so srn-deblur and srn-batch resume each other's
            work; model_source None: the model is identified by its weights.
        on_frame: called with 1 after each frame deblurred in this call (a progress
            page's counter; frames done by an earlier run are not reported), or None.

    Returns:
        `output_path`.

    Raises:
        MissingVideoExtra: PyAV is not installed.
        VideoError: the input cannot be read (one line naming it), or the codec does
            not suit the output's container.
        VideoInterrupted: Ctrl-C; finished segments (or frames) are kept for a rerun.
    """
    from srn_tf.data.video.probe import probe_video
    from srn_tf.models.inference_options import options_for

    import_av(f"{input_path}: deblurring a video")
    info = probe_video(input_path)
    check_frame_memory(model, info, tile)
    options = options_for(model, options)
    identity = model if model_source is None else model_source
    if frames_only:
        settings = {**work_settings(identity, model_type, options, precision, tile,
                                    tile_overlap, None), "frames_only": frames_only}
        return _deblur_to_frames(model, info, output_path, options, precision, tile,
                                 tile_overlap, frames_only, settings, overwrite, progress,
                                 on_frame)
    encoding, work = open_video_work(output_path, info, identity, model_type, options,
                                     precision, tile, tile_overlap, codec, crf)
    segments = work.segments
    pending = work.pending()
    bar = _FrameProgress(input_path, info.frame_count,
                         info.frame_count - sum(s.frame_count for s in pending), progress,
                         on_frame)
    try:
        for segment in pending:
            deblur_segment(model, info, segment, encoding, work.segment_path(segment),
                           options, precision, tile, tile_overlap, on_frame=bar.advance)
    except KeyboardInterrupt:
        kept = sum(work.is_done(segment) for segment in segments)
        raise VideoInterrupted(f"{output_path}: not written; {kept} of {len(segments)} "
                               f"segments kept in {work.folder}") from None
    work.join(info, output_path, encoding)
    return output_path


def frame_name(index, extension):
    """The file of frame `index` (0-based, presentation order): frame_000001.png for 0."""
    return f"frame_{index + 1:06d}.{extension}"


_FRAME_NAME = re.compile(r"^frame_\d{6,}\.(png|tif)$")


def frames_complete(folder):
    """True when `folder` holds every frame of a finished `frames_only` run."""
    manifest = _read_manifest(os.path.join(folder, FRAMES_MANIFEST))
    return bool(manifest and manifest.get("complete"))


def _deblur_to_frames(model, info, folder, options, precision, tile, tile_overlap, extension,
                      settings, overwrite, progress, on_frame):
    """`deblur_video`'s `frames_only`: numbered image files, frames already there skipped.

    A segment whose frames all exist is not decoded; in the others only the frames
    missing are deblurred (with `options.steady_video` the segment is redone from its
    start, and only the frames missing count as progress). The manifest is marked
    complete at the end (`frames_complete`); `overwrite` clears the frames of an
    earlier run first."""
    if extension not in FRAME_EXTENSIONS:
        raise ValueError(f"frames_only must be one of {', '.join(FRAME_EXTENSIONS)}. "
                         f"Received: {extension}")
    manifest = _claim_folder(folder, FRAMES_MANIFEST, _FRAME_NAME, _manifest(info, settings),
                             folder, "frame(s)", clear=overwrite)
    index_of = {pts: index for index, pts in enumerate(info.frame_pts)}

    def path_of(index):
        return os.path.join(folder, frame_name(index, extension))

    def written():
        return sum(os.path.exists(path_of(index)) for index in range(info.frame_count))

    def exists(pts):
        return os.path.exists(path_of(index_of[pts]))

    bar = _FrameProgress(info.path, info.frame_count, written(), progress, on_frame)
    try:
        for segment in _segments_of(manifest):
            if all(os.path.exists(path_of(index)) for index in range(segment.start,
                                                                    segment.stop)):
                continue
            for pts, result in _deblurred_frames(model, info, segment, options, precision,
                                                 tile, tile_overlap, None, skip=exists):
                new = not exists(pts)
                image_io.write_image(path_of(index_of[pts]), result)
                if new:
                    bar.advance(1)
    except KeyboardInterrupt:
        raise VideoInterrupted(f"{folder}: {written()} of {info.frame_count} frames written "
                               "and kept") from None
    atomic_files.write_json({**manifest, "complete": True},
                            os.path.join(folder, FRAMES_MANIFEST))
    return folder
