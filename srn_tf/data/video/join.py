"""Joining the segment files of a video into the output: their video packets in order and
the input's audio and subtitle packets, all copied unchanged (no re-encoding), with the
input's timing, rotation and colour tags."""

import fractions
import heapq
import os

from srn_tf.atomic_files import atomic_file
from srn_tf.data.video import VideoError, import_av
from srn_tf.data.video.color import tag_codec_context
from srn_tf.data.video.encode import MUXERS

# Stream tags the muxer writes itself: copying the input's would state stale values.
MUXER_TAGS = ("DURATION", "ENCODER", "NUMBER_OF_FRAMES", "NUMBER_OF_BYTES", "BPS")


def join_segments(info, segment_paths, output_path, encoding):
    """Writes `output_path` from the segment files and the input's other streams.

    Every frame keeps the input's pts and duration (the output's time base is the
    input's, or the multiple of it the container needs); the display matrix and colour
    tags are the input's (`encoding.color`); audio and subtitle packets are the input's,
    byte for byte, interleaved by time. The container is the output extension's
    (encode.MUXERS). The file appears only when complete (a temporary name, then a rename).

    Args:
        info: the input's VideoInfo.
        segment_paths: the segment files (write_segment), in the order of their frames.
        output_path: the video to write.
        encoding: the VideoEncoding the segments were written with.

    Raises:
        VideoError: the segments do not hold exactly the input's frames, or differ in
            their encoder's parameters (they were written with other settings).
    """
    av = import_av()
    if not segment_paths:
        raise VideoError(output_path, "no segments to join")
    muxer = MUXERS[os.path.splitext(os.fspath(output_path))[1].lower()]
    with atomic_file(output_path) as temporary:
        with av.open(info.path) as source, av.open(os.fspath(segment_paths[0])) as first, \
                av.open(temporary, "w", format=muxer) as output:
            video = output.add_stream_from_template(first.streams.video[0], opaque=True)
            video.time_base = info.time_base
            _tag(video, info, encoding)
            copies = {}
            for index in info.copied_streams:
                copies[index] = output.add_stream_from_template(source.streams[index])
                _copy_stream_properties(source.streams[index], copies[index])
            extradata = first.streams.video[0].codec_context.extradata
            video_packets = _segment_packets(info, segment_paths, video, extradata,
                                             output_path, av)
            other_packets = _source_packets(source, copies)
            for packet in heapq.merge(video_packets, other_packets, key=_decode_time):
                output.mux(packet)


def _tag(video, info, encoding):
    """Puts the input's display matrix and the encoding's colour tags on the output stream."""
    if info.display_matrix is not None:
        video.set_display_matrix(info.display_matrix)
    tag_codec_context(video.codec_context, encoding.color)


def _copy_stream_properties(source, copy):
    """The language and other tags and the disposition (default, forced...) of a copied
    stream, but the tags the muxer writes itself."""
    copy.metadata.update({key: value for key, value in source.metadata.items()
                          if key.upper() not in MUXER_TAGS})
    copy.disposition = source.disposition


def _segment_packets(info, segment_paths, video, extradata, output_path, av):
    """Every segment file's video packets, in order, on the output's `video` stream, with
    pts, dts and duration in the input's time base; checks they are the input's frames."""
    durations = dict(zip(info.frame_pts, info.frame_durations))
    expected = iter(info.frame_pts)
    for path in segment_paths:
        with av.open(os.fspath(path)) as segment:
            stream = segment.streams.video[0]
            if stream.codec_context.extradata != extradata:
                raise VideoError(output_path, f"segment {path} was encoded with other "
                                              "settings than the first")
            for packet in segment.demux(stream):
                if packet.size == 0:
                    continue
                pts = _in_time_base(packet.pts, packet.time_base, info.time_base)
                if pts != next(expected, None):
                    raise VideoError(output_path, f"segment {path} holds a frame at pts {pts} "
                                                  "where the input has none (or not there)")
                packet.pts = packet.dts = pts
                packet.duration = durations[pts]
                packet.time_base = info.time_base
                packet.stream = video
                yield packet
    missing = next(expected, None)
    if missing is not None:
        raise VideoError(output_path, f"the segments stop before the input's frame at pts "
                                      f"{missing}")


def _in_time_base(value, time_base, target):
    """`value` (in `time_base`) in `target` units; exact, or None when not a whole number."""
    if value is None:
        return None
    scaled = fractions.Fraction(value) * time_base / target
    return int(scaled) if scaled.denominator == 1 else None


def _source_packets(source, copies):
    """The input's packets of the streams in `copies` (index -> output stream), in file
    order, each put on its output stream; none when nothing is copied."""
    if not copies:
        return
    for packet in source.demux(*(source.streams[index] for index in copies)):
        if packet.size == 0:
            continue
        packet.stream = copies[packet.stream_index]
        yield packet


def _decode_time(packet):
    """A packet's decode time in seconds (its pts when it has no dts), for interleaving."""
    stamp = packet.dts if packet.dts is not None else packet.pts
    return fractions.Fraction(stamp or 0) * packet.time_base
