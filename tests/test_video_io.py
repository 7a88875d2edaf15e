"""The video I/O layer (srn_tf/data/video/): probing, segments, decoding, encoding, joining.

Every clip is made here by PyAV: a few dozen 64x48 frames of noise (so every frame
differs and any swap or loss shows) with a sine audio track, written with a small GOP so
there are several key frames. Bad inputs are made here too. All but the first test need
the video extra (marker `video`; run with `python -m pytest -m video tests/test_video_io.py`).
"""

import fractions
import os
import subprocess
import sys

import numpy as np
import pytest

WIDTH, HEIGHT = 64, 48
AUDIO_RATE = 8000


def test_import_av_without_pyav_names_the_extra():
    """Without PyAV, import_av raises MissingVideoExtra whose one line gives the pip line."""
    code = ("import sys; sys.modules['av'] = None\n"
            "from srn_tf.data.video import import_av, MissingVideoExtra\n"
            "try:\n    import_av('srn-deblur on clip.mp4')\n"
            "except MissingVideoExtra as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == \
        "srn-deblur on clip.mp4 needs PyAV: pip install 'srn-tf[video]'"


def noise_frames(count, dtype=np.uint8, seed=0):
    """`count` (HEIGHT, WIDTH, 3) frames of uniform noise over dtype's whole range."""
    high = np.iinfo(dtype).max
    rng = np.random.default_rng(seed)
    return [rng.integers(0, high, (HEIGHT, WIDTH, 3), dtype=dtype, endpoint=True)
            for _ in range(count)]


def make_clip(path, frames, codec="libx264", pixel_format="yuv420p", rate=24, gop_size=6,
              pts=None, time_base=None, rotation=None, color=(1, 1, 1, 1), audio=True):
    """Writes `frames` (RGB arrays, uint8 or uint16) as a video clip at `path`.

    Args:
        pts: each frame's pts in `time_base` (default: 0, 1, 2... at 1/rate).
        color: (primaries, transfer, matrix, range) FFmpeg numbers tagged on the stream
            (default BT.709, limited range).
        audio: also write one second of a 440 Hz sine as AAC.
    """
    import av

    time_base = time_base or fractions.Fraction(1, rate)
    pts = list(range(len(frames))) if pts is None else pts
    with av.open(str(path), "w") as output:
        video = output.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, pixel_format
        video.codec_context.time_base = time_base
        video.time_base = time_base
        video.codec_context.gop_size = gop_size
        if codec == "libx264":  # key frames exactly every gop_size frames
            video.options = {"x264-params": f"keyint={gop_size}:min-keyint={gop_size}:scenecut=0"}
        context = video.codec_context
        (context.color_primaries, context.color_trc, context.colorspace,
         context.color_range) = color
        if rotation is not None:
            video.set_display_rotation(rotation)
        sound = output.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        rgb_format = "rgb24" if frames[0].dtype == np.uint8 else "rgb48le"
        for image, stamp in zip(frames, pts):
            frame = av.VideoFrame.from_ndarray(image, format=rgb_format)
            frame = frame.reformat(format=pixel_format, dst_colorspace=_sws_matrix(color[2]),
                                   dst_color_range=color[3])
            frame.pts, frame.time_base = stamp, time_base
            output.mux(video.encode(frame))
        output.mux(video.encode())
        if sound is not None:
            seconds = np.arange(AUDIO_RATE) / AUDIO_RATE
            samples = (0.3 * np.sin(2 * np.pi * 440 * seconds)).astype(np.float32)
            for start in range(0, AUDIO_RATE, 1024):
                chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1024],
                                                   format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = AUDIO_RATE, start
                output.mux(sound.encode(chunk))
            output.mux(sound.encode())
    return path


def _sws_matrix(matrix):
    """swscale's number for FFmpeg colour matrix `matrix` (BT.709 or else BT.601)."""
    return 1 if matrix == 1 else 5


