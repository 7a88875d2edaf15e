"""srn-batch on videos: segments deblurred as Beam elements, joined with the sound.

Needs both extras: Apache Beam (pip install -e '.[batch]'; skipped without it) and PyAV
(pip install -e '.[video]'; failed without it); run with
`python -m pytest -m video tests/test_batch_video.py`.
The clip (tests/test_deblur_video.py's make_clip: 100 H.264 frames with AAC sound) has 3
segments, so the segments really are separate elements; equality is checked under ffv1
(lossless), frame for frame.
"""

import csv
import json
import os

import numpy as np
import pytest

from tests.serve_support import save_tiny_model
from tests.test_batch import _script, beam  # noqa: F401 (beam is a fixture)
from tests.test_deblur_video import audio_packets, make_clip

# Skipped without Beam (test_batch's fixture: the batch tests' rule), failed without
# PyAV (an extra's rule).
pytestmark = [pytest.mark.batch, pytest.mark.video,
              pytest.mark.usefixtures("beam", "video_extra")]

# 100 frames with a key frame every 48: segments of frames 0-47, 48-95 and 96-99 (at
# least plan_segments' 48 frames each, the last excepted).
FRAMES, KEY_FRAME_EVERY = 100, 48
# The network alone (quick), with --steady_video, which srn-batch must hand on too.
CHEAP = ["--quality=network", "--steady_video", "--precision=float32", "--gpu=-1",
         "--video_codec=ffv1"]


def _cheap_options():
    """CHEAP's inference options, for runs in this process."""
    from srn_tf.models.inference_options import quality_options

    return quality_options("network").override(steady_video=True)


def _frames(path):
    """[(pts, RGB uint8 frame)] of a video, decoded."""
    import av

    with av.open(path) as container:
        return [(frame.pts, frame.to_ndarray(format="rgb24"))
                for frame in container.decode(video=0)]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """in/clip.mkv and in/photo.png; a tiny model's folder."""
    from skimage import data

    from srn_tf.data import image_io

    root = tmp_path_factory.mktemp("batch_video")
    (root / "in").mkdir()
    make_clip(root / "in" / "clip.mkv", frames=FRAMES, gop=KEY_FRAME_EVERY)
    image_io.write_image(root / "in" / "photo.png", data.astronaut()[:48, :64])
    save_tiny_model(str(root / "model"))
    return root


@pytest.fixture(scope="module")
def reference(clips):
    """srn-deblur's ffv1 output of the clip."""
    out = clips / "srn_deblur" / "clip.mkv"
    result = _script("deblur", f"--input_path={clips / 'in' / 'clip.mkv'}",
                     f"--output_path={out}", f"--checkpoint={clips / 'model'}", *CHEAP)
    assert result.returncode == 0, result.stderr
    return str(out)


