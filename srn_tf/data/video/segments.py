"""Cutting a video's frames into segments that can be decoded, deblurred and encoded
independently: each starts at a key frame, so a segment needs no frame of another, and
a run that stops loses at most the segment it was in."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Segment:
    """Frames start .. stop - 1 (indices into VideoInfo.frame_pts, presentation order).

    `start` is a key frame's index (or 0: the first segment always starts at the first
    frame, so frames before the first key frame, if a damaged file has any, are not
    silently dropped: decoding them fails with a message instead).
    """

    index: int
    start: int
    stop: int

    @property
    def frame_count(self):
        return self.stop - self.start


def plan_segments(info, min_frames=48):
    """Cuts `info`'s frames at key frames into segments of at least `min_frames` frames.

    A cut is made only at a key frame at least `min_frames` after the segment's start,
    so a GOP is never split; the last segment may be shorter, or longer when the rest
    holds no later key frame.

    Args:
        info: a VideoInfo (frame_pts, key_frames).
        min_frames: the shortest segment but the last (a positive int). Longer segments
            mean fewer encoder restarts (each segment file starts with a key frame) and
            less to redo after a stop; shorter ones spread a video over more workers.

    Returns:
        A list of Segment, in order, covering every frame exactly once.
    """
    if min_frames < 1:
        raise ValueError(f"min_frames must be at least 1. Received: min_frames={min_frames}")
    starts = [0]
    for key in info.key_frames:
        if key - starts[-1] >= min_frames:
            starts.append(key)
    stops = starts[1:] + [info.frame_count]
    return [Segment(index, start, stop)
            for index, (start, stop) in enumerate(zip(starts, stops))]