def with_subtitles(source, path, tmp_path):
    """`source`'s streams remuxed into the Matroska file `path` with a SubRip track."""
    import av

    srt = tmp_path / "subtitles.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,500\nhello\n\n"
                   "2\n00:00:00,600 --> 00:00:00,900\nworld\n")
    with av.open(str(source)) as clip, av.open(str(srt)) as text, \
            av.open(str(path), "w") as output:
        copies = {stream.index: output.add_stream_from_template(stream)
                  for stream in clip.streams}
        subtitle = output.add_stream_from_template(text.streams[0])
        for packet in clip.demux():
            if packet.size:
                packet.stream = copies[packet.stream.index]
                output.mux(packet)
        for packet in text.demux():
            if packet.size:
                packet.stream = subtitle
                output.mux(packet)
    return path


def packets(path, kind):
    """(pts seconds, bytes) of every packet of `path`'s first `kind` stream, in file order."""
    import av

    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[0]
        return [(float(packet.pts * packet.time_base), bytes(packet))
                for packet in container.demux(stream) if packet.size]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """An H.264 .mp4: 30 noise frames at 24 fps, a key frame every 6, sine AAC audio."""
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", noise_frames(30))


@pytest.mark.video
def test_probe_reads_the_layout_of_a_clip(clip):
    from srn_tf.data.video.probe import probe_video

    info = probe_video(clip)
    assert (info.codec, info.width, info.height) == ("h264", WIDTH, HEIGHT)
    assert (info.pixel_format, info.bit_depth, info.frame_dtype) == ("yuv420p", 8, "uint8")
    assert info.frame_count == 30
    assert info.average_rate == 24
    assert info.duration == pytest.approx(30 / 24, abs=1e-9)
    times = [float(pts * info.time_base) for pts in info.frame_pts]
    assert times == pytest.approx([index / 24 for index in range(30)], abs=1e-9)
    assert set(info.frame_durations) == {info.frame_pts[1] - info.frame_pts[0]}
    assert info.key_frames == (0, 6, 12, 18, 24)
    assert (info.rotation, info.display_matrix) == (0, None)
    assert info.color == {"primaries": "bt709", "transfer": "bt709", "matrix": "bt709",
                          "range": "tv"}
    assert info.copied_streams == (1,)


@pytest.mark.video
def test_probe_reads_rotation_and_variable_frame_rate(tmp_path):
    from srn_tf.data.video.probe import probe_video

    stamps = [0, 40, 80, 160, 170, 180, 300, 333, 400, 401, 402, 500]
    path = make_clip(tmp_path / "phone.mp4", noise_frames(len(stamps)), pts=stamps,
                     time_base=fractions.Fraction(1, 1000), rotation=90, audio=False)
    info = probe_video(path)
    assert info.rotation == 90
    assert len(info.display_matrix) == 9
    assert [float(pts * info.time_base) for pts in info.frame_pts] == \
        pytest.approx([stamp / 1000 for stamp in stamps], abs=1e-9)
    assert info.copied_streams == ()


@pytest.mark.video
def test_segments_start_at_key_frames_and_cover_every_frame_once(clip):
    from srn_tf.data.video.probe import probe_video
    from srn_tf.data.video.segments import plan_segments

    info = probe_video(clip)  # key frames 0, 6, 12, 18, 24 of 30
    assert [(segment.start, segment.stop) for segment in plan_segments(info, min_frames=10)] \
        == [(0, 12), (12, 24), (24, 30)]
    assert [(segment.start, segment.stop) for segment in plan_segments(info, min_frames=1)] \
        == [(0, 6), (6, 12), (12, 18), (18, 24), (24, 30)]
    assert [(segment.start, segment.stop) for segment in plan_segments(info)] == [(0, 30)]
    assert [segment.index for segment in plan_segments(info, min_frames=6)] == [0, 1, 2, 3, 4]


