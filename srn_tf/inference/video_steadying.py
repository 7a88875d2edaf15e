"""Steadier video: each deblurred frame blended with the previous one where they agree.

Deblurring a video frame by frame flickers: the network's error changes from one
frame to the next as the blur does, so still details crawl. `steady_frame` blends
each output with the previous steadied output, moved by the motion between the two
outputs (one global shift, `estimated_shift`), pixel by pixel in proportion to how
well the two agree: where they differ by more than a deblurred frame's own error
(a moving object, a wrong shift, a cut) the current output is kept as it is.
benchmarks/video_flicker.py measures it (docs/video.md, "Flicker"): lower flicker
and no clip's mean PSNR lower.

Frames are (height, width, channels) arrays of one dtype: uint8, uint16 or float32
in [0, 1].
"""

import cv2
import numpy as np

from srn_tf.inference.samples import SCALES, to_float

# The previous frame's weight where both frames agree exactly.
MAX_WEIGHT = 0.5
# A channel-mean difference (over a BOX x BOX window, [0, 1] units) at which the
# previous frame's weight falls to MAX_WEIGHT / e: a few 8-bit levels, a deblurred
# frame's own error, above which a difference is real change.
TOLERANCE = 4.0 / 255.0
BOX = 5


def estimated_shift(previous, current):
    """(dx, dy) pixels the scene moved from `previous` to `current`: `current`'s
    pixel (row, column) shows what `previous` showed at (row + dy, column + dx).

    One global shift by phase correlation of the frames' grey levels
    (`cv2.phaseCorrelate`, Hann window): a camera pan, not objects moving apart;
    `blend_with_previous` keeps whatever it leaves unexplained out of the blend.
    """
    def gray(frame):
        planes = to_float(frame)
        return (cv2.cvtColor(planes, cv2.COLOR_RGB2GRAY) if planes.shape[-1] == 3
                else planes[..., 0])

    previous, current = gray(previous), gray(current)
    window = cv2.createHanningWindow(current.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(current, previous, window)
    return float(dx), float(dy)


def _moved(previous, shift):
    """`previous` (float32 (h, w, c)) moved by `shift` into the current frame's place,
    and the (h, w) mask of pixels it covers."""
    height, width = previous.shape[:2]
    matrix = np.float32([[1, 0, -shift[0]], [0, 1, -shift[1]]])
    moved = cv2.warpAffine(previous, matrix, (width, height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    covered = cv2.warpAffine(np.ones((height, width), np.float32), matrix, (width, height),
                             flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return moved.reshape(previous.shape), covered > 0.999


def blend_with_previous(previous, current, shift):
    """`current` blended with `previous` moved by `shift`, where the two agree.

    Args:
        previous: float32 (height, width, channels) in [0, 1], the previous
            steadied frame.
        current: float32 array of that shape, this frame's output.
        shift: (dx, dy) pixels the scene moved from `previous` to `current`.

    Returns:
        float32 array of that shape: per pixel `current + w (moved - current)`,
        w = MAX_WEIGHT exp(-(d / TOLERANCE)^2), d the channel-mean absolute
        difference over a BOX x BOX window; w = 0 where `previous` does not reach.
    """
    moved, covered = _moved(previous, shift)
    difference = cv2.blur(np.abs(moved - current).mean(axis=-1), (BOX, BOX))
    weight = np.float32(MAX_WEIGHT) * np.exp(-(difference / TOLERANCE) ** 2) * covered
    return current + weight[..., None] * (moved - current)


def steady_frame(previous_steadied, previous_output, current_output, shift=None):
    """This frame's output steadied by the previous frame's.

    Call it for every frame but the first of a run of frames (a video, or a
    segment deblurred on its own), in order, with the previous call's result:
    the first frame is its output as it is.

    Args:
        previous_steadied: what this function returned for the previous frame
            (the previous output itself for the second frame).
        previous_output, current_output: the deblurred previous and current
            frames, unsteadied; the motion is measured between these two.
        shift: (dx, dy) the scene moved, when known; `estimated_shift` of the
            two outputs when None.

    Returns:
        The steadied frame, `current_output`'s shape and dtype (integers rounded).
    """
    if shift is None:
        shift = estimated_shift(previous_output, current_output)
    blended = np.clip(blend_with_previous(to_float(previous_steadied), to_float(current_output),
                                          shift), 0.0, 1.0)
    if current_output.dtype == np.float32:
        return blended
    return np.rint(blended * SCALES[current_output.dtype]).astype(current_output.dtype)
