"""Deblurring videos: srn-deblur and `deblur_video` on small clips made here with PyAV.

Clips are 64x96 crops of scikit-image's astronaut panning across the frame, blurred
along the pan, as H.264 in MP4 with an AAC sine track; nothing binary is committed.
The tests marked `video` need the extra (pip install -e '.[video]'); the refusal
without PyAV runs in the default run.
"""

import fractions
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import skimage.data

from srn_tf.data.video.segments import Segment
from tests.test_cli_validation import _refused

BIN = os.path.dirname(sys.executable)
SRN_DEBLUR = os.path.join(BIN, "srn-deblur")
PIP_LINE = "pip install 'srn-tf[video]'"
RATE = 24
AUDIO_RATE = 44100
# Subprocess runs: the network alone and float32, so they are quick and comparable
# with the in-process reference run.
FAST = ("--quality=network", "--precision=float32", "--video_codec=ffv1")


def _clip_frames(count, height=64, width=96):
    """`count` RGB uint8 frames of the astronaut panning right 2 pixels a frame (back to
    the start every 150 frames), blurred along the pan by a 7-pixel box (a moving
    camera's blur)."""
    image = skimage.data.astronaut()
    return [cv2.blur(np.ascontiguousarray(image[100:100 + height, left:left + width]), (7, 1))
            for left in (60 + 2 * (index % 150) for index in range(count))]


