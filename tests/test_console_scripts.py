"""What every console script does the same way: -h and --help, Ctrl-C, the device line."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from srn_tf.precision import INFERENCE_PRECISIONS
# read_cpuinfo as the module defines it (conftest fakes processor.read_cpuinfo in each test).
from srn_tf.processor import choose_precision, read_cpuinfo

BIN = os.path.dirname(sys.executable)
# Every console script setup.py installs.
SCRIPTS = ("srn-deblur", "srn-eval", "srn-export", "srn-train", "srn-convert", "srn-synth",
           "srn-serve", "srn-batch")


def _command(script, *args):
    return [sys.executable, os.path.join(BIN, script), *map(str, args)]


# TF_CPP_MIN_LOG_LEVEL unset, as for most users: the script keeps TensorFlow quiet.
USER_ENV = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}


@pytest.mark.parametrize("script", SCRIPTS)
def test_dash_h_shows_the_same_help_as_double_dash_help(script):
    short = subprocess.run(_command(script, "-h"), capture_output=True, text=True, timeout=120)
    long = subprocess.run(_command(script, "--help"), capture_output=True, text=True,
                          timeout=120)
    assert short.returncode == 0, short.stdout + short.stderr
    assert "Unknown command line flag" not in short.stdout + short.stderr
    assert short.stdout.startswith(f"{script}:"), short.stdout[:200]
    assert "--" in short.stdout
    assert short.stdout == long.stdout


@pytest.mark.parametrize("script, default", [
    ("srn-deblur", "auto"), ("srn-batch", "auto"), ("srn-serve", "auto"),
    ("srn-eval", "float32")])  # paper figures stay the release's arithmetic
def test_help_lists_precision_auto_and_each_scripts_default(script, default):
    result = subprocess.run(_command(script, "--help"), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    flag = result.stdout.split("--precision: ", 1)[1].split("\n  --", 1)[0]
    assert flag.startswith(f"<{'|'.join(INFERENCE_PRECISIONS)}>: "), flag
    assert INFERENCE_PRECISIONS[:4] == ("auto", "float32", "bfloat16", "float16")
    assert f"(default: '{default}')" in flag, flag


@pytest.fixture(scope="module")
def small_photos(tmp_path_factory):
    """A folder of 40 small photographs: enough that Ctrl-C lands in the middle."""
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    image = data.astronaut()[::8, ::8]  # 64x64 RGB
    import cv2

    for index in range(40):
        cv2.imwrite(str(folder / f"photo_{index:02d}.png"), np.roll(image, index, axis=1))
    return folder


def test_ctrl_c_stops_srn_deblur_with_one_line_and_status_130(small_photos, tmp_path):
    output = tmp_path / "sharp"
    process = subprocess.Popen(
        _command("srn-deblur", f"--input_path={small_photos}", f"--output_path={output}",
                 "--quality=network"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=USER_ENV)
    # Progress goes to stdout one line per image (not a terminal): wait for two.
    done_lines = 0
    for line in process.stdout:
        done_lines += " done " in line
        if done_lines == 2:
            break
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    errors = stderr.strip().splitlines()
    assert len(errors) == 1, stderr
    assert errors[0].startswith("interrupted: stopped"), errors
    assert "Traceback" not in stderr
    assert "run the same command again" in errors[0]
    written = sorted(os.listdir(output))
    # Only finished outputs, no temporary file left behind.
    assert all(name.startswith("photo_") and name.endswith(".png") for name in written), written
    assert 2 <= len(written) < 40
    assert f"done {len(written)}," in errors[0]


def test_the_device_line_says_where_the_network_runs_and_an_unseen_gpu(small_photos,
                                                                        tmp_path):
    """--gpu=99 names a GPU no machine has: TensorFlow runs on the CPU, and says so; the
    line then names the precision --precision=auto chose from this CPU's flags, and why."""
    result = subprocess.run(
        _command("srn-deblur", f"--input_path={small_photos}/photo_00.png",
                 f"--output_path={tmp_path}", "--quality=network", "--gpu=99"),
        capture_output=True, text=True, timeout=300, env=USER_ENV)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("running on CPU ("), first
    assert "thread" in first and "--gpu=99 asked for a GPU, but TensorFlow sees none" in first
    # On the CPU, what this machine's flags choose (tests/test_processor.py fakes others).
    assert first.endswith(f"; {choose_precision(read_cpuinfo())}"), first
