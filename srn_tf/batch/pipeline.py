"""srn-batch's Apache Beam pipeline: srn-deblur's folder run spread over workers.

    list the inputs -> skip those whose output exists -> reshuffle over the workers
    -> read and decode -> RunInference (the model loaded once per worker process;
    batches of up to `batch_size` images, same-size ones run one after another
    through the same traced function) -> write each output (a temporary name
    beside it, then a rename, through Beam's filesystems) -> failures.csv and
    summary.json in the output folder

    videos: skip those whose output exists -> plan each (srn_tf/batch/video_segments.py)
    -> one element per unfinished segment -> reshuffle -> the same RunInference
    (a segment alone in its batch) -> per video (CoGroupByKey): join the segments
    with the audio into the output

Each file gets what srn-deblur gives it: the same listing for local paths
(`srn_tf.data.video.list_images_and_videos`), the same output names, the same
deblurring, format fitting and encoding (`srn_tf.inference.per_file`,
`image_io.write_image`), so the outputs are the same bit for bit; a video gets
srn-deblur's frames, segment by segment, in srn-deblur's work folder. A file that
fails (unreadable, corrupt, unwritable output) is named with its reason in
failures.csv and the others still run; a rerun skips every output that exists
unless `overwrite`.

The images are deblurred one at a time, as srn-deblur does: stacking same-size
images into one network call gives other float32 sums (docs/batch.md), and the
outputs would no longer be srn-deblur's.
"""

import collections
import csv
import dataclasses
import functools
import io
import json
import os
import socket
import tempfile
import time

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from srn_tf.atomic_files import temporary_name
from srn_tf.batch import video_segments
from srn_tf.data import image_io
from srn_tf.data.video import is_image_or_video_path, is_video_path, list_images_and_videos
from srn_tf.inference import per_file
from srn_tf.models.inference_options import InferenceOptions
from srn_tf.write_safety import OutputRefused, replaced_input_message

FAILURES_FILE = "failures.csv"
SUMMARY_FILE = "summary.json"
_SKIPPED = "skipped"
_FAILED = "failed"
_SEGMENTS = "segments"
_ALREADY_DONE = "already_done"
_VIDEO_FAILED = "video_failed"
_WILDCARDS = "*?["


@dataclasses.dataclass(frozen=True)
class BatchSettings:
    """What srn-batch runs; the fields are srn-deblur's flags of the same names.

    Attributes:
        input_pattern: an image, a folder (recursive) or a glob; a local path (listed
            as srn-deblur lists it) or any Beam filesystem URI ("gs://b/in/**").
        output_path: output folder, local or a URI; outputs mirror the input tree.
        checkpoint, model_type: the model (`load_deblur_model`), a path the
            workers can read; None for the bundled model.
        options: the `InferenceOptions` run around the network; None: the
            model's own.
        height, width: both for the release's fixed-size mode, or neither.
        precision, tile, tile_overlap: as for `per_file.deblur_decoded`.
        output_format: None to keep each input's format, else an extension.
        overwrite: replace existing outputs (otherwise they are skipped).
        batch_size: most images one RunInference call takes.
        max_megapixels: refuse images of more pixels (millions), read from each
            file's header before decoding (`image_io.read_image_with_metadata`).
        video_codec, crf: the videos' encoding (`choose_encoding`); None: chosen
            from each output's extension.
    """

    input_pattern: str
    output_path: str
    checkpoint: str = None
    model_type: str = None
    options: InferenceOptions = None
    height: int = None
    width: int = None
    precision: str = "auto"
    tile: int = None
    tile_overlap: int = None
    output_format: str = None
    overwrite: bool = False
    batch_size: int = 8
    max_megapixels: float = image_io.DEFAULT_MAX_MEGAPIXELS
    video_codec: str = None
    crf: int = None


# An input: its path, its path relative to the input root, its output's path.
Item = collections.namedtuple("Item", "source relative target")
# A decoded input on its way to the model.
Work = collections.namedtuple("Work", "item image metadata")
# What the model made of it: the image, or the one-line reason it failed.
Outcome = collections.namedtuple("Outcome", "image reason worker seconds")


