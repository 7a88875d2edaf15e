"""srn-serve's HTTP API on a real uvicorn: concurrent requests, refusals, a full queue,
hostile file names, metadata, the job API, and srn-serve itself stopped by Ctrl-C.

Needs the `serve` extra (`pip install 'srn-tf[serve]'`); skipped, saying so, without it.
"""

import concurrent.futures
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="srn-serve's extra is not installed: "
                                      "pip install 'srn-tf[serve]'")
pytest.importorskip("uvicorn", reason="srn-serve's extra is not installed: "
                                      "pip install 'srn-tf[serve]'")
pytest.importorskip("python_multipart", reason="srn-serve's extra is not installed: "
                                               "pip install 'srn-tf[serve]'")
httpx = pytest.importorskip("httpx", reason="the tests need httpx: pip install 'srn-tf[serve]'")

from tests.serve_support import (decoded, encoded, expected_output, make_service,  # noqa: E402
                                 photo, running_server, save_tiny_model)

pytestmark = pytest.mark.serve

BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(model folder, loaded model) of a tiny color model."""
    from srn_tf.checkpoints.loading import load_deblur_model

    folder = save_tiny_model(str(tmp_path_factory.mktemp("serve_model") / "tiny"))
    return folder, load_deblur_model(folder)


@pytest.fixture()
def server(tiny, tmp_path):
    """A running server on the tiny model: (base address, service)."""
    from srn_tf.serve.jobs import model_runner

    service = make_service(model_runner(tiny[1]), str(tmp_path / "private"),
                           max_queue=32, description="tiny")
    os.mkdir(service.folder)
    with running_server(service, max_upload_bytes=200 * 1024) as url:
        yield url, service


def _png(image):
    return encoded(image, ".png")


def _eventually(predicate, seconds=30):
    """True once `predicate()` is (a synchronous job is forgotten just after its answer)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_twenty_concurrent_requests_are_all_answered_with_their_own_image(server, tiny):
    url, service = server
    images = [photo(seed, 32 + 16 * (seed % 3), 48) for seed in range(20)]
    strengths = [round(seed / 19, 3) for seed in range(20)]

    def post(index):
        with httpx.Client(timeout=120) as client:
            return client.post(f"{url}/api/deblur",
                               files={"image": (f"p{index}.png", _png(images[index]))},
                               data={"strength": str(strengths[index])})

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(post, range(20)))
    for index, response in enumerate(responses):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        result, _ = decoded(response.content, ".png")
        expected = expected_output(tiny[1], images[index], strengths[index])
        np.testing.assert_array_equal(result, expected, err_msg=f"request {index}")
        assert response.content == encoded(expected, ".png")
    # Every synchronous job is forgotten once answered; nothing is left in the folder.
    assert _eventually(lambda: service.jobs() == [] and os.listdir(service.folder) == [])


def test_over_size_non_image_and_empty_uploads_are_refused(server):
    url, service = server
    big = np.random.RandomState(1).randint(0, 256, (300, 300, 3), np.uint8)  # ~270 KB PNG
    assert len(_png(big)) > 200 * 1024
    with httpx.Client(base_url=url, timeout=60) as client:
        cases = [
            ({"image": ("big.png", _png(big))}, {}, 413, r"over the limit of 0\.195312 MB"),
            ({"image": ("notes.png", b"these are not pixels")}, {}, 400,
             r"^notes\.png: not an image srn-serve reads \(PNG, JPEG, BMP, TIFF or WebP\)$"),
            ({"image": ("broken.png", _png(photo(0))[:60])}, {}, 400,
             r"^broken\.png: truncated PNG"),
            ({"image": ("empty.png", b"")}, {}, 400, r"^empty\.png: the file is empty$"),
            ({"other": ("a.png", _png(photo(0)))}, {}, 400, r"no file in the field 'image'"),
            ({"image": ("tiny.png", _png(photo(0, 8, 8)))}, {}, 400,
             r"^tiny\.png: image is 8x8; SRN needs at least 16 pixels"),
            ({"image": ("a.png", _png(photo(0)))}, {"strength": "1.5"}, 400,
             r"strength must be a number from 0 to 1"),
        ]
        for files, data, status, message in cases:
            response = client.post("/api/deblur", files=files, data=data)
            assert response.status_code == status, (files.keys(), response.text)
            assert re.search(message, response.json()["error"]), response.json()
            if not data:  # the job API takes its strength with each result
                response = client.post("/api/jobs", files=files)
                assert response.status_code == status, response.text
                assert re.search(message, response.json()["error"]), response.json()
        assert client.post("/api/deblur", content=b"raw bytes").status_code == 400
        # And the server goes on serving.
        response = client.post("/api/deblur", files={"image": ("ok.png", _png(photo(3)))})
        assert response.status_code == 200
    assert _eventually(lambda: os.listdir(service.folder) == [])


