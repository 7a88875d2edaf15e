"""Every reader gets every bad file (tests/bad_inputs.py): one line each, the rest done.

srn-deblur, srn-eval and srn-synth run as console scripts on a folder (or list)
of good images plus the corpus: the exit status is non-zero, each bad file is
named in one line, stderr holds no traceback, no output exists for a bad file,
and every good file is done. srn-batch's run is in tests/test_batch.py (marker
`batch`) and srn-serve's in tests/test_serve_http.py (marker `serve`).
"""

import os
import shutil
import subprocess
import sys

import pytest

from srn_tf.data import image_io
from tests import bad_inputs

BIN = os.path.dirname(sys.executable)


def _run(script, *args):
    return subprocess.run([os.path.join(BIN, script), *map(str, args)], capture_output=True,
                          text=True, timeout=600)


def _assert_one_line_each(output, paths):
    """Each of `paths` is named on exactly one line of `output`, and no traceback shows."""
    assert "Traceback" not in output, output
    for path in paths:
        lines = [line for line in output.splitlines() if path in line]
        assert len(lines) == 1, (path, output)


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    """Good photos and the whole corpus in one folder: (folder, good, bad, unsupported)."""
    folder = str(tmp_path_factory.mktemp("mixed"))
    good, bad, unsupported = bad_inputs.write_corpus(folder)
    for index in range(2):
        path = os.path.join(folder, f"photo_{index}.png")
        image_io.write_image(path, bad_inputs.photo(offset=20 * index))
        good[os.path.basename(path)] = path
    return folder, good, bad, unsupported


def test_srn_deblur_reports_each_bad_file_and_does_the_rest(mixed_folder, tmp_path):
    folder, good, bad, unsupported = mixed_folder
    output = tmp_path / "out"
    result = _run("srn-deblur", f"--input_path={folder}", f"--output_path={output}",
                  "--quality=network")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    # A one-pixel image reads, but the network needs 16 pixels a side: it fails too.
    expected = {**bad, "one_pixel.png": good.pop("one_pixel.png")}
    failed = [line for line in result.stdout.splitlines() if line.startswith("failed: ")]
    assert sorted(line.split(": ")[1] for line in failed) == sorted(expected.values())
    assert "one_pixel.png: image is 1x1; SRN needs at least 16 pixels on each side" in (
        result.stdout)
    assert f"skipped (unsupported type): {unsupported['animated.gif']}" in result.stdout
    assert "limit of 200 megapixels (raise it with --max_megapixels)" in result.stdout
    assert sorted(os.listdir(output)) == sorted(good)


def test_srn_deblur_with_only_unsupported_files_left_exits_zero(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    image_io.write_image(folder / "photo.png", bad_inputs.photo())
    shutil.copy(__file__, folder / "clip.gif")  # any bytes: a .gif is never opened
    result = _run("srn-deblur", f"--input_path={folder}", f"--output_path={tmp_path / 'out'}",
                  "--quality=network")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"skipped (unsupported type): {folder / 'clip.gif'}" in result.stdout
    assert os.listdir(tmp_path / "out") == ["photo.png"]


def test_srn_deblur_refuses_a_limit_opencv_cannot_decode_before_tensorflow(tmp_path):
    image_io.write_image(tmp_path / "photo.png", bad_inputs.photo())
    result = _run("srn-deblur", f"--input_path={tmp_path}", f"--output_path={tmp_path / 'o'}",
                  "--max_megapixels=5000")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: --max_megapixels must be above 0 and at most 1073.74 (OpenCV decodes at most "
        "2**30 pixels). Received: 5000")


def test_srn_synth_skips_each_bad_source_in_one_line_and_makes_the_rest(mixed_folder, tmp_path):
    """srn-synth names every unreadable source in one line with what is wrong, leaves it
    out, makes pairs from every good one, and exits 1."""
    source, good, bad, _ = mixed_folder
    # Scene names are file stems, so each file is copied under its whole name as stem.
    folder = tmp_path / "sharp"
    folder.mkdir()
    renamed = {}
    for name in (*good, *bad):
        renamed[name] = name.replace(".", "_") + os.path.splitext(name)[1]
        shutil.copy(os.path.join(source, name), folder / renamed[name])
    out = tmp_path / "out"
    result = _run("srn-synth", f"--sharp_dir={folder}", f"--output_dir={out}",
                  "--test_fraction=0")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == len(bad), skipped
    for name in bad:
        assert len([line for line in skipped if str(folder / renamed[name]) + ":" in line]) == 1
    assert (f"skipped: {folder / renamed['bomb.png']}: 60000x60000 (3600.0 megapixels) is "
            "above the limit of 200 megapixels (raise it with --max_megapixels)") in skipped
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {len(bad)} source image(s) could not be read and were left out "
        "(each named above with its reason)")
    scenes = sorted(os.listdir(out / "train"))
    assert scenes == sorted(os.path.splitext(renamed[name])[0] for name in good)
    assert f"wrote {len(good)} training and 0 test pairs" in result.stdout


def _write_list(path, pairs):
    path.write_text("".join(f"{sharp} {blur}\n" for blur, sharp in pairs))
    return path


def test_srn_eval_leaves_out_each_bad_pair_in_one_line_and_scores_the_rest(mixed_folder,
                                                                            tmp_path):
    """Every bad file of the corpus as a blurred image beside a good pair: each is named in
    one line (from its header before the model loads, or when it fails to decode), the good
    pair is scored, the summary says its means are over 1 of the listed pairs, exit 1."""
    import json

    folder, good, bad, _ = mixed_folder
    sharp = good["photo_0.png"]
    listed = [(good["photo_1.png"], sharp)] + [(path, sharp) for path in bad.values()]
    datalist = _write_list(tmp_path / "list.txt", listed)
    result = _run("srn-eval", f"--datalist={datalist}", f"--output_dir={tmp_path / 'report'}",
                  "--quality=network")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    _assert_one_line_each(result.stderr, bad.values())
    assert f"skipped: {bad['bomb.png']}: 60000x60000 (3600.0 megapixels) is above the limit " \
           "of 200 megapixels (raise it with --max_megapixels)" in result.stderr.splitlines()
    assert f"1 of {len(listed)} pairs ({len(bad)} not scored; the means are over these only)" \
        in result.stdout
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {len(bad)} of {len(listed)} pairs could not be scored; the means are over "
        "the other 1")
    with open(tmp_path / "report" / "summary.json") as handle:
        summary = json.load(handle)
    assert (summary["images"], summary["pairs_listed"]) == (1, len(listed))


def test_srn_eval_refuses_a_gray_blurred_image_paired_with_an_rgb_sharp_one(tmp_path):
    photo = bad_inputs.photo()
    image_io.write_image(tmp_path / "sharp.png", photo)
    image_io.write_image(tmp_path / "blur.png", photo[:, :, :1])
    datalist = _write_list(tmp_path / "list.txt",
                           [(tmp_path / "blur.png", tmp_path / "sharp.png")])
    result = _run("srn-eval", f"--datalist={datalist}")
    assert result.returncode == 1
    assert (f"skipped: {tmp_path / 'blur.png'}: is gray (1 channel) but its sharp image "
            f"{tmp_path / 'sharp.png'} is RGB (3 channels)") in result.stderr.splitlines()
