"""Decoding one segment of a video into RGB arrays, and running a frame source ahead of
its consumer in a thread, with a bounded queue, so memory stays a few frames deep."""

import queue
import threading

from srn_tf.data.video import VideoError, import_av
from srn_tf.data.video.probe import open_input, video_stream

# RGB formats the frames are converted to: 8-bit video to uint8, deeper video to uint16
# on the full 16-bit scale (a 10-bit 1023 reads 65535, as in a 16-bit PNG).
RGB_FORMATS = {"uint8": "rgb24", "uint16": "rgb48le"}


def to_rgb_array(frame, dtype):
    """A decoded frame as (height, width, 3) RGB of `dtype` ("uint8" or "uint16").

    The conversion uses the frame's own colour matrix and range (swscale reads them
    from the frame; an untagged matrix converts as BT.601, as FFmpeg does).
    """
    return frame.to_ndarray(format=RGB_FORMATS[dtype])


def segment_frames(info, segment):
    """Yields (pts, frame) for each frame of `segment`, in presentation order.

    Seeks to the segment's key frame and decodes until every frame with
    frame_pts[start] <= pts < frame_pts[stop] is out (with open GOPs that is past the
    next key frame). One decoded frame at a time is held, whatever the segment's length.

    Args:
        info: the video's VideoInfo.
        segment: a Segment of it (plan_segments).

    Yields:
        (pts in info.time_base units, (height, width, 3) RGB array, info.frame_dtype).

    Raises:
        VideoError: a frame cannot be decoded, or frames are missing (a damaged or
            truncated file); the message names the file and the frame.
    """
    av = import_av()
    wanted = info.frame_pts[segment.start:segment.stop]
    first = wanted[0]
    expected = 0
    with open_input(info.path, av) as container:
        stream = video_stream(container, info.path)
        stream.thread_type = "AUTO"
        if segment.start > 0:
            container.seek(first, stream=stream, backward=True)
        try:
            for frame in container.decode(stream):
                if frame.pts is None or frame.pts < first:
                    continue
                # A frame is missing; a frame past the segment differs too (frame_pts rise).
                if frame.pts != wanted[expected]:
                    break
                yield frame.pts, to_rgb_array(frame, info.frame_dtype)
                expected += 1
                if expected == len(wanted):
                    return
        except av.FFmpegError as error:
            raise VideoError(info.path, f"cannot decode frame {segment.start + expected} "
                                        f"({error})") from None
    raise VideoError(info.path, f"frame {segment.start + expected} (pts {wanted[expected]}) "
                                "does not decode (damaged or truncated file)")


def prefetched(iterable, depth):
    """Iterates `iterable` in a thread of its own, at most `depth` items ahead.

    For a decoder feeding a slower consumer (the network): the next frames are decoded
    while the current one is processed, and memory holds at most `depth` + 2 items. An
    exception in the thread is raised here, in the consumer, at the item it replaced.
    Closing the returned generator early stops the thread.

    Args:
        iterable: any iterable (e.g. segment_frames(...)).
        depth: the queue's size (a positive int).
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1. Received: depth={depth}")
    items = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        iterator = iter(iterable)
        try:
            for item in iterator:
                if not _put(items, (item, None), stop):
                    return
            _put(items, (done, None), stop)
        except BaseException as error:  # handed to the consumer, who raises it
            _put(items, (done, error), stop)
        finally:
            if hasattr(iterator, "close"):  # a generator: release what it holds (files)
                iterator.close()

    thread = threading.Thread(target=produce, name="prefetched", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _put(items, item, stop):
    """Puts `item` on the queue unless `stop` is set first; True when it was put."""
    while not stop.is_set():
        try:
            items.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