def test_every_bad_file_of_the_corpus_is_refused_in_json_and_good_ones_are_deblurred(
        server, tmp_path):
    """The bad-input corpus (tests/bad_inputs.py) uploaded file by file: the header that
    claims 60000x60000 answers 413 naming the pixel limit and its flag before anything is
    decoded, every other bad file 400, each with a JSON error that starts with the upload's
    file name; no 500. The good files (WebP and a CMYK JPEG among them) are deblurred, a
    WebP result comes back as WebP, and the server goes on afterwards."""
    from tests.bad_inputs import write_corpus

    url, service = server
    good, bad, unsupported = write_corpus(str(tmp_path / "corpus"))
    expected = {name: 400 for name in list(bad) + list(unsupported)}
    expected["bomb.png"] = 413
    expected["one_pixel.png"] = 400  # below the model's smallest side
    with httpx.Client(base_url=url, timeout=120) as client:
        for name, status in expected.items():
            path = bad.get(name) or unsupported.get(name) or good[name]
            with open(path, "rb") as handle:
                data = handle.read()
            for route in ("/api/jobs", "/api/deblur"):
                response = client.post(route, files={"image": (name, data)})
                assert response.status_code == status, (name, route, response.text)
                message = response.json()["error"]
                assert message.startswith(f"{name}: ") and "\n" not in message, message
        with open(bad["bomb.png"], "rb") as handle:
            response = client.post("/api/jobs", files={"image": ("bomb.png", handle.read())})
        assert re.fullmatch(r"bomb\.png: 60000x60000 \(3600\.0 megapixels\) is above the limit "
                            r"of 200 megapixels \(raise it with --max_megapixels\)",
                            response.json()["error"]), response.json()
        for name in ("fine.webp", "cmyk.jpg", "good.png"):
            with open(good[name], "rb") as handle:
                response = client.post("/api/deblur", files={"image": (name, handle.read())})
            assert response.status_code == 200, (name, response.text)
            stem, extension = os.path.splitext(name)
            assert f'filename="{stem}_deblurred{extension}"' in response.headers[
                "content-disposition"], response.headers
            assert response.headers["content-type"] == {
                ".webp": "image/webp", ".jpg": "image/jpeg", ".png": "image/png"}[extension]
            assert decoded(response.content, extension)[0].shape[:2] == (64, 64)
    assert _eventually(lambda: os.listdir(service.folder) == [])


def test_the_pixel_limit_is_the_services_own(tiny, tmp_path):
    """An image of more pixels than the service's max_megapixels (srn-serve's flag)
    answers 413 before it is decoded; one within it is deblurred."""
    from srn_tf.serve.jobs import model_runner

    service = make_service(model_runner(tiny[1]), str(tmp_path / "private"),
                           max_megapixels=0.002)  # 2000 pixels: 48x48 is over, 32x32 not
    os.mkdir(service.folder)
    with running_server(service) as url, httpx.Client(base_url=url, timeout=120) as client:
        response = client.post("/api/jobs", files={"image": ("wide.png", _png(photo(0, 48, 48)))})
        assert response.status_code == 413, response.text
        assert response.json()["error"] == (
            "wide.png: 48x48 (0.0 megapixels) is above the limit of 0.002 megapixels "
            "(raise it with --max_megapixels)")
        response = client.post("/api/deblur", files={"image": ("ok.png", _png(photo(0, 32, 32)))})
        assert response.status_code == 200, response.text