def test_videos_are_srn_deblurs_frame_for_frame_with_the_sound_copied(clips, reference):
    out = clips / "batch"
    result = _script("batch", f"--input_pattern={clips / 'in'}", f"--output_path={out}",
                     f"--checkpoint={clips / 'model'}", *CHEAP,
                     "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert result.returncode == 0, result.stderr
    assert "videos: done 1, skipped 0 (output exists), failed 0; segments: deblurred 3, " \
           "already done 0, failed 0, retries 0" in result.stdout
    assert "done 1, skipped 0 (output exists), failed 0" in result.stdout  # the photo
    got, expected = _frames(str(out / "clip.mkv")), _frames(reference)
    assert len(got) == FRAMES
    assert [pts for pts, _ in got] == [pts for pts, _ in expected]
    for (_, frame), (_, wanted) in zip(got, expected):
        assert np.array_equal(frame, wanted)  # ffv1 is lossless: exactly srn-deblur's
    assert audio_packets(out / "clip.mkv") == audio_packets(clips / "in" / "clip.mkv")
    assert not os.path.exists(out / ".clip.mkv.srn-tf-parts")  # the work folder went
    with open(out / "summary.json") as handle:
        assert json.load(handle)["videos"]["done"] == 1


def test_a_failing_segment_is_retried_named_and_resumed_by_a_rerun(clips, reference,
                                                                    monkeypatch, capsys):
    """Segment 0 fails once (the retry succeeds), segment 1 always: the run names frames
    48-95 with 3 attempts in failures.csv and writes no video; the rerun deblurs segment 1
    alone (0 and 2 are kept) and gives srn-deblur's frames."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from srn_tf.batch.pipeline import BatchSettings, run_batch
    from srn_tf.inference import deblur_video

    real_segment = deblur_video.deblur_segment
    calls = []

    def failing_segment(model, info, segment, *arguments, **options):
        calls.append(segment.index)
        if segment.index == 1 or calls.count(0) == 1 and segment.index == 0:
            raise OSError("disk went away")
        return real_segment(model, info, segment, *arguments, **options)

    monkeypatch.setattr(deblur_video, "deblur_segment", failing_segment)
    out = clips / "retried"
    settings = BatchSettings(input_pattern=str(clips / "in" / "clip.mkv"),
                             output_path=str(out), checkpoint=str(clips / "model"),
                             options=_cheap_options(), precision="float32",
                             video_codec="ffv1")
    summary = run_batch(settings, PipelineOptions([]))
    assert sorted(calls) == [0, 0, 1, 1, 1, 2]
    assert summary["videos"] == {
        "videos": 1, "done": 0, "skipped": 0, "failed": 1,
        "segments": {"deblurred": 2, "already_done": 0, "failed": 1, "retries": 3}}
    with open(out / "failures.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    source = str(clips / "in" / "clip.mkv")
    assert rows == [{"file": source, "reason": f"{source}: frames 48-95: disk went away "
                                               "(failed 3 attempts)"}]
    assert not os.path.exists(out / "clip.mkv")
    parts = sorted(os.listdir(out / ".clip.mkv.srn-tf-parts"))
    assert parts == ["manifest.json", "segment-00000.nut", "segment-00002.nut"]

    monkeypatch.setattr(deblur_video, "deblur_segment", real_segment)
    summary = run_batch(settings, PipelineOptions([]))
    assert summary["videos"]["segments"] == {"deblurred": 1, "already_done": 2, "failed": 0,
                                             "retries": 0}
    got, expected = _frames(str(out / "clip.mkv")), _frames(reference)
    assert len(got) == len(expected) == FRAMES
    assert all(np.array_equal(frame, wanted) for (_, frame), (_, wanted) in zip(got, expected))

    # A third run finds the output and skips the video.
    summary = run_batch(settings, PipelineOptions([]))
    assert (summary["videos"]["skipped"], summary["videos"]["done"]) == (1, 0)


def test_srn_deblur_resumes_the_segments_srn_batch_finished(clips, reference, monkeypatch):
    """The work folder and its manifest are srn-deblur's: after a srn-batch run whose
    segment 1 failed, srn-deblur on the same output deblurs only that segment (frames
    48-95; its progress counts the other 52 frames as done) and gives its own frames."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from srn_tf.batch.pipeline import BatchSettings, run_batch
    from srn_tf.inference import deblur_video

    real_segment = deblur_video.deblur_segment

    def failing_segment(model, info, segment, *arguments, **options):
        if segment.index == 1:
            raise OSError("disk went away")
        return real_segment(model, info, segment, *arguments, **options)

    monkeypatch.setattr(deblur_video, "deblur_segment", failing_segment)
    out = clips / "handed_over"
    source = str(clips / "in" / "clip.mkv")
    summary = run_batch(BatchSettings(input_pattern=source, output_path=str(out),
                                      checkpoint=str(clips / "model"),
                                      options=_cheap_options(),
                                      precision="float32", video_codec="ffv1"),
                        PipelineOptions([]))
    assert summary["videos"]["segments"]["deblurred"] == 2
    result = _script("deblur", f"--input_path={source}", f"--output_path={out / 'clip.mkv'}",
                     f"--checkpoint={clips / 'model'}", *CHEAP)
    assert result.returncode == 0, result.stderr
    assert f"{source}: resuming at frame 53 of 100" in result.stdout
    got, expected = _frames(str(out / "clip.mkv")), _frames(reference)
    assert len(got) == len(expected) == FRAMES
    assert all(np.array_equal(frame, wanted) for (_, frame), (_, wanted) in zip(got, expected))


def test_an_output_folder_where_a_video_output_would_replace_its_input_is_refused(tmp_path):
    """A folder of videos alone as its own output folder: refused in one line naming the
    video before anything runs, the video untouched (the photos' check saw no photo)."""
    clip = tmp_path / "clip.mkv"
    clip.write_bytes(b"not looked at: the refusal comes first")
    result = _script("batch", f"--input_pattern={tmp_path}", f"--output_path={tmp_path}",
                     "--gpu=-1")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {clip}: the output would replace this input; outputs never replace inputs "
        "(choose another output folder)")
    assert clip.read_bytes() == b"not looked at: the refusal comes first"
    assert sorted(os.listdir(tmp_path)) == ["clip.mkv"]