def is_uri(path):
    """True when `path` names a Beam filesystem other than the local one ("gs://...")."""
    return FileSystems.get_scheme(path) is not None


def _uri_root(pattern):
    """The part of a URI pattern its matches are taken relative to: up to the last "/"
    before the first wildcard."""
    first = min((pattern.index(char) for char in _WILDCARDS if char in pattern),
                default=len(pattern))
    return pattern[:pattern.rindex("/", 0, first)]


def _match_uri(pattern, exclude, accept):
    """Lists the files a URI names whose name `accept` takes, as `image_io.list_files`
    does local paths: one file, a folder's non-hidden files (recursive), or a glob's
    files; those under the URI folder `exclude` (None: none) are left out when it lies
    inside the input's root."""
    pattern = pattern.rstrip("/")
    if any(char in pattern for char in _WILDCARDS):
        root, glob, hidden_too = _uri_root(pattern), pattern, True
    else:
        if FileSystems.exists(pattern):
            name = pattern.rsplit("/", 1)[-1]
            return [(pattern, name)] if accept(name) else []
        root, glob, hidden_too = pattern, pattern + "/**", False
    left_out = None
    if exclude is not None and exclude.rstrip("/").startswith(root.rstrip("/") + "/"):
        left_out = exclude.rstrip("/") + "/"
    found = []
    for match in FileSystems.match([glob])[0].metadata_list:
        name = match.path.rsplit("/", 1)[-1]
        if left_out is not None and match.path.startswith(left_out):
            continue
        if accept(name) and (hidden_too or not name.startswith(".")):
            found.append((match.path, match.path[len(root):].lstrip("/")))
    return sorted(found)


def list_inputs(input_pattern, output_path=None):
    """Sorted (path, relative path) pairs of the images and videos `input_pattern` names,
    in one search (`is_video_path` tells them apart): srn-deblur's
    `srn_tf.data.video.list_images_and_videos` for local paths, `_match_uri` for URIs;
    the output folder `output_path` is left out when it lies inside the input, as
    srn-deblur does."""
    if is_uri(input_pattern):
        return _match_uri(input_pattern, output_path if output_path and is_uri(output_path)
                          else None, accept=is_image_or_video_path)
    exclude = [output_path] if output_path and not is_uri(output_path) else []
    return list_images_and_videos(input_pattern, exclude=exclude)


def _photo_or_video(listed, num_partitions):  # pylint: disable=unused-argument
    """`beam.Partition`'s index of a listed (path, relative path): 0 a photo, 1 a video."""
    return int(is_video_path(listed[0]))


def check_outputs_spare_inputs(settings):
    """Raises `srn_tf.write_safety.OutputRefused` when an output of the run `settings`
    describes would be one of its inputs: srn-deblur's check (`per_file.plan_outputs`)
    for local paths, the same paths for URIs; a video's output (`video_output_path`)
    likewise."""
    from srn_tf.write_safety import first_replaced_input

    if is_uri(settings.input_pattern) != is_uri(settings.output_path):
        return  # one local, one remote: no output can be an input
    listed = list_inputs(settings.input_pattern, settings.output_path)
    videos = [pair for pair in listed if is_video_path(pair[0])]
    if not is_uri(settings.input_pattern):
        planned = per_file.plan_outputs(settings.input_pattern, settings.output_path,
                                        settings.output_format)
        replaced = first_replaced_input(
            [source for source, _, _ in planned] + [source for source, _ in videos],
            [video_output_path(settings, relative) for _, relative in videos])
        if replaced is not None:
            raise OutputRefused(replaced_input_message(replaced, "output folder"))
        return
    sources = {source for source, _ in listed}
    targets = [_join(settings.output_path, per_file.output_name(relative, settings.output_format))
               for source, relative in listed if not is_video_path(source)]
    for target in targets + [video_output_path(settings, relative) for _, relative in videos]:
        if target in sources:
            raise OutputRefused(replaced_input_message((target, target), "output folder"))