def test_an_upload_too_big_for_memory_answers_413_and_the_server_goes_on(tiny, tmp_path,
                                                                        monkeypatch):
    """Decoding that runs out of memory (a ulimit, a container) refuses that upload."""
    from srn_tf.data import image_io
    from srn_tf.serve.jobs import model_runner

    real_read = image_io.read_image_with_metadata

    def read(path, *args, **kwargs):
        if read.calls == 0:
            read.calls += 1
            raise MemoryError("Unable to allocate 2.2 GiB for an array")
        return real_read(path, *args, **kwargs)

    read.calls = 0
    monkeypatch.setattr(image_io, "read_image_with_metadata", read)
    service = make_service(model_runner(tiny[1]), str(tmp_path / "private"))
    os.mkdir(service.folder)
    with running_server(service) as url, httpx.Client(base_url=url, timeout=120) as client:
        response = client.post("/api/jobs", files={"image": ("huge.png", _png(photo(0, 32, 32)))})
        assert response.status_code == 413, response.text
        assert response.json()["error"] == ("huge.png: out of memory decoding it (Unable to "
                                            "allocate 2.2 GiB for an array)")
        response = client.post("/api/deblur", files={"image": ("ok.png", _png(photo(0, 32, 32)))})
        assert response.status_code == 200, response.text


def test_an_upload_the_memory_plan_cannot_fit_answers_413_before_decoding(tiny, tmp_path,
                                                                          monkeypatch):
    """srn-serve's memory check is srn-deblur's (`per_file.check_memory_of_shape`) on
    the upload's header; its refusal names the upload, not the server's private file."""
    from srn_tf.inference import memory_plan
    from srn_tf.serve.jobs import memory_check_of, model_runner

    service = make_service(model_runner(tiny[1]), str(tmp_path / "private"),
                           memory_check=memory_check_of(tiny[1]))
    os.mkdir(service.folder)
    with running_server(service) as url, httpx.Client(base_url=url, timeout=120) as client:
        monkeypatch.setattr(memory_plan, "available_bytes", lambda: 1)
        monkeypatch.setattr(memory_plan, "_own_status_bytes", lambda field: 1)
        response = client.post("/api/jobs", files={"image": ("big.png", _png(photo(0, 32, 48)))})
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert error.startswith("big.png: a 48 x 32 photo needs about "), error
        assert "GB are free" in error and str(tmp_path) not in error
        monkeypatch.undo()
        response = client.post("/api/deblur", files={"image": ("ok.png", _png(photo(0, 32, 48)))})
        assert response.status_code == 200, response.text


def test_a_full_queue_answers_503_and_the_server_goes_on(tiny, tmp_path):
    from srn_tf.serve.jobs import model_runner

    release = threading.Event()
    real = model_runner(tiny[1])

    def held_run(image):
        assert release.wait(60)
        return real(image)

    service = make_service(held_run, str(tmp_path / "private"), max_queue=2)
    os.mkdir(service.folder)
    with running_server(service) as url, httpx.Client(base_url=url, timeout=60) as client:
        ids = []
        for index in range(3):  # one runs (held), two wait: the queue is full
            response = client.post("/api/jobs", files={"image": (f"{index}.png",
                                                                 _png(photo(index)))})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        deadline = time.monotonic() + 30
        while client.get("/api/status").json()["running"] != ids[0]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        queued = client.get(f"/api/jobs/{ids[2]}").json()
        assert queued["state"] == "queued" and queued["position"] == 2
        for endpoint in ("/api/jobs", "/api/deblur"):
            response = client.post(endpoint, files={"image": ("x.png", _png(photo(9)))})
            assert response.status_code == 503
            assert response.json() == {"error": "the queue is full (2 images waiting); "
                                                "try again later"}
        assert client.get(f"/api/jobs/{ids[1]}/result").status_code == 409
        release.set()
        for job_id in ids:
            while client.get(f"/api/jobs/{job_id}").json()["state"] != "done":
                assert time.monotonic() < deadline
                time.sleep(0.02)
        status = client.get(f"/api/jobs/{ids[2]}").json()
        assert status["seconds"] > 0 and status["progress"] == 1.0
        assert client.get("/api/status").json()["seconds_per_megapixel"] > 0
        response = client.post("/api/deblur", files={"image": ("x.png", _png(photo(9)))})
        assert response.status_code == 200
        np.testing.assert_array_equal(decoded(response.content, ".png")[0],
                                      expected_output(tiny[1], photo(9)))


