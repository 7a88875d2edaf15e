"""Shared test settings: quiet TF logs, a `--runslow` option for slow tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

# Optional extras' tests that fail, not skip, without their extra: only a -m naming
# their marker selects them.
EXTRA_MARKERS = {"onnx": "ONNX export's tests", "litert": "LiteRT export's tests"}


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run tests marked slow (minutes each on a 2-core CPU)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes minutes on a 2-core CPU; run with --runslow")
    config.addinivalue_line("markers", "serve: srn-serve's HTTP and browser tests (needs "
                            "pip install -e '.[serve]'; the browser test Debian's chromium)")
    config.addinivalue_line("markers", "batch: srn-batch's Apache Beam tests (skipped without "
                            "pip install -e '.[batch]')")
    for marker, extra in EXTRA_MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: the {extra}; run with -m {marker} after "
                                f"pip install -e '.[{marker}]' (fails without it)")


def pytest_collection_modifyitems(config, items):
    markexpr = config.getoption("markexpr") or ""
    for marker in EXTRA_MARKERS:
        if marker not in markexpr:
            skip_extra = pytest.mark.skip(reason=f"{marker}: select with -m {marker}")
            for item in items:
                if marker in item.keywords:
                    item.add_marker(skip_extra)
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
