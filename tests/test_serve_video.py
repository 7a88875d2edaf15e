"""srn-serve's video uploads on a real uvicorn: the deblurred video with its sound,
progress over frames, and the limits (413) and refusals.

Needs the `serve` extra (skipped without it) and the `video` extra (failed without
PyAV); run with `python -m pytest -m video tests/test_serve_video.py`.
"""

import os
import re
import time

import pytest

pytest.importorskip("fastapi", reason="srn-serve's extra is not installed: "
                                      "pip install 'srn-tf[serve]'")
pytest.importorskip("python_multipart", reason="srn-serve's extra is not installed: "
                                               "pip install 'srn-tf[serve]'")
httpx = pytest.importorskip("httpx", reason="the tests need httpx: pip install 'srn-tf[serve]'")

from tests.serve_support import (browser, make_service, running_server,  # noqa: E402,F401
                                 save_tiny_model)
from tests.test_deblur_video import audio_packets, make_clip  # noqa: E402

pytestmark = [pytest.mark.serve, pytest.mark.video, pytest.mark.usefixtures("video_extra")]

FRAMES = 24  # 1 s at 24 fps


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from srn_tf.checkpoints.loading import load_deblur_model

    folder = save_tiny_model(str(tmp_path_factory.mktemp("serve_video_model") / "tiny"))
    return load_deblur_model(folder)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("serve_video") / "clip.mp4", frames=FRAMES)


def _video_packets(path):
    import av

    with av.open(os.fspath(path)) as container:
        return [bytes(packet) for packet in container.demux(video=0) if packet.size]


def _frame_count(path):
    import av

    with av.open(os.fspath(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _video_service(model, folder, seconds_per_frame):
    """A service on `model` whose videos take at least `seconds_per_frame` a frame, so
    that a poll sees them midway."""
    from srn_tf.serve.jobs import model_runner
    from srn_tf.serve.videos import video_runner

    run_video = video_runner(model)

    def slowed(input_path, output_path, on_frame):
        def frame_done(frames):
            on_frame(frames)
            time.sleep(seconds_per_frame)

        run_video(input_path, output_path, frame_done)

    service = make_service(model_runner(model), folder, run_video=slowed, max_video_seconds=10)
    os.mkdir(service.folder)
    return service


@pytest.fixture()
def service(tiny, tmp_path):
    return _video_service(tiny, str(tmp_path / "private"), 0.03)


def test_a_video_comes_back_deblurred_with_its_sound_and_progress_over_frames(
        service, tiny, clip, tmp_path):
    """The result is what deblur_video writes for the clip (the same H.264 packets: x264
    is deterministic), with the input's audio packets; a poll midway shows frames done,
    progress as their share and an ETA."""
    from srn_tf.inference.deblur_video import deblur_video

    with running_server(service) as url, httpx.Client(base_url=url, timeout=120) as client:
        with open(clip, "rb") as handle:
            response = client.post("/api/videos", files={"video": ("clip.mp4", handle)})
        assert response.status_code == 202, response.text
        job = response.json()
        assert (job["kind"], job["frames"], job["width"], job["height"]) == \
            ("video", FRAMES, 96, 64)
        midway = []
        deadline = time.monotonic() + 120
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            job = client.get(f"/api/jobs/{job['id']}").json()
            if job["state"] == "running" and 0 < job["frames_done"] < FRAMES:
                midway.append(job)
            time.sleep(0.02)
        assert job["state"] == "done", job
        assert midway, "no poll saw the video midway"
        assert all(status["progress"] == status["frames_done"] / FRAMES
                   and status["eta_s"] is not None for status in midway)
        response = client.get(f"/api/jobs/{job['id']}/result")
        assert response.status_code == 200
        assert response.headers["content-type"] == "video/mp4"
        assert 'filename="clip_deblurred.mp4"' in response.headers["content-disposition"]
        result = tmp_path / "result.mp4"
        result.write_bytes(response.content)
        assert client.get(f"/api/jobs/{job['id']}/result?strength=0.5").status_code == 400
        assert client.get(f"/api/jobs/{job['id']}/preview/result").status_code == 404
    expected = deblur_video(tiny, clip, str(tmp_path / "expected.mp4"), progress=False)
    assert _frame_count(result) == FRAMES
    assert _video_packets(result) == _video_packets(expected)
    assert audio_packets(result) == audio_packets(clip)


def test_videos_over_the_limits_or_not_videos_are_refused(service, clip, tmp_path):
    service.max_video_seconds = 0.5
    with open(clip, "rb") as handle:
        data = handle.read()
    with running_server(service, max_video_bytes=len(data) + 1000) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        cases = [
            ({"video": ("clip.mp4", data)}, 413,
             r"^clip\.mp4: 1\.0 s is above the limit of 0\.5 s \(--max_video_seconds\)$"),
            ({"video": ("big.mp4", data + bytes(2000))}, 413,
             r"over the limit of .* MB \(--max_video_mb\)$"),
            ({"video": ("notes.mp4", b"these are not frames")}, 400, r"^notes\.mp4: "),
            ({"image": ("clip.mp4", data)}, 400, r"no file in the field 'video'"),
        ]
        for files, status, message in cases:
            response = client.post("/api/videos", files=files)
            assert response.status_code == status, (files.keys(), response.text)
            error = response.json()["error"]
            assert re.search(message, error) and "\n" not in error, error
            assert "private" not in error  # the server's own path is never shown
        assert os.listdir(service.folder) == []  # nothing kept of a refused upload


def test_the_page_shows_a_videos_progress_over_frames_then_its_result(browser, tiny, clip,
                                                                        tmp_path):
    """In chromium (serve_support's `browser`, as tests/test_serve_browser.py drives it): a
    video picked on the page shows "deblurring frame k of 24" while it runs (0.15 s a
    frame here, the page polls every 0.6 s), then a player and a download link on its
    result."""
    from playwright import sync_api

    service = _video_service(tiny, str(tmp_path / "private"), 0.15)
    with running_server(service) as url:
        page = browser.new_page()
        page.set_default_timeout(120_000)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url + "/")
        sync_api.expect(page.locator("#server-status")).to_contain_text("Videos up to 200 MB")
        page.set_input_files("#file-input", [str(clip)])
        card = page.locator('.card[data-name="clip.mp4"]')
        sync_api.expect(card.locator(".message")).to_contain_text(
            re.compile(r"deblurring frame \d+ of 24"))
        sync_api.expect(card).to_have_class("card done", timeout=120_000)
        sync_api.expect(card.locator(".details")).to_contain_text("96×64, 24 frames, 1 s")
        job = service.jobs()[0].id
        assert card.locator(".video-player").get_attribute("src") == f"/api/jobs/{job}/result"
        assert card.locator(".download-video").get_attribute("href") == \
            f"/api/jobs/{job}/result"
        assert card.locator(".viewer").is_hidden()
        assert errors == []
