"""srn-batch's videos, cut into segments that Beam workers deblur independently.

    a video -> plan_video (probe, segments at key frames, the encoding, the work
    folder srn-deblur uses) -> one SegmentTask per unfinished segment
    -> deblur_task on any worker (`deblur_video.deblur_segment`, tried up to
    SEGMENT_ATTEMPTS times) -> join_video once every segment is done
    (`join_segments`: the segments' packets and the input's audio, temporary name
    then rename; the work folder removed)

The work folder is srn-deblur's (`deblur_video.VideoWork`, beside the output), with
the same settings, so a rerun of either command skips the segments the other
finished. These are plain functions; srn_tf/batch/pipeline.py wraps them in Beam
transforms.
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
            `deblur_video.work_settings` makes srn-deblur's manifest of them).

    Returns:
        (VideoPlan, [SegmentTask of each segment not yet done]).

    Raises:
        ValueError (`VideoError`, one line naming the file), OSError, ImportError
        (`MissingVideoExtra`): the video cannot be planned; it fails alone.
    """
    from srn_tf.data.video.encode import choose_encoding
    from srn_tf.data.video.probe import probe_video
    from srn_tf.inference.deblur_video import VideoWork, work_settings

    if settings.height is not None:
        raise ValueError(f"{item.source}: --height/--width (the fixed-size mode) is for "
                         "photos; videos are deblurred at their own size")
    info = probe_video(item.source)
    encoding = choose_encoding(item.target, info, settings.video_codec, settings.crf)
    work = VideoWork.open(item.target, info, work_settings(
        settings.checkpoint, settings.model_type, settings.options, settings.precision,
        settings.tile, settings.tile_overlap, encoding))
    pending = [SegmentTask(item, info, encoding, segment, work.segment_path(segment))
               for segment in work.segments if not work.is_done(segment)]
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
    output (`join_segments`: temporary name, then rename), then removes the work
    folder.

    Raises:
        ValueError: a segment's file is missing (named with its frame range), or what
            `join_segments` raises (one line naming the file); OSError.
    """
    from srn_tf.data.video.join import join_segments

    for segment in plan.work.segments:
        if not plan.work.is_done(segment):
            raise ValueError(f"{plan.item.source}: frames {segment.start}-{segment.stop - 1}"
                             " were not deblurred")
    os.makedirs(os.path.dirname(os.path.abspath(plan.item.target)), exist_ok=True)
    paths = [plan.work.segment_path(segment) for segment in plan.work.segments]
    join_segments(plan.info, paths, plan.item.target, plan.encoding)
    plan.work.remove()