def make_clip(path, frames=24, gop=8, audio=True):
    """Writes an MP4 clip: H.264 (a key frame every `gop` frames, no B-frames) at 24 fps
    and, with `audio`, an AAC mono 440 Hz sine as long as the video."""
    import av

    with av.open(os.fspath(path), "w") as container:
        video = container.add_stream("libx264", rate=RATE)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        video.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0",
                         "crf": "20"}
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=AUDIO_RATE)
            sound.layout = "mono"
        for index, image in enumerate(_clip_frames(frames)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            samples = AUDIO_RATE * frames // RATE
            for start in range(0, samples, 1024):
                time_ = np.arange(start, min(start + 1024, samples)) / AUDIO_RATE
                chunk = (0.3 * np.sin(2 * np.pi * 440 * time_)).astype(np.float32)[None]
                block = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                block.sample_rate, block.pts = AUDIO_RATE, start
                for packet in sound.encode(block):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return os.fspath(path)


def decoded_frames(path):
    """Every frame of the video at `path`, decoded as srn-tf decodes (`segment_frames`)."""
    from srn_tf.data.video.decode import segment_frames
    from srn_tf.data.video.probe import probe_video

    info = probe_video(path)
    return [frame for _, frame in segment_frames(info, Segment(0, 0, info.frame_count))]


def audio_packets(path):
    """The bytes of every audio packet of the file at `path`, in order."""
    import av

    with av.open(os.fspath(path)) as container:
        return [bytes(packet) for packet in container.demux(container.streams.audio[0])
                if packet.size]


def _run(*args, env=None):
    return subprocess.run([SRN_DEBLUR, *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def _error_lines(stderr):
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def model():
    from srn_tf.checkpoints.loading import load_deblur_model

    return load_deblur_model(None)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4")


@pytest.fixture(scope="module")
def ffv1_output(model, clip, tmp_path_factory):
    """The clip deblurred into FFV1 in Matroska, with the model's own options."""
    from srn_tf.inference.deblur_video import deblur_video

    output = os.fspath(tmp_path_factory.mktemp("out") / "clip_sharp.mkv")
    deblur_video(model, clip, output, precision="float32", codec="ffv1", progress=False)
    return output


@pytest.mark.video
def test_ffv1_output_frames_equal_deblur_decoded_on_the_input_frames(model, clip, ffv1_output):
    from srn_tf.inference.per_file import deblur_decoded

    expected = [deblur_decoded(model, frame, precision="float32")
                for frame in decoded_frames(clip)]
    written = decoded_frames(ffv1_output)
    assert len(written) == len(expected) == 24
    # Exact: FFV1 stores RGB losslessly and each frame ran the same float32 arithmetic.
    for index, (got, want) in enumerate(zip(written, expected)):
        np.testing.assert_array_equal(got, want, err_msg=f"frame {index}")
    # The work folder went once the output was joined.
    assert not os.path.exists(os.path.join(os.path.dirname(ffv1_output),
                                           ".clip_sharp.mkv.srn-tf-parts"))


@pytest.mark.video
def test_output_keeps_frame_count_rate_duration_and_audio_packets(clip, ffv1_output):
    from srn_tf.data.video.probe import probe_video

    before, after = probe_video(clip), probe_video(ffv1_output)
    assert after.frame_count == before.frame_count
    assert after.average_rate == before.average_rate == fractions.Fraction(RATE)
    # Matroska stores times in milliseconds: each frame's time from the first within half
    # of one. (The start itself may move by the AAC priming's 1024 samples, as FFmpeg's
    # Matroska muxer shifts negative audio timestamps to zero.)
    def times(info):
        return np.array([float((pts - info.frame_pts[0]) * info.time_base)
                         for pts in info.frame_pts])

    np.testing.assert_allclose(times(after), times(before), rtol=0, atol=0.0005)
    assert after.duration == pytest.approx(before.duration, abs=0.002)
    assert audio_packets(ffv1_output) == audio_packets(clip)


@pytest.mark.video
def test_frames_only_writes_numbered_pngs_equal_to_the_video_frames(model, clip, ffv1_output,
                                                                   tmp_path):
    from srn_tf.data.image_io import read_image
    from srn_tf.inference.deblur_video import deblur_video, frames_complete

    folder = tmp_path / "frames"
    deblur_video(model, clip, folder, precision="float32", frames_only="png", progress=False)
    names = sorted(name for name in os.listdir(folder) if not name.startswith("."))
    assert names == [f"frame_{index:06d}.png" for index in range(1, 25)]
    assert frames_complete(folder)
    for name, frame in zip(names, decoded_frames(ffv1_output)):
        np.testing.assert_array_equal(read_image(str(folder / name)), frame, err_msg=name)


def test_deblur_video_is_public():
    import srn_tf
    from srn_tf.inference.deblur_video import deblur_video

    assert srn_tf.deblur_video is deblur_video


@pytest.mark.video
def test_steady_video_steadies_each_frame_by_the_previous_one_of_its_segment(model, tmp_path):
    from srn_tf.data.image_io import read_image
    from srn_tf.data.video.probe import probe_video
    from srn_tf.data.video.segments import plan_segments
    from srn_tf.inference.deblur_video import deblur_video
    from srn_tf.inference.per_file import deblur_decoded
    from srn_tf.inference.video_steadying import steady_frame
    from srn_tf.models.inference_options import quality_options

    # Key frames every 12 frames, segments of at least 48: 0-48 and 48-60.
    source = make_clip(tmp_path / "pan.mp4", frames=60, gop=12, audio=False)
    starts = {segment.start for segment in plan_segments(probe_video(source))}
    assert starts == {0, 48}
    network = quality_options("network")
    outputs = [deblur_decoded(model, frame, network, "float32")
               for frame in decoded_frames(source)]
    expected = []
    for index, output in enumerate(outputs):
        expected.append(output if index in starts
                        else steady_frame(expected[-1], outputs[index - 1], output))
    steady = network.override(steady_video=True)
    video = tmp_path / "steady.mkv"
    deblur_video(model, source, video, options=steady, precision="float32", codec="ffv1",
                 progress=False)
    frames = tmp_path / "frames"
    deblur_video(model, source, frames, options=steady, precision="float32",
                 frames_only="png", progress=False)
    # Exact: FFV1 and PNG store the frames losslessly, and each step is the same
    # arithmetic on the same frames; each segment starts afresh, as a worker would.
    for index, (got, want) in enumerate(zip(decoded_frames(video), expected, strict=True)):
        np.testing.assert_array_equal(got, want, err_msg=f"frame {index}")
        np.testing.assert_array_equal(
            read_image(str(frames / f"frame_{index + 1:06d}.png")), want,
            err_msg=f"frame {index} (frames_only)")
    assert not all(np.array_equal(a, b) for a, b in zip(expected, outputs)), \
        "steadying changed no frame"


@pytest.mark.video
def test_resume_after_sigkill_equals_an_uninterrupted_run(model, tmp_path):
    from srn_tf.inference.deblur_video import VideoWork, deblur_video
    from srn_tf.models.inference_options import quality_options

    # Key frames every 12 frames, segments of at least 48: 0-48, 48-96, 96-120.
    source = make_clip(tmp_path / "long.mp4", frames=120, gop=12)
    reference = os.fspath(tmp_path / "reference.mkv")
    deblur_video(model, source, reference, options=quality_options("network"),
                 precision="float32", codec="ffv1", progress=False)
    output = tmp_path / "long_sharp.mkv"
    first_segment = os.path.join(VideoWork.folder_for(output), "segment-00000.nut")
    process = subprocess.Popen([SRN_DEBLUR, f"--input_path={source}",
                                f"--output_path={output}", *FAST],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not os.path.exists(first_segment) and process.poll() is None \
            and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert os.path.exists(first_segment), "the first segment never appeared"
    assert not output.exists(), "a killed run left its output"

    rerun = _run(f"--input_path={source}", f"--output_path={output}", *FAST)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "resuming at frame" in rerun.stdout
    resumed, expected = decoded_frames(output), decoded_frames(reference)
    assert len(resumed) == len(expected) == 120
    for index, (got, want) in enumerate(zip(resumed, expected)):
        # Exact: lossless FFV1 on both sides, the same network and arithmetic.
        np.testing.assert_array_equal(got, want, err_msg=f"frame {index}")
    assert not os.path.exists(VideoWork.folder_for(output))


@pytest.mark.video
def test_ctrl_c_keeps_the_finished_segments_and_says_so(model, tmp_path, monkeypatch):
    from srn_tf.inference import per_file
    from srn_tf.inference.deblur_video import VideoInterrupted, VideoWork, deblur_video

    source = make_clip(tmp_path / "long.mp4", frames=120, gop=12, audio=False)
    calls = []

    def interrupted_at_frame_60(model, image, *args, **kwargs):
        calls.append(1)
        if len(calls) == 60:
            raise KeyboardInterrupt
        return image

    monkeypatch.setattr(per_file, "deblur_decoded", interrupted_at_frame_60)
    output = tmp_path / "long_sharp.mkv"
    reported = []
    with pytest.raises(VideoInterrupted, match="not written; 1 of 3 segments kept in") as stop:
        deblur_video(model, source, output, codec="ffv1", progress=False,
                     on_frame=reported.append)
    assert "run the same command again to resume" in str(stop.value)
    assert sum(reported) == 59  # every frame deblurred before the stop, reported once
    assert not output.exists()
    # The first segment (frames 0-47) is whole; the second, cut short, left nothing.
    assert sorted(os.listdir(VideoWork.folder_for(output))) == ["manifest.json",
                                                                "segment-00000.nut"]


@pytest.mark.video
def test_folder_with_a_photo_and_a_video(model, tmp_path):
    from srn_tf.data.image_io import write_image
    from srn_tf.inference.deblur_files import deblur_files

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    write_image(str(folder / "photo.png"), _clip_frames(1)[0])
    make_clip(folder / "sub" / "clip.mp4", frames=10, audio=False)
    output = tmp_path / "out"
    summary = deblur_files(str(folder), str(output), checkpoint=model, precision="float32",
                           videos=True, progress=False)
    assert summary.failed == [] and len(summary.done) == 2
    assert (output / "photo.png").is_file()
    assert len(decoded_frames(output / "sub" / "clip.mp4")) == 10
    again = deblur_files(str(folder), str(output), checkpoint=model, precision="float32",
                         videos=True, progress=False)
    assert again.done == [] and len(again.skipped) == 2
    replaced = deblur_files(str(folder), str(output), checkpoint=model, precision="float32",
                            videos=True, progress=False, overwrite=True)
    assert len(replaced.done) == 2 and replaced.failed == []
    assert len(decoded_frames(output / "sub" / "clip.mp4")) == 10


@pytest.mark.video
def test_frames_of_a_10_bit_video_are_16_bit_pngs(model, tmp_path):
    import av

    from srn_tf.data.image_io import read_image
    from srn_tf.inference.deblur_video import deblur_video
    from srn_tf.models.inference_options import quality_options

    path = os.fspath(tmp_path / "ten_bit.mkv")
    with av.open(path, "w") as container:
        video = container.add_stream("libx265", rate=RATE)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p10le"
        video.options = {"x265-params": "log-level=none"}
        for index, image in enumerate(_clip_frames(4)):
            frame = av.VideoFrame.from_ndarray(image.astype(np.uint16) * 257, format="rgb48le")
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    folder = tmp_path / "frames"
    deblur_video(model, path, folder, options=quality_options("network"), precision="float32",
                 frames_only="png", progress=False)
    frames = [read_image(str(folder / f"frame_{index:06d}.png")) for index in range(1, 5)]
    assert all(frame.dtype == np.uint16 and frame.shape == (64, 96, 3) for frame in frames)
    # 10 bits of detail survive: values that are not multiples of 257 (8-bit ones scaled).
    assert any(np.any(frame % 257) for frame in frames)


@pytest.mark.video
def test_stale_work_of_another_input_is_cleared_through_its_manifest(model, clip, tmp_path):
    from srn_tf.inference.deblur_video import VideoWork, work_settings
    from srn_tf.data.video.probe import probe_video

    output = tmp_path / "out.mkv"
    info = probe_video(clip)
    work = VideoWork.open(output, info, work_settings(model, None, None, "float32", None, None,
                                                      None))
    leftover = work.segment_path(work.segments[0])
    with open(leftover, "wb") as handle:
        handle.write(b"segment of another run")
    other = VideoWork.open(output, info, work_settings(model, None, None, "bfloat16", None,
                                                       None, None))
    assert other.folder == work.folder and not os.path.exists(leftover)
    # A folder of that name that srn-tf did not write is refused, never emptied.
    os.remove(os.path.join(work.folder, "manifest.json"))
    with open(leftover, "wb") as handle:
        handle.write(b"someone else's file")
    with pytest.raises(ValueError, match="was not written by srn-deblur"):
        VideoWork.open(output, info, work_settings(model, None, None, "float32", None, None,
                                                   None))
    assert os.path.exists(leftover)


@pytest.mark.video
@pytest.mark.parametrize("kind", ["text", "truncated", "audio_only", "same_as_input"])
def test_bad_video_input_is_refused_in_one_line_before_tensorflow(kind, clip, tmp_path):
    import av

    path = tmp_path / "bad.mp4"
    output = tmp_path / "bad_sharp.mp4"
    if kind == "text":
        path.write_text("not a video at all\n")
    elif kind == "truncated":
        with open(clip, "rb") as handle:
            data = handle.read()
        path.write_bytes(data[:len(data) // 2])
    elif kind == "audio_only":
        with av.open(str(path), "w") as container:
            sound = container.add_stream("aac", rate=AUDIO_RATE)
            block = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                               layout="mono")
            block.sample_rate, block.pts = AUDIO_RATE, 0
            for packet in [*sound.encode(block), *sound.encode()]:
                container.mux(packet)
    else:
        path, output = clip, clip
    error = _refused("srn-deblur", f"--input_path={path}", f"--output_path={output}")
    assert error.startswith(str(path)), error
    assert kind == "same_as_input" or not os.path.exists(output)


NO_PYAV = ("import sys; sys.modules['av'] = None; sys.argv[0] = 'srn-deblur'; "
           "from srn_tf.cli.deblur import run; run()")


def test_a_video_without_pyav_is_refused_naming_the_pip_command(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00" * 64)  # never read: PyAV's absence is found first
    result = subprocess.run([sys.executable, "-c", NO_PYAV, f"--input_path={path}",
                             f"--output_path={tmp_path / 'out.mp4'}"],
                            capture_output=True, text=True, timeout=300)
    errors = _error_lines(result.stderr)
    assert result.returncode == 1
    assert errors == [f"error: {path}: deblurring a video needs PyAV: {PIP_LINE}"], errors
    assert not (tmp_path / "out.mp4").exists()


def test_a_video_in_a_folder_without_pyav_fails_alone(tmp_path):
    from srn_tf.data.image_io import write_image

    folder = tmp_path / "in"
    folder.mkdir()
    write_image(str(folder / "photo.png"), _clip_frames(1)[0])
    (folder / "clip.mp4").write_bytes(b"\x00" * 64)
    output = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", NO_PYAV, f"--input_path={folder}",
                             f"--output_path={output}", "--quality=network",
                             "--precision=float32"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (output / "photo.png").is_file()
    assert f"failed: {folder / 'clip.mp4'}: deblurring a video needs PyAV: {PIP_LINE}" \
        in result.stdout.splitlines()
    assert not (output / "clip.mp4").exists()
