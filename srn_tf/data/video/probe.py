"""What a video file holds: `probe_video` reads every video packet's timestamps (no
decoding but the first frame) into a `VideoInfo`, or refuses the file in one line.

The timestamps are what keeps a clip's timing through srn-tf: every output frame is
written with its input frame's pts in the input's time base, so variable frame rate,
gaps and the duration survive unchanged.
"""

import dataclasses
import fractions
import os
import struct

from srn_tf.data.video import VideoError, import_av
from srn_tf.data.video.color import color_names

# A file whose packets end this much before the duration its header gives is truncated
# (seconds; besides two frames' time, for containers that round their durations).
TRUNCATION_TOLERANCE = 0.05


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """The layout of a video file's (first) video stream and what else is copied with it.

    Attributes:
        path: the file.
        container: FFmpeg's demuxer name ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm").
        codec: the video codec's name ("h264").
        width, height: stored frame size in pixels, before rotation.
        pixel_format: decoded pixel format ("yuv420p", "yuv420p10le").
        bit_depth: bits per sample, 8 to 16; frames are uint8 for 8, uint16 above.
        time_base: the video stream's time base (seconds per pts unit).
        frame_pts: every frame's pts in presentation order (time_base units).
        frame_durations: each frame's duration (time_base units): the gap to the next
            frame's pts; the last frame's from its packet (or the one before it).
        key_frames: indices into frame_pts of the frames decoding can start at.
        average_rate: frames per second (the stream's average, or count / duration).
        duration: seconds from the first frame's pts to the last frame's end.
        rotation: counter-clockwise degrees the display matrix turns the frames (0: none).
        display_matrix: the display matrix's 9 int32 values (None: none), kept whole so
            flips survive too.
        color: FFmpeg's names of the stream's "primaries", "transfer", "matrix" and "range".
        copied_streams: indices of the audio and subtitle streams to copy unchanged.
    """

    path: str
    container: str
    codec: str
    width: int
    height: int
    pixel_format: str
    bit_depth: int
    time_base: fractions.Fraction
    frame_pts: tuple
    frame_durations: tuple
    key_frames: tuple
    average_rate: fractions.Fraction
    duration: float
    rotation: int
    display_matrix: tuple
    color: dict
    copied_streams: tuple

    @property
    def frame_count(self):
        return len(self.frame_pts)

    @property
    def frame_dtype(self):
        """numpy's name of the frames' sample type: "uint8" (8-bit) or "uint16" (above)."""
        return "uint8" if self.bit_depth <= 8 else "uint16"


def is_image_demuxer(name):
    """Whether FFmpeg demuxer `name` reads still images ("png_pipe", "image2"...)."""
    return name == "image2" or name.endswith("_pipe")


