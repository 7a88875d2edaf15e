"""What srn-serve's tests (test_serve_http, test_serve_browser, test_serve_video) share:
a tiny model folder, srn-serve's application on a real uvicorn in a thread, the
library's expected output for an image at a strength, and headless chromium."""

import contextlib
import os
import sys
import tempfile
import threading
import time

import numpy as np
import pytest

from srn_tf.data import image_io

# A color network small enough that an image runs in milliseconds on a 2-core CPU.
TINY = {"base_filters": 4, "blocks_per_stage": 1, "kernel_size": 3}
CHROMIUM = "/usr/bin/chromium"
# The flags this machine's closed network needs (no background connections, no QUIC).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def save_tiny_model(path):
    """A tiny `color` model folder (random weights, no inference preset) at `path`."""
    import srn_tf

    srn_tf.save_model(srn_tf.build_model("color", **TINY), path)
    return path


def expected_output(model, image, strength=1.0):
    """What srn-serve must hand out for `image` at `strength`: the library's result
    (each image as srn-deblur runs it) blended by `srn_tf.inference.strength`."""
    from srn_tf.models.inference_options import options_of
    from srn_tf.inference.per_file import deblur_decoded
    from srn_tf.inference.strength import apply_strength

    return apply_strength(image, deblur_decoded(model, image, options_of(model)), strength)


def encoded(image, extension, metadata=None):
    """The bytes `image_io.write_image` writes for `image` as `extension`."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "image" + extension)
        image_io.write_image(path, image, metadata)
        with open(path, "rb") as handle:
            return handle.read()


def decoded(data, extension):
    """(image, metadata) of encoded bytes, read back by `image_io`."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "image" + extension)
        with open(path, "wb") as handle:
            handle.write(data)
        return image_io.read_image_with_metadata(path)


def photo(seed, height=48, width=64, dtype=np.uint8):
    """A smooth random picture (blurred-looking), so results are not noise on noise."""
    import cv2

    noise = np.random.RandomState(seed).rand(height, width, 3).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 3)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min() + 1e-6)
    scale = 65535 if dtype == np.uint16 else 255
    return (smooth * scale).astype(dtype)


@contextlib.contextmanager
def running_server(service, max_upload_bytes=50 * 2**20, max_video_bytes=200 * 2**20):
    """srn-serve's application for `service` on a real uvicorn in a thread, on a free
    loopback port; yields its base address (no trailing slash). The server and the
    service stop when the block ends."""
    from srn_tf.serve.app import create_app
    from srn_tf.serve.server import bind, make_server, url_of

    sock = bind("127.0.0.1", 0)
    server = make_server(create_app(service, max_upload_bytes,
                                    max_video_bytes=max_video_bytes), service)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield url_of(sock).rstrip("/")
    finally:
        server.should_exit = True
        thread.join(60)
        sock.close()


def make_service(run, folder, **kwargs):
    """A `DeblurService` printing its per-image lines to stderr."""
    from srn_tf.serve.jobs import DeblurService

    return DeblurService(run, folder, log=sys.stderr, **kwargs)


@pytest.fixture()
def browser():
    """Debian's headless chromium driven by Playwright, closed however the test ends;
    skipped, saying which is missing, without Playwright or chromium (Playwright never
    downloads a browser). Test modules import it to use it."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="srn-serve's extra is not "
                                   "installed: pip install 'srn-tf[serve]'")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