HOSTILE_NAMES = ["../../escaped.png", "/tmp/absolute_escape.png", "..\\..\\windows.png",
                 "a/../../../up.png", "....//....//dots.png", "name\x00null.png",
                 "%2e%2e%2fencoded.png", "<script>alert(1)</script>.png", ".hidden.png"]


def _all_files(root):
    return {os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names}


def test_hostile_file_names_change_nothing_on_disk(server, tmp_path, monkeypatch):
    url, service = server
    workdir = tmp_path / "cwd" / "a" / "b"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)
    before = _all_files(tmp_path) - _all_files(service.folder)
    before_tmp = set(os.listdir("/tmp"))
    ids = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for index, name in enumerate(HOSTILE_NAMES):
            response = client.post("/api/jobs", files={"image": (name, _png(photo(index)))})
            assert response.status_code == 202, (name, response.text)
            body = response.json()
            assert "/" not in body["name"] and "\\" not in body["name"]
            ids.append(body["id"])
        for job_id in ids:
            while client.get(f"/api/jobs/{job_id}").json()["state"] != "done":
                time.sleep(0.02)
            response = client.get(f"/api/jobs/{job_id}/result")
            disposition = response.headers["content-disposition"]
            assert ".." not in disposition and "/" not in disposition.split("filename")[1]
        archive = zipfile.ZipFile(io.BytesIO(client.get("/api/results.zip").content))
        names = archive.namelist()
        assert len(names) == len(HOSTILE_NAMES) and len(set(names)) == len(names)
        assert all(re.fullmatch(r"[\w\- .()]+_deblurred\.png", name) for name in names), names
        assert client.get("/api/jobs/..%2f..%2fetc%2fpasswd").status_code == 404
        assert client.get("/api/jobs/../../etc/passwd").status_code == 404
        assert client.get("/../../etc/passwd").status_code == 404
    # Nothing appeared outside the private folder, and nothing in it bears a client's name.
    assert _all_files(tmp_path) - _all_files(service.folder) == before
    assert not {"escaped.png", "absolute_escape.png"} & (set(os.listdir("/tmp")) - before_tmp)
    inside = [os.path.relpath(path, service.folder) for path in _all_files(service.folder)]
    assert all(re.fullmatch(r"[0-9a-f]{16}/(input|deblurred)\.npy|[0-9a-f]{16}/result-\d+-"
                            r"[0-9a-f]{8}\.png", path) for path in inside), inside


def test_results_keep_format_bit_depth_exif_and_icc(server, tiny, tmp_path):
    from PIL import Image, ImageCms

    url, _ = server
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[271], exif[272] = "TestCam", "Model 7"
    source = photo(5)
    jpeg_path = tmp_path / "shot.jpg"
    Image.fromarray(source).save(jpeg_path, exif=exif.tobytes(), icc_profile=profile, quality=95)
    deep = photo(6, dtype=np.uint16)
    with httpx.Client(base_url=url, timeout=60) as client:
        response = client.post("/api/deblur", files={"image": ("shot.jpg",
                                                               jpeg_path.read_bytes())},
                               data={"strength": "0.5"})
        assert response.headers["content-type"] == "image/jpeg"
        assert 'filename="shot_deblurred_50.jpg"' in response.headers["content-disposition"]
        image, metadata = decoded(jpeg_path.read_bytes(), ".jpg")
        expected = expected_output(tiny[1], image, 0.5)
        assert response.content == encoded(expected, ".jpg", metadata)
        with Image.open(io.BytesIO(response.content)) as written:
            assert written.getexif()[271] == "TestCam"
            assert written.info["icc_profile"] == profile
        response = client.post("/api/deblur", files={"image": ("deep.png", _png(deep))})
        result, _ = decoded(response.content, ".png")
        assert result.dtype == np.uint16
        np.testing.assert_array_equal(result, expected_output(tiny[1], deep))
        tiff = encoded(deep, ".tif")
        response = client.post("/api/deblur", files={"image": ("scan.tif", tiff)})
        assert response.headers["content-type"] == "image/tiff"
        np.testing.assert_array_equal(decoded(response.content, ".tif")[0],
                                      expected_output(tiny[1], deep))