def open_input(path, av):
    """`av.open(path)` with FFmpeg's errors as a one-line VideoError."""
    try:
        return av.open(os.fspath(path))
    except (av.FFmpegError, OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise VideoError(path, f"cannot open as a video ({reason})") from None


def video_stream(container, path):
    """The container's first video stream that is not a cover picture, or VideoError."""
    av = import_av()
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    found = ", ".join(f"{stream.type} {stream.codec_context.name if stream.codec_context else '?'}"
                      for stream in container.streams) or "none"
    raise VideoError(path, f"has no video stream (streams: {found})")


def probe_video(path):
    """Reads the layout of `path`'s video stream.

    Demuxes the whole file (packets only: fast, memory in proportion to the frame
    count, not the pixels) and decodes the first frame, whose side data carries the
    rotation and whose tags are the colour.

    Returns:
        VideoInfo.

    Raises:
        VideoError: the file cannot be opened as a video, is a still image whatever its
            extension, has no video stream, has a codec this FFmpeg cannot decode, has
            video packets without timestamps or none at all, ends before the duration its
            header gives (truncated), or its first frame cannot be decoded.
        MissingVideoExtra: PyAV is not installed.
    """
    av = import_av()
    path = os.fspath(path)
    with open_input(path, av) as container:
        if is_image_demuxer(container.format.name):
            raise VideoError(path, f"is a still image ({container.format.name}), not a video")
        stream = video_stream(container, path)
        if stream.codec_context is None:
            raise VideoError(path, "its video codec has no decoder in this FFmpeg")
        key_by_pts, last_packet_duration, end = _demux_timestamps(container, stream, path)
        pts = sorted(key_by_pts)
        if not pts:
            raise VideoError(path, "has no video frames")
        durations = _frame_durations(pts, last_packet_duration)
        time_base = stream.time_base
        _check_complete(path, container, stream, len(pts),
                        float(max(durations) * time_base), end)
        first = _first_frame(container, stream, path, av)
        duration = float((pts[-1] + durations[-1] - pts[0]) * time_base)
        rate = stream.average_rate or fractions.Fraction(len(pts)) / fractions.Fraction(duration)
        return VideoInfo(
            path=path, container=container.format.name, codec=stream.codec_context.name,
            width=first.width, height=first.height, pixel_format=first.format.name,
            bit_depth=max(component.bits for component in first.format.components),
            time_base=fractions.Fraction(time_base), frame_pts=tuple(pts),
            frame_durations=tuple(durations),
            key_frames=tuple(index for index, value in enumerate(pts) if key_by_pts[value]),
            average_rate=fractions.Fraction(rate), duration=duration,
            rotation=first.rotation, display_matrix=_display_matrix(first, av),
            color=color_names(first.color_primaries, first.color_trc, first.colorspace,
                              first.color_range),
            copied_streams=tuple(other.index for other in container.streams
                                 if other.type in ("audio", "subtitle")))


def _demux_timestamps(container, stream, path):
    """Reads every packet: the video frames' pts (-> whether a key frame), the duration
    of the last frame (in presentation order; 0 when its packet has none), and the
    latest end (seconds) of any stream's packet.

    A video packet without pts takes its dts when the codec never reorders frames (AVI
    stores only dts); otherwise it is refused.
    """
    av = import_av()
    key_by_pts = {}
    last = (None, 0)  # (pts, duration) of the latest frame so far
    end = 0.0
    reorders = stream.codec_context.has_b_frames > 0
    try:
        for packet in container.demux():
            if packet.size == 0:
                continue
            if packet.stream.index == stream.index:
                pts = packet.pts if packet.pts is not None or reorders else packet.dts
                if pts is None:
                    raise VideoError(path, f"video packet {len(key_by_pts)} has no timestamp")
                key_by_pts[pts] = packet.is_keyframe
                if last[0] is None or pts > last[0]:
                    last = (pts, packet.duration or 0)
            time = packet.pts if packet.pts is not None else packet.dts
            if time is not None and packet.time_base:
                end = max(end, float((time + (packet.duration or 0)) * packet.time_base))
    except av.FFmpegError as error:
        raise VideoError(path, f"unreadable after video frame {len(key_by_pts)} "
                               f"(damaged or truncated: {error})") from None
    return key_by_pts, last[1], end


def _frame_durations(pts, last_packet_duration):
    """Each frame's duration: the gap to the next pts; the last one's from its packet, or
    the gap before it when the packet has none."""
    gaps = [later - earlier for earlier, later in zip(pts, pts[1:])]
    last = last_packet_duration or (gaps[-1] if gaps else 1)
    return gaps + [last]


def _check_complete(path, container, stream, frame_count, frame_time, end):
    """VideoError when the file stops before its header says: fewer frames than the
    stream's declared count (MP4, MOV, AVI), or, in Matroska (which declares only a
    duration), every stream's packets ending (`end`, seconds) more than two frames
    (plus TRUNCATION_TOLERANCE) before the declared duration. `frame_time`: the
    longest frame's duration (seconds)."""
    if stream.frames and frame_count < stream.frames:
        raise VideoError(path, f"is truncated: its header says {stream.frames} frames, "
                               f"{frame_count} are there (refused: finish or repair the copy)")
    if container.format.name != "matroska,webm" or not container.duration:
        return
    declared = container.duration / 1e6
    found = end - (container.start_time or 0) / 1e6
    if found < declared - 2 * frame_time - TRUNCATION_TOLERANCE:
        raise VideoError(path, f"is truncated: its header says {declared:.3f} s, its packets "
                               f"stop at {found:.3f} s (refused: finish or repair the copy)")


def _first_frame(container, stream, path, av):
    """The first decoded frame (its side data and tags describe the stream), or VideoError."""
    try:
        container.seek(0)
        for frame in container.decode(stream):
            return frame
    except av.FFmpegError as error:
        raise VideoError(path, f"cannot decode its first frame ({error})") from None
    raise VideoError(path, "none of its video packets decodes to a frame")


def _display_matrix(frame, av):
    """The frame's display matrix side data as 9 int32 values, or None.

    Looked up by type: iterating over the side data gives the entries in PyAV 18.1.0
    but their types in 18.1.1."""
    side_data = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
    if side_data is None:
        return None
    return struct.unpack("=9i", bytes(side_data)[:36])
