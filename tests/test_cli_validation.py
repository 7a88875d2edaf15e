"""The console scripts check their arguments before TensorFlow loads, and keep stderr clean.

Each refusal runs the venv's console script under `python -X importtime`, which
lists every module imported on stderr: the check is that `tensorflow` is not
among them (no timing involved), beside the one-line error and the exit status.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

BIN = os.path.dirname(sys.executable)


def _run(script, *args, importtime=False, env=None):
    command = [sys.executable, *(["-X", "importtime"] if importtime else []),
               os.path.join(BIN, script), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def _imported(stderr, module):
    """True when `python -X importtime`'s report lists `module` as imported."""
    return any(re.search(rf"\|\s+{re.escape(module)}$", line) for line in stderr.splitlines())


def _errors(stderr):
    return [line for line in stderr.splitlines() if not line.startswith("import time:")]


def _refused(script, *args):
    """Runs `script` and returns its one error line, checking it failed before TensorFlow."""
    result = _run(script, *args, importtime=True)
    errors = _errors(result.stderr)
    assert result.returncode == 1, result.stdout + "\n".join(errors)
    assert not _imported(result.stderr, "tensorflow"), errors
    assert _imported(result.stderr, "absl.flags")  # the report does list imports
    assert len(errors) == 1 and errors[0].startswith("error: "), errors
    return errors[0][len("error: "):]


@pytest.fixture()
def paths(tmp_path):
    """An image folder, an empty-of-images folder and a plain file."""
    import cv2

    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((32, 32, 3), np.uint8))
    (tmp_path / "no_images").mkdir()
    (tmp_path / "no_images" / "notes.txt").write_text("not an image")
    (tmp_path / "file").write_text("a plain file")
    return tmp_path