def _audio_only(path):
    import av

    with av.open(str(path), "w") as output:
        sound = output.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                           layout="mono")
        chunk.sample_rate, chunk.pts = AUDIO_RATE, 0
        output.mux(sound.encode(chunk))
        output.mux(sound.encode())


def _no_decoder(path):
    """An AVI whose video stream's FourCC names no codec FFmpeg knows (QQQQ for FMP4)."""
    import av

    made = path.with_name("mpeg4.avi")
    with av.open(str(made), "w") as output:
        video = output.add_stream("mpeg4", rate=24)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for image in noise_frames(3):
            output.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        output.mux(video.encode())
    data = made.read_bytes()
    assert data.count(b"FMP4") == 2  # the stream header's handler and the bitmap's codec
    path.write_bytes(data.replace(b"FMP4", b"QQQQ"))


def _truncated(path):
    """The first half of a Matroska copy of the clip (Matroska's header holds the duration)."""
    whole = path.with_name("whole.mkv")
    make_clip(whole, noise_frames(30))
    data = whole.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _png(path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(path, format="PNG")


BAD_INPUTS = {
    "png.mp4": (_png, "is a still image (png_pipe), not a video"),
    "text.mp4": (lambda path: path.write_text("not a video\n"),
                 "cannot open as a video (Invalid data found when processing input)"),
    "audio.mp4": (_audio_only, "has no video stream (streams: audio aac)"),
    "fourcc.avi": (_no_decoder, "its video codec has no decoder in this FFmpeg"),
    "missing.mp4": (lambda path: None, "cannot open as a video (No such file or directory)"),
}


@pytest.mark.video
@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_probe_refuses_a_bad_input_in_one_line_naming_it(tmp_path, name):
    from srn_tf.data.video import VideoError
    from srn_tf.data.video.probe import probe_video

    path = tmp_path / name
    make, problem = BAD_INPUTS[name]
    make(path)
    with pytest.raises(VideoError) as refused:
        probe_video(path)
    assert str(refused.value) == f"{path}: {problem}"


@pytest.mark.video
def test_probe_refuses_a_truncated_file(tmp_path):
    from srn_tf.data.video import VideoError
    from srn_tf.data.video.probe import probe_video

    path = tmp_path / "cut.mkv"
    _truncated(path)
    with pytest.raises(VideoError, match=r"is truncated: its header says [\d.]+ s, its packets "
                                         r"stop at [\d.]+ s") as refused:
        probe_video(path)
    assert str(refused.value).startswith(f"{path}: ") and "\n" not in str(refused.value)


def test_list_videos_finds_video_extensions_in_any_case(tmp_path):
    from srn_tf.data.video import is_video_path, list_videos

    for name in ("a.mp4", "b.MKV", "c.png", ".hidden.mov", "sub/d.webm"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert list_videos(tmp_path) == [(str(tmp_path / "a.mp4"), "a.mp4"),
                                     (str(tmp_path / "b.MKV"), "b.MKV"),
                                     (str(tmp_path / "sub" / "d.webm"),
                                      os.path.join("sub", "d.webm"))]
    assert not is_video_path("photo.png") and is_video_path("CLIP.AVI")


def _decoded_segments(path, min_frames=1):
    """(info, [(pts, frame) of every segment, in order]) of the clip at `path`."""
    from srn_tf.data.video.decode import segment_frames
    from srn_tf.data.video.probe import probe_video
    from srn_tf.data.video.segments import plan_segments

    info = probe_video(path)
    decoded = [item for segment in plan_segments(info, min_frames=min_frames)
               for item in segment_frames(info, segment)]
    return info, decoded


RGB = (1, 1, 0, 2)  # BT.709 primaries and transfer, RGB matrix, full range: FFV1's RGB


@pytest.mark.video
@pytest.mark.parametrize("dtype, pixel_format", [(np.uint8, "bgr0"), (np.uint16, "gbrp16le")])
def test_segment_frames_give_back_exactly_the_frames_of_a_lossless_clip(tmp_path, dtype,
                                                                        pixel_format):
    """FFV1 stores RGB losslessly: every segment's decoded frames equal the frames written,
    with their pts, whether the segment starts the file or follows a seek."""
    frames = noise_frames(20, dtype)
    path = make_clip(tmp_path / "lossless.mkv", frames, codec="ffv1",
                     pixel_format=pixel_format, gop_size=4, color=RGB)
    info, decoded = _decoded_segments(path)
    assert info.frame_dtype == np.dtype(dtype).name
    assert len(info.key_frames) == 5
    assert [pts for pts, _ in decoded] == list(info.frame_pts)
    for (_, got), want in zip(decoded, frames):
        assert got.dtype == dtype and got.shape == (HEIGHT, WIDTH, 3)
        np.testing.assert_array_equal(got, want)


@pytest.mark.video
@pytest.mark.parametrize("color_range", [1, 2])
def test_frames_are_decoded_with_the_clips_colour_matrix_and_range(tmp_path, color_range):
    """Flat saturated colours through BT.709 H.264 (limited or full range) come back within
    4 levels of 255 (x264's loss on flat frames at CRF 23); the wrong matrix (BT.601)
    would move them by 10 to 40 levels, the wrong range by up to 16."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (40, 200, 120)]
    frames = [np.broadcast_to(np.array(colour, np.uint8), (HEIGHT, WIDTH, 3)).copy()
              for colour in colours]
    path = make_clip(tmp_path / "colours.mp4", frames, color=(1, 1, 1, color_range),
                     audio=False)
    info, decoded = _decoded_segments(path)
    assert info.color["range"] == {1: "tv", 2: "pc"}[color_range]
    for (_, got), want in zip(decoded, frames):
        assert np.abs(got.astype(int) - want).max() <= 4


@pytest.mark.video
def test_ten_bit_video_decodes_to_sixteen_bit_frames(tmp_path):
    """A 10-bit H.265 clip's frames are uint16 on the full 16-bit scale: flat colours come
    back within 1/256 of the scale (x265's loss, and 4:2:0 on flat frames is none)."""
    colours = [(65535, 0, 0), (0, 32768, 65535), (20000, 40000, 60000)]
    frames = [np.broadcast_to(np.array(colour, np.uint16), (HEIGHT, WIDTH, 3)).copy()
              for colour in colours]
    path = make_clip(tmp_path / "ten.mkv", frames, codec="libx265",
                     pixel_format="yuv420p10le", audio=False)
    info, decoded = _decoded_segments(path)
    assert (info.bit_depth, info.frame_dtype) == (10, "uint16")
    for (_, got), want in zip(decoded, frames):
        assert got.dtype == np.uint16
        assert np.abs(got.astype(int) - want).max() <= 65535 / 256


@pytest.mark.video
def test_a_frame_that_does_not_decode_is_named(tmp_path):
    """A segment whose frames the file no longer holds fails naming the file and frame."""
    import dataclasses

    from srn_tf.data.video import VideoError
    from srn_tf.data.video.decode import segment_frames
    from srn_tf.data.video.probe import probe_video
    from srn_tf.data.video.segments import Segment

    path = make_clip(tmp_path / "clip.mkv", noise_frames(6), codec="ffv1",
                     pixel_format="bgr0", color=RGB, audio=False)
    info = probe_video(path)
    longer = dataclasses.replace(info, frame_pts=info.frame_pts + (info.frame_pts[-1] + 1000,))
    with pytest.raises(VideoError) as refused:
        list(segment_frames(longer, Segment(0, 0, 7)))
    assert str(refused.value) == (f"{path}: frame 6 (pts {info.frame_pts[-1] + 1000}) does "
                                  "not decode (damaged or truncated file)")


def test_prefetched_keeps_order_raises_the_sources_error_and_stops_when_closed():
    import threading

    from srn_tf.data.video.decode import prefetched

    assert list(prefetched(range(10), depth=2)) == list(range(10))

    def failing():
        yield 1
        raise RuntimeError("decoder broke")

    items = prefetched(failing(), depth=2)
    assert next(items) == 1
    with pytest.raises(RuntimeError, match="decoder broke"):
        next(items)

    closed = threading.Event()

    def endless():
        try:
            while True:
                yield 0
        finally:
            closed.set()

    items = prefetched(endless(), depth=1)
    next(items)
    items.close()
    assert closed.is_set()


def _write_segments(info, folder, encoding, min_frames=5, frames=None):
    """Writes every segment of `info` (its decoded frames, or `frames[index]`) as NUT files
    in `folder`; returns their paths in order."""
    from srn_tf.data.video.decode import segment_frames
    from srn_tf.data.video.encode import write_segment
    from srn_tf.data.video.segments import plan_segments

    paths = []
    for segment in plan_segments(info, min_frames=min_frames):
        path = folder / f"segment{segment.index}.nut"
        source = (segment_frames(info, segment) if frames is None else
                  zip(info.frame_pts[segment.start:segment.stop],
                      frames[segment.start:segment.stop]))
        assert write_segment(path, info, encoding, source) == segment.frame_count
        paths.append(path)
    return paths


def _video_times(path):
    """Every frame's pts of `path`'s video, in seconds, presentation order (probe_video)."""
    from srn_tf.data.video.probe import probe_video

    info = probe_video(path)
    return [pts * info.time_base for pts in info.frame_pts]


@pytest.mark.video
def test_write_segment_stores_exactly_the_frames_given_with_their_pts(tmp_path, clip):
    """An FFV1 segment file decodes to the very frames written (arrays the network could
    have made: noise, not the clip's own), at the input's frame times."""
    from srn_tf.data.video.encode import choose_encoding
    from srn_tf.data.video.probe import probe_video

    info = probe_video(clip)
    frames = noise_frames(info.frame_count, seed=7)
    encoding = choose_encoding(tmp_path / "out.mkv", info, codec="ffv1")
    assert (encoding.pixel_format, encoding.crf) == ("bgr0", None)
    paths = _write_segments(info, tmp_path, encoding, min_frames=12, frames=frames)
    assert len(paths) == 3 and not [name for name in os.listdir(tmp_path)
                                    if name.startswith(".")]  # no temporary left
    decoded = [frame for path in paths for _, frame in _decoded_segments(path)[1]]
    assert len(decoded) == info.frame_count
    for got, want in zip(decoded, frames):
        np.testing.assert_array_equal(got, want)
    times = [time for path in paths for time in _video_times(path)]
    assert times == [pts * info.time_base for pts in info.frame_pts]


@pytest.mark.video
def test_write_segment_refuses_frames_of_another_shape(tmp_path, clip):
    from srn_tf.data.video.encode import choose_encoding, write_segment
    from srn_tf.data.video.probe import probe_video

    info = probe_video(clip)
    encoding = choose_encoding(tmp_path / "out.mp4", info)
    path = tmp_path / "segment.nut"
    with pytest.raises(ValueError, match=r"frame at pts 0 is uint8 \(48, 64\), not uint8 "
                                         r"\(48, 64, 3\)"):
        write_segment(path, info, encoding, [(0, np.zeros((HEIGHT, WIDTH), np.uint8))])
    assert os.listdir(tmp_path) == []  # neither the segment nor a temporary


@pytest.mark.video
def test_choose_encoding_defaults_and_pixel_formats(tmp_path, clip):
    from srn_tf.data.video.encode import choose_encoding
    from srn_tf.data.video.probe import probe_video

    info = probe_video(clip)
    assert choose_encoding("out.mp4", info) == choose_encoding("out.mkv", info)
    h264 = choose_encoding("out.mp4", info)
    assert (h264.codec, h264.crf, h264.pixel_format) == ("h264", 18, "yuv420p")
    assert h264.color == info.color
    assert choose_encoding("out.avi", info).codec == "ffv1"
    assert choose_encoding("out.mkv", info, codec="h265", crf=0).crf == 0
    ten_bit = dataclasses_replace(info, pixel_format="yuv420p10le", bit_depth=10)
    assert choose_encoding("out.mkv", ten_bit, codec="h265").pixel_format == "yuv420p10le"
    assert choose_encoding("out.mkv", ten_bit, codec="h264").pixel_format == "yuv420p10le"
    assert choose_encoding("out.mkv", ten_bit, codec="ffv1").pixel_format == "gbrp16le"
    full = dataclasses_replace(info, pixel_format="yuvj444p")
    assert choose_encoding("out.mkv", full).pixel_format == "yuv444p"


def dataclasses_replace(info, **changes):
    import dataclasses

    return dataclasses.replace(info, **changes)


BAD_ENCODINGS = [
    ("out.webm", "h264", None, "a .webm file cannot hold h264 video (it holds vp9; or use .mkv)"),
    ("out.mp4", "mpeg2", None, "--video_codec=mpeg2 is not one of h264, h265, vp9, ffv1"),
    ("out.mkv", "ffv1", 10, "ffv1 is lossless: --crf does not apply to it"),
    ("out.mkv", "h264", 52, "--crf=52 is outside h264's 0 to 51"),
    ("out.gif", None, None, "a video output needs one of the extensions .mp4, .mov, .m4v, "
                            ".mkv, .webm, .avi"),
]


@pytest.mark.parametrize("output, codec, crf, problem", BAD_ENCODINGS)
def test_check_encoding_args_refuses_in_one_line_without_pyav(monkeypatch, output, codec,
                                                              crf, problem):
    """The argument check needs no video and no PyAV (it runs before TensorFlow loads)."""
    monkeypatch.setitem(sys.modules, "av", None)  # importing av now fails
    from srn_tf.data.video import VideoError
    from srn_tf.data.video.encode import check_encoding_args

    with pytest.raises(VideoError) as refused:
        check_encoding_args(output, codec, crf)
    assert str(refused.value) == f"{output}: {problem}"


@pytest.mark.video
def test_choose_encoding_refuses_what_the_output_cannot_hold(tmp_path, clip):
    from srn_tf.data.video import VideoError
    from srn_tf.data.video.encode import choose_encoding
    from srn_tf.data.video.probe import probe_video

    info = probe_video(clip)
    with pytest.raises(VideoError, match=r"^out.webm: cannot hold the input's aac audio "
                                         r"stream \(1\): use .mkv$"):
        choose_encoding("out.webm", info)
    stamps = [0, 40, 80, 160, 170]
    phone = probe_video(make_clip(tmp_path / "vfr.mp4", noise_frames(5), pts=stamps,
                                  time_base=fractions.Fraction(1, 1000), audio=False))
    with pytest.raises(VideoError, match=r"^out.avi: AVI holds only a constant frame rate"):
        choose_encoding("out.avi", phone)


def _join(source, output, tmp_path, codec="ffv1", min_frames=5):
    """Probes `source`, writes its decoded frames as segments and joins them into `output`;
    returns (input info, output info)."""
    from srn_tf.data.video.encode import choose_encoding
    from srn_tf.data.video.join import join_segments
    from srn_tf.data.video.probe import probe_video

    info = probe_video(source)
    encoding = choose_encoding(output, info, codec=codec)
    folder = tmp_path / f"segments-{os.path.basename(output)}"
    folder.mkdir()
    join_segments(info, _write_segments(info, folder, encoding, min_frames), output, encoding)
    return info, probe_video(output)


@pytest.mark.video
def test_joined_segments_give_the_inputs_frames_timing_and_sound(tmp_path, clip):
    """FFV1 segments joined into an .mp4 decode to the input's decoded frames, frame for
    frame, at the same times, with the same rate and duration and the input's AAC
    packets byte for byte."""
    output = tmp_path / "out.mp4"
    info, joined = _join(clip, output, tmp_path)
    assert joined.frame_count == info.frame_count
    assert _video_times(output) == _video_times(clip)
    assert joined.duration == info.duration and joined.average_rate == info.average_rate
    want = [frame for _, frame in _decoded_segments(clip)[1]]
    got = [frame for _, frame in _decoded_segments(output)[1]]
    assert len(got) == len(want)
    for got_frame, want_frame in zip(got, want):
        np.testing.assert_array_equal(got_frame, want_frame)
    assert packets(output, "audio") == packets(clip, "audio")
    assert sorted(os.listdir(tmp_path)) == ["out.mp4", "segments-out.mp4"]  # no temporary


@pytest.mark.video
def test_join_keeps_variable_frame_rate_rotation_and_colour_tags(tmp_path):
    """A rotated phone clip with irregular frame times, BT.709 full range, re-encoded as
    H.264: every frame keeps its time, the display matrix and the colour tags are kept."""
    stamps = [0, 40, 80, 160, 170, 180, 300, 333, 400, 401, 402, 500, 510, 520, 530, 600]
    source = make_clip(tmp_path / "phone.mp4", noise_frames(len(stamps)), pts=stamps,
                       time_base=fractions.Fraction(1, 1000), rotation=90,
                       color=(1, 1, 1, 2))
    info, joined = _join(source, tmp_path / "out.mp4", tmp_path, codec="h264")
    assert _video_times(tmp_path / "out.mp4") == \
        [fractions.Fraction(stamp, 1000) for stamp in stamps]
    assert joined.duration == info.duration
    assert (joined.rotation, joined.display_matrix) == (90, info.display_matrix)
    assert joined.color == info.color == {"primaries": "bt709", "transfer": "bt709",
                                          "matrix": "bt709", "range": "pc"}
    assert packets(tmp_path / "out.mp4", "audio") == packets(source, "audio")


@pytest.mark.video
def test_join_into_matroska_copies_subtitles_and_keeps_times_to_the_millisecond(tmp_path,
                                                                                 clip):
    """Matroska counts time in milliseconds: frame times agree to 0.5 ms; the audio and
    SubRip packets are the input's, byte for byte."""
    source = with_subtitles(clip, tmp_path / "film.mkv", tmp_path)
    info, joined = _join(source, tmp_path / "out.mkv", tmp_path, codec="h264")
    assert joined.frame_count == info.frame_count
    assert [float(time) for time in _video_times(tmp_path / "out.mkv")] == \
        pytest.approx([float(time) for time in _video_times(source)], abs=0.0005)
    assert len(joined.copied_streams) == 2
    for kind in ("audio", "subtitles"):
        assert [data for _, data in packets(tmp_path / "out.mkv", kind)] == \
            [data for _, data in packets(source, kind)]
    assert [data for _, data in packets(source, "subtitles")] == [b"hello", b"world"]


@pytest.mark.video
def test_join_refuses_segments_that_miss_frames(tmp_path, clip):
    from srn_tf.data.video import VideoError
    from srn_tf.data.video.encode import choose_encoding
    from srn_tf.data.video.join import join_segments
    from srn_tf.data.video.probe import probe_video

    info = probe_video(clip)
    encoding = choose_encoding(tmp_path / "out.mp4", info, codec="ffv1")
    paths = _write_segments(info, tmp_path, encoding, min_frames=12)
    output = tmp_path / "out.mp4"
    with pytest.raises(VideoError) as refused:
        join_segments(info, paths[:-1], output, encoding)
    assert str(refused.value) == (f"{output}: the segments stop before the input's frame at "
                                  f"pts {info.frame_pts[24]}")
    assert not output.exists()