def _join(folder, relative):
    if is_uri(folder):
        return folder.rstrip("/") + "/" + relative.replace(os.sep, "/")
    return os.path.join(folder, relative)


def video_output_path(settings, relative):
    """A video's output: its relative path in the output folder, name and extension
    kept (--format is the photos')."""
    return _join(settings.output_path, relative)


def write_atomically(path, data):
    """Writes bytes to `path` through Beam's filesystems: a hidden temporary name in the
    same folder, then a rename, so no partial file ever has the final name.

    Raises:
        OSError: "<path>: cannot write (<reason>)".
    """
    temporary = temporary_name(path, "tmp")
    try:
        with FileSystems.create(temporary,
                                compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            handle.write(data)
        FileSystems.rename([temporary], [path])
    except Exception as error:  # Beam's filesystems raise their own kinds
        try:
            FileSystems.delete([temporary])
        except Exception:  # nothing was left to delete
            pass
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise OSError(f"{path}: cannot write ({reason})") from None


def _worker():
    return f"{socket.gethostname()}/{os.getpid()}"


class _SkipExisting(beam.DoFn):
    """Item -> Item unless its output exists (then its path to `_SKIPPED`); `videos`:
    the items are videos (`video_output_path`)."""

    def __init__(self, settings, videos=False):
        self._settings = settings
        self._videos = videos

    def process(self, listed):
        source, relative = listed
        if self._videos:
            target = video_output_path(self._settings, relative)
        else:
            target = _join(self._settings.output_path,
                           per_file.output_name(relative, self._settings.output_format))
        if not self._settings.overwrite and FileSystems.exists(target):
            yield beam.pvalue.TaggedOutput(_SKIPPED, source)
            return
        yield Item(source, relative, target)


def _read(source, max_megapixels):
    """`image_io.read_image_with_metadata` on a local path, or on a URI's bytes copied
    to a local file of the same extension (messages name the URI)."""
    if not is_uri(source):
        return image_io.read_image_with_metadata(source, max_megapixels)
    with tempfile.TemporaryDirectory() as folder:
        local = os.path.join(folder, "input" + os.path.splitext(source)[1])
        with FileSystems.open(source, compression_type=CompressionTypes.UNCOMPRESSED) as remote, \
                open(local, "wb") as handle:
            handle.write(remote.read())
        try:
            return image_io.read_image_with_metadata(local, max_megapixels)
        except (OSError, ValueError) as error:
            raise type(error)(str(error).replace(local, source)) from None


class _Decode(beam.DoFn):
    """Item -> Work; an unreadable, corrupt or too big file to `_FAILED` as (path, reason)."""

    def __init__(self, max_megapixels):
        self._max_megapixels = max_megapixels

    def process(self, item):
        try:
            image, metadata = _read(item.source, self._max_megapixels)
        except Exception as error:  # OSError, ValueError, or a filesystem's own
            yield beam.pvalue.TaggedOutput(
                _FAILED, (item.source, per_file.failure_reason(item.source, error)))
            return
        yield Work(item, image, metadata)


class _PlanVideo(beam.DoFn):
    """Item of a video -> (its path, its `VideoPlan`); each unfinished segment's
    `SegmentTask` to `_SEGMENTS`, the number of segments an earlier run finished to
    `_ALREADY_DONE`; a video that cannot be planned to `_VIDEO_FAILED` as (path, reason)."""

    def __init__(self, settings):
        self._settings = settings

    def process(self, item):
        if is_uri(item.source) or is_uri(item.target):
            yield beam.pvalue.TaggedOutput(_VIDEO_FAILED, (
                item.source, f"{item.source}: videos are read and written on local paths "
                "only (a filesystem every worker mounts at the same place)"))
            return
        try:
            plan, pending = video_segments.plan_video(item, self._settings)
        except (OSError, ValueError, ImportError) as error:  # VideoError, MissingVideoExtra
            yield beam.pvalue.TaggedOutput(
                _VIDEO_FAILED, (item.source, per_file.failure_reason(item.source, error)))
            return
        yield beam.pvalue.TaggedOutput(_ALREADY_DONE, len(plan.work.segments) - len(pending))
        for task in pending:
            yield beam.pvalue.TaggedOutput(_SEGMENTS, task)
        yield item.source, plan


def _batch_weight(batch_size, element):
    """An element's share of a RunInference batch: a photo 1, a video's segment the
    whole batch (a segment is many frames: it runs alone, and segments spread)."""
    return batch_size if isinstance(element, video_segments.SegmentTask) else 1


class DeblurModelHandler(ModelHandler):
    """RunInference's model handler: `load_deblur_model` once per worker process, then
    `per_file.deblur_decoded` on each `Work` of a batch, same-size images together,
    and `video_segments.deblur_task` on a video's `SegmentTask` (alone in its batch).

    A batch's PredictionResults carry an `Outcome` (the result, or the reason an
    image failed, so one bad image fails alone, not its batch), or a segment's
    `SegmentOutcome`.
    """

    def __init__(self, settings):
        super().__init__(max_batch_size=settings.batch_size,
                         element_size_fn=functools.partial(_batch_weight, settings.batch_size))
        self._settings = settings

    def load_model(self):
        from srn_tf.tensorflow_startup import import_tensorflow

        import_tensorflow()  # without its start-up lines on each worker's stderr
        from srn_tf.checkpoints.loading import load_deblur_model

        return load_deblur_model(self._settings.checkpoint, self._settings.model_type)

    def run_inference(self, batch, model, inference_args=None):
        settings = self._settings
        errors = per_file.file_errors()
        outcomes = [None] * len(batch)
        for index, work in enumerate(batch):
            if isinstance(work, video_segments.SegmentTask):
                outcomes[index] = video_segments.deblur_task(model, work, settings, _worker())
        photos = [index for index, outcome in enumerate(outcomes) if outcome is None]
        same_size_together = sorted(
            photos, key=lambda i: (batch[i].image.shape, str(batch[i].image.dtype)))
        for index in same_size_together:
            work = batch[index]
            began = time.perf_counter()
            try:
                if settings.height is None:  # the fixed-size mode shrinks big images
                    per_file.check_memory_of_shape(work.item.source, model, work.image.shape,
                                                   work.image.itemsize, settings.tile)
                image = per_file.deblur_decoded(
                    model, work.image, settings.options, settings.precision, settings.height,
                    settings.width, settings.tile, settings.tile_overlap)
                reason = None
            except errors as error:
                image, reason = None, per_file.failure_reason(work.item.source, error)
            outcomes[index] = Outcome(image, reason, _worker(), time.perf_counter() - began)
        return [PredictionResult(work, outcome) for work, outcome in zip(batch, outcomes)]

    def get_num_bytes(self, batch):
        return sum(work.image.nbytes for work in batch
                   if not isinstance(work, video_segments.SegmentTask))

    def get_metrics_namespace(self):
        return "srn_batch"


class _RouteSegments(beam.DoFn):
    """PredictionResult -> itself for a photo; (video path, SegmentOutcome) to
    `_SEGMENTS` for a video's segment."""

    def process(self, prediction):
        if isinstance(prediction.example, video_segments.SegmentTask):
            yield beam.pvalue.TaggedOutput(
                _SEGMENTS, (prediction.example.item.source, prediction.inference))
        else:
            yield prediction


class _JoinVideo(beam.DoFn):
    """(video path, {"plan": [VideoPlan], "outcomes": [SegmentOutcome...]}) -> its path
    once the output is joined; each failed segment, or a failed join, to `_VIDEO_FAILED`
    as (path, reason), and the video gets no output (its work folder stays for a rerun)."""

    def process(self, grouped):
        source, parts = grouped
        (plan,) = parts["plan"]
        reasons = [outcome.reason for outcome in parts["outcomes"] if outcome.reason]
        for reason in sorted(reasons):
            yield beam.pvalue.TaggedOutput(_VIDEO_FAILED, (source, reason))
        if reasons:
            return
        try:
            video_segments.join_video(plan)
        except (OSError, ValueError) as error:
            yield beam.pvalue.TaggedOutput(_VIDEO_FAILED,
                                           (source, per_file.failure_reason(source, error)))
            return
        yield source


class _Write(beam.DoFn):
    """PredictionResult -> (worker, seconds) once its output is written; a failure to
    `_FAILED` as (path, reason)."""

    def process(self, prediction):
        work, outcome = prediction.example, prediction.inference
        source, target = work.item.source, work.item.target
        if outcome.reason is not None:
            yield beam.pvalue.TaggedOutput(_FAILED, (source, outcome.reason))
            return
        extension = os.path.splitext(target)[1]
        try:
            with tempfile.TemporaryDirectory() as folder:
                local = os.path.join(folder, "output" + extension)
                try:
                    image_io.write_image(local, per_file.fit_to_format(outcome.image, extension),
                                         work.metadata)
                except (OSError, ValueError) as error:
                    raise type(error)(str(error).replace(local, target)) from None
                with open(local, "rb") as handle:
                    write_atomically(target, handle.read())
        except (OSError, ValueError) as error:
            yield beam.pvalue.TaggedOutput(_FAILED,
                                           (source, per_file.failure_reason(source, error)))
            return
        yield outcome.worker, outcome.seconds


class _SecondsAndCount(beam.CombineFn):
    """(seconds, images) totals of a worker."""

    def create_accumulator(self):
        return 0.0, 0

    def add_input(self, accumulator, seconds):
        return accumulator[0] + seconds, accumulator[1] + 1

    def merge_accumulators(self, accumulators):
        totals = list(accumulators)
        return sum(total[0] for total in totals), sum(total[1] for total in totals)

    def extract_output(self, accumulator):
        return accumulator


def failures_csv(failures):
    """failures.csv's text: a header, then one (file, reason) row per failure, sorted."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["file", "reason"])
    writer.writerows(sorted(failures))
    return text.getvalue()


def _video_summary(joined, skipped, failures, segments, already_done):
    """summary.json's "videos": counts of videos and of their segments."""
    failed = len({source for source, _ in failures})
    return {
        "videos": joined + skipped + failed,
        "done": joined,
        "skipped": skipped,
        "failed": failed,
        "segments": {
            "deblurred": sum(outcome.reason is None for outcome in segments),
            "already_done": sum(already_done),
            "failed": sum(outcome.reason is not None for outcome in segments),
            "retries": sum(outcome.attempts - 1 for outcome in segments),
        },
    }


def _write_reports(_, settings, failures, workers, skipped, video_failures, videos_joined,
                   videos_skipped, segments, segments_already_done):
    """Writes failures.csv and summary.json into the output folder; returns the summary."""
    done = sum(count for _, (_, count) in workers)
    summary = {
        "images": done + skipped + len(failures),
        "done": done,
        "skipped": skipped,
        "failed": len(failures),
        "workers": {worker: {"images": count, "seconds_per_image": seconds / count}
                    for worker, (seconds, count) in sorted(workers)},
        "videos": _video_summary(videos_joined, videos_skipped, video_failures,
                                 [outcome for _, outcome in segments], segments_already_done),
        "failures": FAILURES_FILE,
    }
    write_atomically(_join(settings.output_path, FAILURES_FILE),
                     failures_csv(failures + video_failures).encode("utf-8"))
    write_atomically(_join(settings.output_path, SUMMARY_FILE),
                     (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return summary


def build_pipeline(pipeline, settings):
    """Adds srn-batch's transforms for `settings` (a `BatchSettings`) to `pipeline`."""
    listed = (pipeline
              | "Pattern" >> beam.Create([settings.input_pattern])
              | "List" >> beam.FlatMap(list_inputs, settings.output_path))
    photos_listed, videos_listed = listed | "PhotosAndVideos" >> beam.Partition(
        _photo_or_video, 2)
    todo = photos_listed | "SkipExisting" >> beam.ParDo(_SkipExisting(settings)).with_outputs(
        _SKIPPED, main="todo")
    decoded = (todo.todo
               | "Spread" >> beam.Reshuffle()
               | "Decode" >> beam.ParDo(_Decode(settings.max_megapixels)).with_outputs(
                   _FAILED, main="work"))
    videos = (videos_listed
              | "SkipExistingVideos" >> beam.ParDo(_SkipExisting(settings, videos=True))
              .with_outputs(_SKIPPED, main="todo"))
    plans = videos.todo | "PlanVideos" >> beam.ParDo(_PlanVideo(settings)).with_outputs(
        _SEGMENTS, _ALREADY_DONE, _VIDEO_FAILED, main="plans")
    segments = plans[_SEGMENTS] | "SpreadSegments" >> beam.Reshuffle()
    deblurred = ((decoded.work, segments)
                 | "PhotosAndSegments" >> beam.Flatten()
                 | "Deblur" >> RunInference(DeblurModelHandler(settings))
                 | "RouteSegments" >> beam.ParDo(_RouteSegments()).with_outputs(
                     _SEGMENTS, main="photos"))
    written = (deblurred.photos
               | "Write" >> beam.ParDo(_Write()).with_outputs(_FAILED, main="written"))
    joined = ({"plan": plans.plans, "outcomes": deblurred[_SEGMENTS]}
              | "PerVideo" >> beam.CoGroupByKey()
              | "JoinVideos" >> beam.ParDo(_JoinVideo()).with_outputs(_VIDEO_FAILED,
                                                                       main="joined"))
    failures = ((decoded[_FAILED], written[_FAILED])
                | "Failures" >> beam.Flatten())
    video_failures = ((plans[_VIDEO_FAILED], joined[_VIDEO_FAILED])
                      | "VideoFailures" >> beam.Flatten())
    workers = written.written | "PerWorker" >> beam.CombinePerKey(_SecondsAndCount())
    skipped = todo[_SKIPPED] | "CountSkipped" >> beam.combiners.Count.Globally()
    return (pipeline
            | "Report" >> beam.Create([None])
            | "WriteReports" >> beam.Map(
                _write_reports, settings,
                failures=beam.pvalue.AsList(failures),
                workers=beam.pvalue.AsList(workers),
                skipped=beam.pvalue.AsSingleton(skipped),
                video_failures=beam.pvalue.AsList(video_failures),
                videos_joined=beam.pvalue.AsSingleton(
                    joined.joined | "CountJoined" >> beam.combiners.Count.Globally()),
                videos_skipped=beam.pvalue.AsSingleton(
                    videos[_SKIPPED] | "CountSkippedVideos" >> beam.combiners.Count.Globally()),
                segments=beam.pvalue.AsList(deblurred[_SEGMENTS]),
                segments_already_done=beam.pvalue.AsList(plans[_ALREADY_DONE])))


def read_summary(output_path):
    """The summary.json a run wrote into `output_path`, as a dict."""
    with FileSystems.open(_join(output_path, SUMMARY_FILE),
                          compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        return json.loads(handle.read().decode("utf-8"))


def run_batch(settings, pipeline_options):
    """Runs srn-batch's pipeline to the end.

    Args:
        settings: a `BatchSettings`.
        pipeline_options: Beam's `PipelineOptions` (runner and the runner's own).

    Returns:
        The run's summary (summary.json) with "seconds": the run's wall time.

    Raises:
        srn_tf.write_safety.OutputRefused: an output would be one of the inputs
            (`check_outputs_spare_inputs`); nothing is written.
    """
    check_outputs_spare_inputs(settings)
    began = time.time()
    with beam.Pipeline(options=pipeline_options) as pipeline:
        build_pipeline(pipeline, settings)
    summary = read_summary(settings.output_path)
    summary["seconds"] = time.time() - began
    return summary