def test_the_job_api_reports_results_previews_and_a_zip(server, tiny):
    url, service = server
    images = {"first.png": photo(11), "second.png": photo(12, 64, 40)}
    with httpx.Client(base_url=url, timeout=60) as client:
        ids = {}
        for name, image in images.items():
            response = client.post("/api/jobs", files={"image": (name, _png(image))})
            assert response.status_code == 202
            body = response.json()
            assert body["status_url"] == f"/api/jobs/{body['id']}"
            ids[name] = body["id"]
        for job_id in ids.values():
            while (status := client.get(f"/api/jobs/{job_id}").json())["state"] != "done":
                assert status["state"] in ("queued", "running")
                time.sleep(0.02)
        listed = client.get("/api/jobs").json()["jobs"]
        assert sorted(job["name"] for job in listed) == sorted(images)
        for name, image in images.items():
            job_id = ids[name]
            for strength in ("0", "0.25", "1"):
                response = client.get(f"/api/jobs/{job_id}/result", params={"strength": strength})
                np.testing.assert_array_equal(decoded(response.content, ".png")[0],
                                              expected_output(tiny[1], image, float(strength)))
            zero = client.get(f"/api/jobs/{job_id}/result?strength=0").content
            np.testing.assert_array_equal(decoded(zero, ".png")[0], image)
            preview = client.get(f"/api/jobs/{job_id}/preview/result")
            assert preview.headers["content-type"] == "image/png"
            np.testing.assert_array_equal(decoded(preview.content, ".png")[0],
                                          expected_output(tiny[1], image))
            assert client.get(f"/api/jobs/{job_id}/preview/other").status_code == 404
            assert client.get(f"/api/jobs/{job_id}/result?strength=nan").status_code == 400
        pairs = ",".join([f"{ids['first.png']}:0.5", ids["second.png"]])
        response = client.get("/api/results.zip", params={"jobs": pairs})
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        assert sorted(archive.namelist()) == ["first_deblurred_50.png", "second_deblurred.png"]
        np.testing.assert_array_equal(
            decoded(archive.read("first_deblurred_50.png"), ".png")[0],
            expected_output(tiny[1], images["first.png"], 0.5))
        assert client.get("/api/results.zip", params={"jobs": "0" * 16}).status_code == 404
        assert client.delete(f"/api/jobs/{ids['first.png']}").json() == {
            "deleted": ids["first.png"]}
        assert client.get(f"/api/jobs/{ids['first.png']}").status_code == 404
        assert client.get("/api/status").json()["model"] == "tiny"
        page = client.get("/")
        assert page.status_code == 200 and "Drop photos here" in page.text
        assert client.get("/app.js").status_code == 200
    assert len(os.listdir(service.folder)) == 1  # the second job's folder


def test_a_server_without_pyav_answers_501_for_videos(server):
    """A service with no video runner (srn-serve without PyAV) answers 501 naming the
    pip command before it reads the upload, so any bytes show it."""
    url, _ = server
    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.get("/api/status").json()["videos"] is False
        response = client.post("/api/videos",
                               files={"video": ("clip.mp4", b"not read: the 501 comes first")})
    assert response.status_code == 501
    assert "pip install 'srn-tf[video]'" in response.json()["error"]


def test_requests_from_other_sites_are_refused(server):
    url, _ = server
    with httpx.Client(base_url=url, timeout=60) as client:
        files = {"image": ("a.png", _png(photo(0)))}
        response = client.post("/api/jobs", files=files, headers={"Origin": "http://evil.test"})
        assert response.status_code == 403
        assert response.json() == {"error": "cross-origin requests are refused"}
        assert client.get("/api/status", headers={"Host": "evil.test"}).status_code == 403
        own = url.split("//")[1]
        assert client.post("/api/jobs", files=files,
                           headers={"Origin": f"http://{own}"}).status_code == 202


