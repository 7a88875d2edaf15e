"""Encoding deblurred frames: the codec, quality and pixel format an output gets
(`choose_encoding`), and one segment's frames written into a segment file (`write_segment`).

Segment files are NUT, FFmpeg's own container, which stores timestamps exactly (in the
input's time base or a multiple of it), so each frame keeps its input pts;
`join.join_segments` copies their packets, unchanged, into the output's container. The
encoders make no B-frames: packets come in presentation order (dts = pts), so segments
encoded apart join into one stream with increasing timestamps, which reordered frames at
a segment's start would not give (NUT and Matroska do not store their negative dts).
H.264 and H.265 files are somewhat larger for it at the same CRF (the same quality).
Codecs:

    h264  libx264, CRF (default 18: hard to tell from the input), preset medium, no
          B-frames; 8- or 10-bit.
    h265  libx265, CRF (default 22, about x264's 18), preset medium, no B-frames; 8-, 10-
          or 12-bit.
    vp9   libvpx-vp9, constant quality CRF (default 24); 8-bit in this build of PyAV.
    ffv1  lossless: RGB stored as is (bgr0 for 8-bit, gbrp16le for 16-bit frames), so
          decoding gives back exactly the frames written.
"""

import dataclasses
import io
import os

from srn_tf.atomic_files import atomic_file
from srn_tf.data.video import VIDEO_EXTENSIONS, VideoError, import_av
from srn_tf.data.video.color import SWSCALE_MATRIX, color_number, tag_codec_context
from srn_tf.data.video.decode import RGB_FORMATS

VIDEO_CODECS = ("h264", "h265", "vp9", "ffv1")
ENCODERS = {"h264": "libx264", "h265": "libx265", "vp9": "libvpx-vp9", "ffv1": "ffv1"}
DEFAULT_CRF = {"h264": 18, "h265": 22, "vp9": 24}
CRF_LIMITS = {"h264": 51, "h265": 51, "vp9": 63}

# FFmpeg's muxer for each output extension, the video codecs it holds (FFmpeg's
# avformat_query_codec), and the codec an output gets when none is asked for.
MUXERS = {".mp4": "mp4", ".mov": "mov", ".m4v": "ipod", ".mkv": "matroska", ".webm": "webm",
          ".avi": "avi"}
CONTAINER_CODECS = {".mp4": ("h264", "h265", "vp9", "ffv1"), ".mov": ("h264", "h265", "vp9"),
                    ".m4v": ("h264",), ".mkv": VIDEO_CODECS, ".webm": ("vp9",),
                    ".avi": ("h264", "vp9", "ffv1")}
DEFAULT_CODECS = {".mp4": "h264", ".mov": "h264", ".m4v": "h264", ".mkv": "h264",
                  ".webm": "vp9", ".avi": "ffv1"}


@dataclasses.dataclass(frozen=True)
class VideoEncoding:
    """How the output's video is encoded.

    Attributes:
        codec: one of VIDEO_CODECS.
        crf: the constant-quality factor (lower is better), None for ffv1 (lossless).
        pixel_format: the encoder's pixel format ("yuv420p", "yuv420p10le", "bgr0"...).
        color: FFmpeg's names of the output's "primaries", "transfer", "matrix" and
            "range": the input's, but for RGB storage (ffv1: matrix gbr, range pc) and
            RGB input encoded as YUV (matrix bt709, range tv).
    """

    codec: str
    crf: int
    pixel_format: str
    color: dict


def check_encoding_args(output_path, codec=None, crf=None):
    """Checks an output's codec and CRF without reading any video (before TensorFlow loads).

    Args:
        output_path: the video to write; its extension picks the container.
        codec: one of VIDEO_CODECS, or None for the container's default.
        crf: an int in the codec's range, or None for its default.

    Returns:
        The codec: `codec`, or the container's default.

    Raises:
        VideoError (a ValueError): one line naming `output_path` and the problem.
    """
    extension = os.path.splitext(os.fspath(output_path))[1].lower()
    if extension not in MUXERS:
        raise VideoError(output_path, "a video output needs one of the extensions "
                                      f"{', '.join(VIDEO_EXTENSIONS)}")
    if codec is None:
        codec = DEFAULT_CODECS[extension]
    if codec not in VIDEO_CODECS:
        raise VideoError(output_path,
                         f"--video_codec={codec} is not one of {', '.join(VIDEO_CODECS)}")
    if codec not in CONTAINER_CODECS[extension]:
        raise VideoError(output_path, f"a {extension} file cannot hold {codec} video (it holds "
                                      f"{', '.join(CONTAINER_CODECS[extension])}; or use .mkv)")
    if crf is not None:
        if codec == "ffv1":
            raise VideoError(output_path, "ffv1 is lossless: --crf does not apply to it")
        if not 0 <= crf <= CRF_LIMITS[codec]:
            raise VideoError(output_path, f"--crf={crf} is outside {codec}'s 0 to "
                                          f"{CRF_LIMITS[codec]}")
    return codec