def test_the_importtime_check_would_see_tensorflow():
    """Positive control: a script that got as far as TensorFlow is caught."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tensorflow"],
                            capture_output=True, text=True, timeout=600)
    assert _imported(result.stderr, "tensorflow")


@pytest.mark.parametrize("args,expected", [
    (["--input_path={p}/absent"], "--input_path={p}/absent: no such file, folder or matching "
                                  "glob"),
    (["--input_path={p}/no_images"], "no images found in {p}/no_images (reads .png, .jpg, .jpeg, "
                                     ".bmp, .webp, .tif, .tiff)"),
    (["--input_path={p}/no_images/*.png"], "no images found in {p}/no_images/*.png (reads "),
    (["--input_path={p}/file"], "no images found in {p}/file (reads "),
    (["--input_path={p}/images", "--output_path={p}/file/out"],
     "{p}/file/out: cannot write (Not a directory)"),
    (["--input_path={p}/images", "--output_path={p}/file"], "{p}/file: cannot write (Not a "
                                                            "directory)"),
    (["--input_path={p}/images", "--output_path={p}/out", "--side_by_side={p}/file/s.png"],
     "{p}/file/s.png: cannot write (Not a directory)"),
    (["--input_path={p}/images", "--side_by_side={p}/s.jpg"], "{p}/s.jpg: must be a .png file"),
    (["--input_path={p}/images", "--checkpoint={p}/absent"], "--checkpoint={p}/absent: no such "
                                                             "checkpoint"),
    (["--input_path={p}/images", "--tile=1"], "tile=1: tiles must be at least 64 pixels"),
    (["--input_path={p}/images", "--tile=16"], "tile=16: tiles must be at least 64 pixels"),
    (["--input_path={p}/images", "--tile=24", "--tile_overlap=64"],
     "tile=24: tiles must be at least 64 pixels"),
    (["--input_path={p}/images", "--tile=64", "--tile_overlap=56"],
     "tile=64, tile_overlap=56: the overlap must be in [0, 48]"),
    (["--input_path={p}/images", "--tile_overlap=-1"], "--tile_overlap must be >= 0"),
    (["--input_path={p}/images", "--flips=3"], "--flips must be one of"),
    (["--input_path={p}/images", "--height=0", "--width=64"], "--height must be a positive "
                                                              "multiple of 16"),
])
def test_srn_deblur_refuses_bad_arguments_before_tensorflow(paths, args, expected):
    message = _refused("srn-deblur", *(arg.format(p=paths) for arg in args))
    assert expected.format(p=paths) in message


@pytest.mark.parametrize("script,args,expected", [
    ("srn-eval", ["--datalist={p}/absent.txt"], "{p}/absent.txt: no such file"),
    ("srn-eval", ["--gopro_dir={p}/absent"], "{p}/absent: no such folder"),
    ("srn-eval", ["--datalist={p}/file", "--output_dir={p}/file/eval"],
     "{p}/file/eval: cannot write (Not a directory)"),
    ("srn-eval", ["--datalist={p}/file", "--contact_sheet={p}/file/c.png"],
     "{p}/file/c.png: cannot write (Not a directory)"),
    ("srn-eval", ["--datalist={p}/file", "--checkpoint={p}/absent"],
     "--checkpoint={p}/absent: no such checkpoint"),
    ("srn-eval", ["--datalist={p}/file", "--tile=40"], "tile=40: tiles must be at least 64 "
                                                       "pixels"),
    ("srn-export", ["--export_dir={p}/file/export"], "{p}/file/export: cannot write (Not a "
                                                     "directory)"),
    ("srn-export", ["--export_dir={p}/export", "--checkpoint={p}/absent"],
     "--checkpoint={p}/absent: no such checkpoint"),
    ("srn-convert", ["--tf1_checkpoint={p}/absent", "--output={p}/out"],
     "--tf1_checkpoint={p}/absent: no such folder or checkpoint prefix"),
    ("srn-convert", ["--tf1_checkpoint={p}", "--output={p}/file/out"],
     "{p}/file/out: cannot write (Not a directory)"),
    ("srn-synth", ["--sharp_dir={p}/absent", "--output_dir={p}/out"],
     "{p}/absent: no such folder"),
    ("srn-synth", ["--source=skimage", "--output_dir={p}/file/out"],
     "{p}/file/out: cannot write (Not a directory)"),
])
def test_the_other_scripts_refuse_bad_paths_before_tensorflow(paths, script, args, expected):
    message = _refused(script, *(arg.format(p=paths) for arg in args))
    assert expected.format(p=paths) in message


@pytest.mark.parametrize("script,args,destination", [
    ("srn-deblur", ["--input_path={p}/images", "--output_path=/proc/x"], "/proc/x"),
    ("srn-deblur", ["--input_path={p}/images", "--output_path={p}/out",
                    "--side_by_side=/proc/x.png"], "/proc/x.png"),
    ("srn-eval", ["--datalist={p}/file", "--output_dir=/proc/x"], "/proc/x"),
    ("srn-eval", ["--datalist={p}/file", "--contact_sheet=/proc/x.png"], "/proc/x.png"),
    ("srn-export", ["--output=/proc/x"], "/proc/x"),
    ("srn-export", ["--format=keras", "--output=/proc/x.keras"], "/proc/x.keras"),
    ("srn-synth", ["--source=skimage", "--output_dir=/proc/x"], "/proc/x"),
    ("srn-convert", ["--tf1_checkpoint={p}", "--output=/proc/x"], "/proc/x"),
    ("srn-train", ["--datalist={p}/file", "--checkpoint_dir=/proc/x"], "/proc/x"),
    ("srn-batch", ["--input_pattern={p}/images", "--output_path=/sys/x"], "/sys/x"),
])
def test_a_destination_that_cannot_really_be_written_is_refused_before_tensorflow(
        paths, script, args, destination):
    """/proc and /sys refuse new files even to root, for whom os.access says yes: the
    check creates a file there instead of asking for permission bits."""
    message = _refused(script, *(arg.format(p=paths) for arg in args))
    assert re.fullmatch(rf"{re.escape(destination)}: cannot write \([A-Za-z ]+\)", message), \
        message


def test_a_read_only_output_folder_is_refused(paths, read_only_folder):
    message = _refused("srn-deblur", f"--input_path={paths / 'images'}",
                       f"--output_path={read_only_folder / 'out'}")
    assert message == f"{read_only_folder / 'out'}: cannot write (Permission denied)"


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    import keras

    import srn_tf

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model")
    srn_tf.save_model(srn_tf.build_model("color", base_filters=8, blocks_per_stage=1), path)
    return path


def test_a_run_prints_nothing_on_stderr_and_rebuilds_the_sheet_from_existing_outputs(
        small_model, paths):
    output, sheet = paths / "out", paths / "sheet.png"
    # TF_CPP_MIN_LOG_LEVEL unset, as for most users: the script decides.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    args = ["srn-deblur", f"--checkpoint={small_model}", f"--input_path={paths / 'images'}",
            f"--output_path={output}", "--gpu=-1"]
    result = subprocess.run([os.path.join(BIN, args[0]), *args[1:], f"--side_by_side={sheet}"],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert f"side by side: {sheet}" in result.stdout
    from srn_tf.data import image_io
    first = image_io.read_image(sheet)
    sheet.unlink()
    # Every output exists now: the run skips them all and still writes the sheet, from the
    # outputs already there, identical to the one written beside the fresh results.
    again = subprocess.run([os.path.join(BIN, args[0]), *args[1:], f"--side_by_side={sheet}"],
                           capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert "done 0, skipped 1" in again.stdout and f"side by side: {sheet}" in again.stdout
    np.testing.assert_array_equal(image_io.read_image(sheet), first)


def test_verbosity_lets_tensorflow_speak(small_model, paths):
    """Negative control for the quiet run: the start-up lines exist and --verbosity=0
    brings them back (on this CPU-only machine TensorFlow reports missing CUDA)."""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [os.path.join(BIN, "srn-deblur"), f"--checkpoint={small_model}",
         f"--input_path={paths / 'images'}", f"--output_path={paths / 'out'}", "--gpu=-1",
         "--verbosity=0"], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    if "cuda" not in result.stderr.lower():
        pytest.skip("this TensorFlow prints nothing at start-up here")
    assert result.stderr.strip()


def test_help_texts_have_no_unmeasured_figures_and_keep_their_lines():
    """Figures in --help must come with their command (docs/) or not at all; the module
    docstrings shown above the flags keep their line breaks."""
    texts = {}
    for script in ("srn-deblur", "srn-eval", "srn-export", "srn-convert", "srn-synth"):
        result = _run(script, "--help")
        assert result.returncode == 0, result.stderr
        texts[script] = result.stdout
    for script, text in texts.items():
        figures = re.findall(r"[~\d.]+\s*(?:dB|GB|times (?:faster|slower)|x (?:faster|slower))"
                             r"|twice as fast", text)
        assert figures == [], (script, figures)
        assert ".;" not in text, script
    assert ("--tf1_checkpoint=checkpoints/lstm/checkpoints/deblur.model-523000 \\\n"
            "        --model=lstm" in texts["srn-convert"])