def _refused(*args):
    result = subprocess.run([sys.executable, "-X", "importtime", os.path.join(BIN, "srn-serve"),
                             *args], capture_output=True, text=True, timeout=300)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert result.returncode == 1, result.stdout + "\n".join(errors)
    assert not any(re.search(r"\|\s+tensorflow$", line) for line in result.stderr.splitlines())
    assert len(errors) == 1 and errors[0].startswith("error: "), errors
    return errors[0][len("error: "):]


@pytest.mark.skipif(not os.path.exists(os.path.join(BIN, "srn-serve")),
                    reason="srn-serve is not installed: pip install -e '.[serve]'")
def test_srn_serve_refuses_bad_flags_before_tensorflow_loads(tmp_path):
    assert _refused("--port=70000") == "--port must be from 0 to 65535. Received: 70000"
    assert _refused("--max_upload_mb=0") == "--max_upload_mb must be above 0. Received: 0"
    assert _refused("--max_queue=0") == "--max_queue must be at least 1. Received: 0"
    assert _refused("--max_megapixels=0").startswith(
        "--max_megapixels must be above 0 and at most 1073.74")
    assert _refused(f"--checkpoint={tmp_path}/absent") == (
        f"--checkpoint={tmp_path}/absent: no such checkpoint, folder or preset")
    with __import__("socket").socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert _refused(f"--port={port}").startswith(f"127.0.0.1:{port}: cannot listen (")


def test_missing_dependencies_are_named_in_one_line(monkeypatch):
    import importlib.util

    from srn_tf import serve

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "uvicorn" else real(name, *args))
    assert serve.missing_dependencies() == ["uvicorn"]
    assert serve.missing_message(["uvicorn"]) == (
        "srn-serve needs uvicorn: pip install 'srn-tf[serve]'")


def test_only_loopback_hosts_count_as_local():
    from srn_tf.serve.server import is_loopback

    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "192.168.1.2", "::", "example.com"]))


@pytest.mark.skipif(not os.path.exists(os.path.join(BIN, "srn-serve")),
                    reason="srn-serve is not installed: pip install -e '.[serve]'")
def test_ctrl_c_delivers_the_image_being_deblurred_then_cleans_up(tiny, tmp_path):
    """srn-serve itself: started on a free port, it serves; Ctrl-C while an image runs
    lets that request get its image, then the process exits 0 and its folder is gone."""
    private_root = tmp_path / "tmp"
    private_root.mkdir()
    process = subprocess.Popen(
        # float32: the precision expected_output computes in (this process's "auto").
        [os.path.join(BIN, "srn-serve"), f"--checkpoint={tiny[0]}", "--port=0",
         "--precision=float32"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TMPDIR": str(private_root)})
    try:
        line = process.stdout.readline()
        match = re.match(r"srn-serve: (http://127\.0\.0\.1:\d+/) serving (.*) \(Ctrl-C stops\)",
                         line)
        assert match, line + process.stderr.read()
        url = match.group(1).rstrip("/")
        device = process.stdout.readline()
        assert device.startswith(("srn-serve: running on CPU (",
                                  "srn-serve: running on GPU: ")), device
        assert device.rstrip().endswith("; precision float32"), device
        assert [path.name.startswith("srn-serve-") for path in private_root.iterdir()] == [True]
        big = photo(21, 1200, 1800)  # tiled automatically; long enough to be caught running
        response = {}

        def post():
            with httpx.Client(timeout=300) as client:
                response["r"] = client.post(f"{url}/api/deblur",
                                            files={"image": ("big.png", _png(big))})

        poster = threading.Thread(target=post)
        poster.start()
        with httpx.Client(base_url=url, timeout=60) as client:
            deadline = time.monotonic() + 120
            while client.get("/api/status").json()["running"] is None:
                assert time.monotonic() < deadline and poster.is_alive()
                time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        poster.join(300)
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert response["r"].status_code == 200
    np.testing.assert_array_equal(decoded(response["r"].content, ".png")[0],
                                  expected_output(tiny[1], big))
    assert "done big.png (1800x1200)" in out and out.rstrip().endswith("srn-serve: stopped")
    assert list(private_root.iterdir()) == []