def choose_encoding(output_path, info, codec=None, crf=None):
    """The encoding of `info`'s video into `output_path` (its extension picks the container).

    The pixel format keeps the input's chroma subsampling and bit depth where the encoder
    can (else 4:2:0 at the nearest depth it has); the colour tags are the input's.

    Raises:
        VideoError: the arguments fail `check_encoding_args`; the container cannot hold
            an audio or subtitle stream to copy; the output is AVI (constant frame rate
            only) and the input's frame rate varies; the input's colour matrix is one
            swscale cannot convert to (ycgco, ictcp...: ffv1 can store it).
    """
    codec = check_encoding_args(output_path, codec, crf)
    extension = os.path.splitext(os.fspath(output_path))[1].lower()
    if extension == ".avi" and len(set(info.frame_durations[:-1])) > 1:
        raise VideoError(output_path, "AVI holds only a constant frame rate and the input's "
                                      "varies: use .mkv or .mp4")
    _check_copied_streams(output_path, MUXERS[extension], info)
    if codec == "ffv1":
        pixel_format = "bgr0" if info.bit_depth <= 8 else "gbrp16le"
        color = {**info.color, "matrix": "gbr", "range": "pc"}
        crf = None
    else:
        crf = DEFAULT_CRF[codec] if crf is None else crf
        pixel_format = _yuv_pixel_format(ENCODERS[codec], info)
        color = dict(info.color)
        if color["matrix"] == "gbr":
            color.update(matrix="bt709", range="tv")
        if color["matrix"] not in SWSCALE_MATRIX:
            raise VideoError(output_path, f"the input's colour matrix {color['matrix']} cannot "
                                          "be encoded to YUV here: use --video_codec=ffv1")
    return VideoEncoding(codec, crf, pixel_format, color)


def _check_copied_streams(output_path, muxer, info):
    """VideoError when the `muxer` format cannot hold one of the input's streams to copy."""
    av = import_av()
    with av.open(info.path) as source, av.open(io.BytesIO(), "w", format=muxer) as probe:
        holds = probe.supported_codecs
        for index in info.copied_streams:
            stream = source.streams[index]
            name = stream.codec_context.name if stream.codec_context else "unknown"
            if name not in holds:
                raise VideoError(output_path, f"cannot hold the input's {name} {stream.type} "
                                              f"stream ({index}): use .mkv")


def _yuv_pixel_format(encoder, info):
    """The encoder's pixel format for `info`'s frames: the input's own (full-range yuvj
    formats as their yuv twin) if the encoder has it, else 4:2:0 at the input's depth,
    10-bit, or 8-bit, the first the encoder has."""
    av = import_av()
    available = {video_format.name for video_format in av.Codec(encoder, "w").video_formats}
    own = info.pixel_format.replace("yuvj", "yuv")
    depths = [info.bit_depth, 10] if info.bit_depth > 8 else []
    for candidate in [own] + [f"yuv420p{depth}le" for depth in depths] + ["yuv420p"]:
        if candidate in available:
            return candidate
    raise VideoError(info.path, f"{encoder} has no 4:2:0 pixel format")


def write_segment(path, info, encoding, frames):
    """Encodes `frames` into the NUT file `path`, each frame with its input pts.

    The file appears under `path` only when complete (a temporary name, then a rename),
    so a stopped run leaves no partial segment to mistake for a finished one.

    Args:
        path: the segment file to write (its name's extension is not read: always NUT).
        info: the input's VideoInfo (time base, frame durations, size, depth).
        encoding: a VideoEncoding (choose_encoding).
        frames: iterable of (pts, (info.height, info.width, 3) RGB array of
            info.frame_dtype), in presentation order; consumed one at a time.

    Returns:
        The number of frames written.

    Raises:
        ValueError: a frame of another shape or type, a pts the input has not, or no frames.
    """
    av = import_av()
    durations = dict(zip(info.frame_pts, info.frame_durations))
    shape = (info.height, info.width, 3)
    written = 0
    with atomic_file(path) as temporary:
        with av.open(temporary, "w", format="nut") as output:
            stream = _add_video_stream(output, info, encoding, av)
            matrix = SWSCALE_MATRIX.get(encoding.color["matrix"])
            color_range = color_number("range", encoding.color["range"])
            for pts, image in frames:
                if image.shape != shape or image.dtype != info.frame_dtype:
                    raise ValueError(f"{path}: frame at pts {pts} is {image.dtype} "
                                     f"{image.shape}, not {info.frame_dtype} {shape}")
                if pts not in durations:
                    raise ValueError(f"{path}: pts {pts} is not a frame of {info.path}")
                frame = av.VideoFrame.from_ndarray(image, format=RGB_FORMATS[info.frame_dtype])
                if encoding.codec == "ffv1":
                    frame = frame.reformat(format=encoding.pixel_format)
                else:
                    frame = frame.reformat(format=encoding.pixel_format, dst_colorspace=matrix,
                                           dst_color_range=color_range)
                frame.pts, frame.time_base, frame.duration = pts, info.time_base, durations[pts]
                output.mux(stream.encode(frame))
                written += 1
            if not written:
                raise ValueError(f"{path}: no frames to write")
            output.mux(stream.encode())
    return written


def _add_video_stream(output, info, encoding, av):
    """The encoder's stream in `output`: the input's size, time base and frame rate, the
    encoding's codec, quality, pixel format and colour tags."""
    stream = output.add_stream(ENCODERS[encoding.codec], rate=info.average_rate)
    stream.width, stream.height, stream.pix_fmt = info.width, info.height, encoding.pixel_format
    stream.time_base = info.time_base
    context = stream.codec_context
    context.time_base = info.time_base
    context.flags |= av.codec.context.Flags.global_header  # parameter sets in the header
    tag_codec_context(context, encoding.color)
    stream.options = _encoder_options(encoding)
    context.max_b_frames = 0  # decode order = presentation order (see the module's doc)
    if encoding.codec == "vp9":
        context.bit_rate = 0  # constant quality: CRF alone decides
    return stream


def _encoder_options(encoding):
    """FFmpeg's private options of the encoder for `encoding`."""
    if encoding.codec == "ffv1":
        return {"level": "3", "slicecrc": "1"}
    options = {"crf": str(encoding.crf)}
    if encoding.codec == "h264":
        options["preset"] = "medium"
    elif encoding.codec == "h265":
        options.update({"preset": "medium", "x265-params": "bframes=0:log-level=error"})
    else:
        options["row-mt"] = "1"
    return options
