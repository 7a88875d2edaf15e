"""Shared test settings: quiet TF logs, a `--runslow` option for slow tests, and
precision="auto" resolving to float32 in-process on every machine (see the end)."""

import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

# Tests of optional extras that fail, not skip, without their extra: left out of every
# run whose -m does not name them (the default run among them).
EXTRA_MARKERS = {"onnx": "the ONNX export's and int8's tests",
                 "litert": "the LiteRT export's tests",
                 "jax": "the Keras jax backend's tests", "torch": "the Keras torch backend's tests",
                 "video": "video's tests (PyAV)"}


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run tests marked slow (minutes each on a 2-core CPU)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes minutes on a 2-core CPU; run with --runslow")
    config.addinivalue_line("markers", "serve: srn-serve's HTTP and browser tests (needs "
                            "pip install -e '.[serve]'; the browser test Debian's chromium)")
    config.addinivalue_line("markers", "batch: srn-batch's Apache Beam tests (skipped without "
                            "pip install -e '.[batch]')")
    for marker, tests in EXTRA_MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {tests} (run only when -m names "
                                f"{marker}; need pip install -e '.[{marker}]', and fail "
                                "without it)")


def _deselect_unnamed_extras(config, items):
    named = set(re.findall(r"\w+", config.getoption("markexpr") or ""))
    kept, deselected = [], []
    for item in items:
        markers = {marker for marker in EXTRA_MARKERS if item.get_closest_marker(marker)}
        (deselected if markers and not markers & named else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_collection_modifyitems(config, items):
    _deselect_unnamed_extras(config, items)
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: pass --runslow to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture
def read_only_folder(tmp_path):
    """An empty folder its owner may read but not write; skipped, saying why, as root
    (root writes anywhere, so the refusal cannot be shown)."""
    if os.geteuid() == 0:
        pytest.skip("running as root: a read-only folder is still writable")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    yield folder
    folder.chmod(0o700)


# What tests compare with is the release's float32 arithmetic (pinned outputs, the TF1
# graph, tolerances measured in float32), so in every in-process test precision="auto",
# the library's default, sees a processor without native bfloat16 and no GPU: float32 on
# any machine (AVX2, AVX-512 BF16, AMX, a GPU). Tests of "auto" fake the processor they
# need (test_processor.py); console scripts run in a subprocess see the real one, and the
# tests that compare their outputs with float32 pass --precision=float32.
AVX2_ONLY_CPUINFO = "processor\t: 0\nflags\t\t: fpu sse sse2 avx fma avx2\n"


@pytest.fixture(autouse=True)
def processor_without_native_low_precision(monkeypatch):
    from srn_tf import processor

    monkeypatch.setattr(processor, "read_cpuinfo", lambda: AVX2_ONLY_CPUINFO)
    monkeypatch.setattr(processor, "tensorflow_gpu", lambda: None)


@pytest.fixture(scope="module")
def onnx_extra():
    """Fails (never skips) a test of the onnx extra run without it, naming the command."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as error:
        pytest.fail(f"these tests need the onnx extra ({error}): pip install -e '.[onnx]'")


@pytest.fixture(scope="module")
def video_extra():
    """Fails (never skips) a test of the video extra run without PyAV, in
    `import_av`'s own one line that gives the pip command."""
    from srn_tf.data.video import MissingVideoExtra, import_av

    try:
        import_av("this test")
    except MissingVideoExtra as error:
        pytest.fail(str(error))
