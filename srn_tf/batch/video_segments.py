"""srn-batch's videos, cut into segments that Beam workers deblur independently.

    a video -> plan_video (probe, segments at key frames, the encoding, the work
    folder srn-deblur uses) -> one SegmentTask per unfinished segment
    -> deblur_task on any worker (`deblur_video.deblur_segment`, tried up to
    SEGMENT_ATTEMPTS times) -> join_video once every segment is done
    (`VideoWork.join`: the segments' packets and the input's audio, temporary name
    then rename; the work folder removed)

The work folder is srn-deblur's (`deblur_video.VideoWork`, beside the output), opened
by the same `deblur_video.open_video_work` with the same settings, so a rerun of
either command skips the segments the other finished. These are plain functions;
srn_tf/batch/pipeline.py wraps them in Beam transforms.
"""

import collections
import logging
import os
import time

from srn_tf.inference import per_file

SEGMENT_ATTEMPTS = 3

# A video's plan: its Item (source, relative, target), what probe_video found, the
# encoding of its output, and its work folder (with every segment: work.segments).
VideoPlan = collections.namedtuple("VideoPlan", "item info encoding work")
# One unfinished segment of a video, for any worker.
SegmentTask = collections.namedtuple("SegmentTask", "item info encoding segment path")
# What became of a segment: reason None when it was written; attempts made.
SegmentOutcome = collections.namedtuple("SegmentOutcome", "reason attempts worker seconds")


def plan_video(item, settings):
    """Probes the video `item.source` and opens its work folder beside `item.target`.

    Args:
        item: the video's (source, relative, target); local paths.
        settings: the run's `BatchSettings` (model, options, precision, tiles, codec:
            `deblur_video.open_video_work` makes srn-deblur's manifest of them).

    Returns:
        (VideoPlan, [SegmentTask of each segment not yet done]).

    Raises:
        ValueError (`VideoError`, one line naming the file), OSError, ImportError
        (`MissingVideoExtra`): the video cannot be planned; it fails alone.
    """
    from srn_tf.data.video.probe import probe_video
    from srn_tf.inference.deblur_video import open_video_work

    if settings.height is not None:
        raise ValueError(f"{item.source}: --height/--width (the fixed-size mode) is for "
                         "photos; videos are deblurred at their own size")
    info = probe_video(item.source)
    encoding, work = open_video_work(
        item.target, info, settings.checkpoint, settings.model_type, settings.options,
        settings.precision, settings.tile, settings.tile_overlap, settings.video_codec,
        settings.crf)
    pending = [SegmentTask(item, info, encoding, segment, work.segment_path(segment))
               for segment in work.pending()]
    return VideoPlan(item, info, encoding, work), pending


def segment_name(task):
    """How a segment is named in messages: "<video>: frames 24-47"."""
    segment = task.segment
    return f"{task.item.source}: frames {segment.start}-{segment.stop - 1}"


def deblur_task(model, task, settings, worker):
    """Deblurs one segment into its file in the work folder, trying again after a
    failure, up to SEGMENT_ATTEMPTS attempts in all (each failed attempt is logged).
    A frame the memory plan cannot fit (`deblur_video.check_frame_memory`, as for a
    photo) fails at once.

    A segment's file appears only when it is complete (`deblur_segment` writes under
    a temporary name), so a retry starts clean.

    Returns:
        A SegmentOutcome; its reason (None when written) names the video, the frame
        range and the number of attempts.
    """
    from srn_tf.inference.deblur_video import check_frame_memory, deblur_segment

    errors = per_file.file_errors()
    began = time.perf_counter()
    info = task.info
    try:  # a frame that cannot fit in memory will not fit on a retry either
        check_frame_memory(model, info, settings.tile)
    except errors as error:
        return SegmentOutcome(per_file.failure_reason(info.path, error), 1, worker,
                              time.perf_counter() - began)
    reason = None
    for attempt in range(1, SEGMENT_ATTEMPTS + 1):
        try:
            deblur_segment(model, task.info, task.segment, task.encoding, task.path,
                           options=settings.options, precision=settings.precision,
                           tile=settings.tile, tile_overlap=settings.tile_overlap)
            return SegmentOutcome(None, attempt, worker, time.perf_counter() - began)
        except errors as error:
            detail = per_file.failure_reason(task.item.source, error)
            detail = detail[len(task.item.source):].lstrip(": ")
            reason = f"{segment_name(task)}: {detail}"
            logging.warning("%s (attempt %d of %d%s)", reason, attempt, SEGMENT_ATTEMPTS,
                            ", trying again" if attempt < SEGMENT_ATTEMPTS else "")
    return SegmentOutcome(f"{reason} (failed {SEGMENT_ATTEMPTS} attempts)", SEGMENT_ATTEMPTS,
                          worker, time.perf_counter() - began)


def join_video(plan):
    """Joins the video's finished segments with its audio and subtitles into its
    output (`VideoWork.join`: temporary name, then rename), then removes the work
    folder.

    Raises:
        ValueError: a segment's file is missing (named with its frame range), or what
            `VideoWork.join` raises (one line naming the file); OSError.
    """
    missing = plan.work.pending()
    if missing:
        raise ValueError(f"{plan.item.source}: frames {missing[0].start}-"
                         f"{missing[0].stop - 1} were not deblurred")
    os.makedirs(os.path.dirname(os.path.abspath(plan.item.target)), exist_ok=True)
    plan.work.join(plan.info, plan.item.target, plan.encoding)
