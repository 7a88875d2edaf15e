"""srn-eval and srn_tf.evaluation.evaluate on a tiny synthetic test set in both layouts.

The set: three skimage.data photographs cropped to 32x48 and blurred with a
horizontal box kernel (scipy), written as PNG pairs both as a release data list
and as GOPRO_Large's test folders. The model is a small random color model: the
scores are not good, but every number can be checked against a direct
computation.
"""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from scipy import ndimage
from skimage import data

import srn_tf
from srn_tf.data import pairs as pair_lists
from srn_tf.evaluation import evaluate as evaluation
from srn_tf.data.contact_sheet import LABEL_HEIGHT
from srn_tf.data.image_io import as_rgb8, read_image, write_image
from srn_tf.evaluation.metrics import ssim_matlab, ssim_per_channel

HEIGHT, WIDTH = 32, 48
SOURCES = {"astronaut": data.astronaut, "chelsea": data.chelsea, "coffee": data.coffee}
SUMMARY_KEYS = {"psnr", "ssim", "input_psnr", "input_ssim", "images", "seconds_per_image"}


def blur(image, length):
    """Horizontal motion blur: a box of `length` pixels, edges replicated."""
    blurred = ndimage.uniform_filter1d(image.astype(np.float64), length, axis=1, mode="nearest")
    return np.round(blurred).astype(np.uint8)


def direct_psnr(a, b):
    return 10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2))


@pytest.fixture(scope="module")
def test_set(tmp_path_factory):
    """(root, datalist path, gopro dir, {name: (blurred, sharp)}, model checkpoint folder)."""
    root = tmp_path_factory.mktemp("test_set")
    images = {}
    lines = []
    for index, (name, load) in enumerate(sorted(SOURCES.items())):
        sharp = load()[100:100 + HEIGHT, 150:150 + WIDTH, :3]
        blurred = blur(sharp, 3 + 4 * index)
        images[name] = (blurred, sharp)
        scene = f"GOPR000{index}_11_00"
        for folder, image in (("blur", blurred), ("sharp", sharp)):
            for path in (root / "list" / folder / f"{name}.png",
                         root / "GOPRO_Large" / "test" / scene / folder / "000001.png"):
                os.makedirs(path.parent, exist_ok=True)
                write_image(str(path), image)
        lines.append(f"sharp/{name}.png blur/{name}.png\n")
    datalist = root / "list" / "test_list.txt"
    datalist.write_text("".join(lines))
    keras.utils.set_random_seed(0)
    model = srn_tf.build_model("color", base_filters=4, blocks_per_stage=1)
    srn_tf.save_model(model, root / "model")
    return root, datalist, root / "GOPRO_Large", images, root / "model"


@pytest.fixture(scope="module")
def model(test_set):
    return srn_tf.load_model(test_set[4])


@pytest.fixture(scope="module")
def datalist_run(test_set, model, tmp_path_factory):
    """evaluate() on the data list with images saved: (summary, output_dir)."""
    output_dir = tmp_path_factory.mktemp("datalist_run")
    pairs = pair_lists.read_datalist(test_set[1])
    summary = evaluation.evaluate(model, pairs, output_dir=str(output_dir), save_images=True,
                                  progress=lambda line: None)
    return summary, output_dir


def test_summary_json_has_the_documented_keys(datalist_run):
    summary, output_dir = datalist_run
    written = json.loads((output_dir / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(written)
    assert written["images"] == len(SOURCES)
    assert written["failures"] == []
    assert written["ssim_definition"] == "matlab"
    assert written["seconds_per_image"] > 0
    assert written == json.loads(json.dumps(summary))


def test_input_psnr_and_ssim_equal_a_direct_computation(test_set, datalist_run):
    images = test_set[3]
    summary = datalist_run[0]
    psnrs = [direct_psnr(blurred, sharp) for blurred, sharp in images.values()]
    ssims = [ssim_matlab(blurred, sharp) for blurred, sharp in images.values()]
    # Same float64 formula, other summation order.
    assert summary["input_psnr"] == pytest.approx(np.mean(psnrs), abs=1e-9)
    assert summary["input_ssim"] == pytest.approx(np.mean(ssims), abs=1e-12)


def test_per_image_rows_score_the_saved_outputs(test_set, datalist_run):
    images = test_set[3]
    output_dir = datalist_run[1]
    with open(output_dir / "per_image.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["name"] for row in rows] == [f"blur/{name}.png" for name in sorted(SOURCES)]
    for row, name in zip(rows, sorted(SOURCES)):
        output = read_image(str(output_dir / "images" / "blur" / f"{name}.png"))
        sharp = images[name][1]
        assert output.shape == sharp.shape and output.dtype == np.uint8
        # The CSV prints floats with repr, so the saved image's score comes back exactly.
        assert float(row["psnr"]) == pytest.approx(direct_psnr(output, sharp), abs=1e-9)
        assert float(row["psnr_gain"]) == pytest.approx(
            float(row["psnr"]) - float(row["input_psnr"]), abs=1e-12)


def test_outputs_are_the_release_conversion_of_deblur_image(test_set, model, datalist_run):
    blurred = test_set[3]["coffee"][0]
    saved = read_image(str(datalist_run[1] / "images" / "blur" / "coffee.png"))
    expected = srn_tf.predict_any_size(model, blurred[None].astype(np.float32) / 255).numpy()[0]
    expected = (np.clip(expected, 0, 1) * 255).astype(np.uint8)
    # Traced vs eager float32 may put a value on the other side of an integer.
    assert np.abs(saved.astype(int) - expected).max() <= 1


def test_gopro_layout_is_read_and_contact_sheet_shows_the_worst(test_set, model, tmp_path):
    _, _, gopro_dir, images, _ = test_set
    pairs = pair_lists.read_gopro(gopro_dir)
    assert [pair.name for pair in pairs] == [
        os.path.join("test", f"GOPR000{i}_11_00", "blur", "000001.png") for i in range(3)]
    sheet_path = tmp_path / "sheets" / "worst.png"
    summary = evaluation.evaluate(model, pairs, ssim_definition="per_channel",
                                  contact_sheet_path=str(sheet_path), contact_sheet_count=2,
                                  progress=lambda line: None)
    ordered = [images[name] for name in sorted(SOURCES)]
    assert summary["input_ssim"] == pytest.approx(
        np.mean([ssim_per_channel(b, s) for b, s in ordered]), abs=1e-12)
    sheet = read_image(str(sheet_path))
    assert sheet.shape == (2 * (LABEL_HEIGHT + HEIGHT), 3 * WIDTH, 3)
    # The first strip is the image with the smallest PSNR gain: its blurred input
    # and sharp image sit at the left and right of the strip.
    outputs = [srn_tf.deblur_image(model, b) for b, _ in ordered]
    gains = [direct_psnr(o, s) - direct_psnr(b, s) for o, (b, s) in zip(outputs, ordered)]
    worst = int(np.argmin(gains))
    strip = sheet[LABEL_HEIGHT:LABEL_HEIGHT + HEIGHT]
    np.testing.assert_array_equal(strip[:, :WIDTH], ordered[worst][0])
    np.testing.assert_array_equal(strip[:, 2 * WIDTH:], ordered[worst][1])


def test_every_problem_in_a_data_list_is_reported_before_running(test_set, tmp_path):
    root = test_set[0] / "list"
    write_image(str(tmp_path / "small.png"), test_set[3]["coffee"][1][:20])
    datalist = tmp_path / "bad_list.txt"
    datalist.write_text(
        f"sharp/coffee.png blur/missing.png\n"
        f"{tmp_path / 'small.png'} blur/coffee.png\n"
        f"sharp/coffee.png\n")
    with pytest.raises(pair_lists.PairListError) as raised:
        pair_lists.read_datalist(datalist, data_root=root)
    problems = raised.value.problems
    assert len(problems) == 3
    assert problems[0] == (f"{datalist}:3: expected 'sharp_path blur_path', found 1 fields: "
                           "'sharp/coffee.png'")
    assert problems[1] == f"{root / 'blur' / 'missing.png'}: no such file"
    assert problems[2].startswith(f"{root / 'blur' / 'coffee.png'}: is 32x48 but its sharp")


def test_gopro_scene_without_sharp_frame_is_named(test_set, tmp_path):
    scene = tmp_path / "GOPRO_Large" / "test" / "GOPR0001_00_00"
    os.makedirs(scene / "blur")
    os.makedirs(scene / "sharp")
    write_image(str(scene / "blur" / "000007.png"), test_set[3]["coffee"][0])
    with pytest.raises(pair_lists.PairListError, match="000007.png: no such file"):
        pair_lists.read_gopro(tmp_path / "GOPRO_Large")
    with pytest.raises(pair_lists.PairListError, match="blur_gamma: no such folder"):
        pair_lists.read_gopro(tmp_path / "GOPRO_Large", blur_folder="blur_gamma")


def test_images_become_8_bit_rgb_before_scoring():
    gray16 = np.full((4, 4, 1), 257 * 200 + 100, np.uint16)
    assert as_rgb8(gray16).tolist() == np.full((4, 4, 3), 200, np.uint8).tolist()
    rgba = np.zeros((4, 4, 4), np.uint8)
    assert as_rgb8(rgba).shape == (4, 4, 3)


def srn_eval(*arguments):
    command = [os.path.join(os.path.dirname(sys.executable), "srn-eval"), *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def test_srn_eval_script_writes_the_report(test_set, datalist_run, tmp_path):
    _, datalist, _, _, checkpoint = test_set
    result = srn_eval(f"--checkpoint={checkpoint}", f"--datalist={datalist}", "--gpu=-1",
                      f"--output_dir={tmp_path / 'report'}", f"--contact_sheet={tmp_path / 's.png'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("dB") >= 2 * len(SOURCES)
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    # A --checkpoint runs once per image unless --flips says otherwise.
    assert summary["model_type"] == "color" and summary["flips"] == 1
    assert summary["flat_level"] is False and summary["denoise"] is False
    assert summary["kernel_refinement"] is False
    # A fresh process, the same model and images: the same scores.
    assert summary["psnr"] == pytest.approx(datalist_run[0]["psnr"], abs=1e-9)
    assert (tmp_path / "s.png").is_file()


def _srn_eval_report(checkpoint, datalist, report_dir, *arguments):
    """Runs srn-eval on the CPU with `arguments`; returns its stdout and summary.json."""
    result = srn_eval(f"--checkpoint={checkpoint}", f"--datalist={datalist}", "--gpu=-1",
                      f"--output_dir={report_dir}", *arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, json.loads((report_dir / "summary.json").read_text())


def test_srn_eval_flip_ensemble_scores_like_evaluate_and_bad_counts_are_refused(
        test_set, model, tmp_path):
    _, datalist, _, _, checkpoint = test_set
    stdout, summary = _srn_eval_report(checkpoint, datalist, tmp_path / "report", "--flips=2")
    assert "2 flipped copies averaged" in stdout
    expected = evaluation.evaluate(model, pair_lists.read_datalist(datalist),
                                   options=srn_tf.InferenceOptions(flips=2),
                                   progress=lambda line: None)
    assert summary["flips"] == 2 and summary["psnr"] == pytest.approx(expected["psnr"], abs=1e-9)
    result = srn_eval(f"--checkpoint={checkpoint}", f"--datalist={datalist}", "--flips=3")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --flips must be one of 1, 2, 4, 8. Received: 3"


# srn-eval's output options and the words its summary line uses for each.
OUTPUT_OPTIONS = {"flat_level": "flat level matched", "kernel_refinement": "kernel refined",
                  "denoise": "denoised"}


@pytest.mark.parametrize("option", OUTPUT_OPTIONS)
def test_srn_eval_output_options_score_like_evaluate(test_set, model, tmp_path, option):
    _, datalist, _, _, checkpoint = test_set
    stdout, summary = _srn_eval_report(checkpoint, datalist, tmp_path / "report", f"--{option}")
    assert [phrase for phrase in OUTPUT_OPTIONS.values() if phrase in stdout] == [
        OUTPUT_OPTIONS[option]]
    pairs = pair_lists.read_datalist(datalist)
    options = srn_tf.InferenceOptions(**{option: True})
    expected = evaluation.evaluate(model, pairs, options=options, progress=lambda line: None)
    plain = evaluation.evaluate(model, pairs, progress=lambda line: None)
    assert [key for key in OUTPUT_OPTIONS if summary[key]] == [option]
    assert summary["psnr"] == pytest.approx(expected["psnr"], abs=1e-9)
    # Each option changes the scores (denoising these noise-free pairs by 1e-4 dB),
    # far beyond the 1e-9 that the same run agrees to.
    assert abs(expected["psnr"] - plain["psnr"]) > 1e-5


def test_srn_eval_script_lists_missing_files_and_fails(test_set, tmp_path):
    datalist = tmp_path / "list.txt"
    datalist.write_text("a.png b.png\nc.png d.png\n")
    result = srn_eval(f"--checkpoint={test_set[4]}", f"--datalist={datalist}")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-5:] == [
        f"skipped: {tmp_path / name}.png: no such file" for name in "badc"] + [
        "error: none of the 2 pairs can be scored (each problem named above); "
        "nothing was evaluated"]


def test_a_corrupt_image_is_reported_and_the_others_still_scored(test_set, model, tmp_path):
    """The header reads, so the check passes; decoding fails mid-run."""
    root, datalist = test_set[0] / "list", test_set[1]
    corrupt = tmp_path / "corrupt.png"
    data_bytes = (root / "blur" / "coffee.png").read_bytes()
    corrupt.write_bytes(data_bytes[:len(data_bytes) // 2])
    pairs = pair_lists.read_datalist(datalist)
    pairs[1] = pair_lists.ImagePair("corrupt.png", str(corrupt), pairs[1].sharp_path)
    lines = []
    summary = evaluation.evaluate(model, pairs, output_dir=str(tmp_path / "report"),
                                  progress=lines.append)
    assert summary["images"] == len(pairs) - 1
    assert len(summary["failures"]) == 1 and summary["failures"][0].startswith(str(corrupt))
    assert lines[1].startswith("[2/3] corrupt.png: FAILED: ")
    with open(tmp_path / "report" / "per_image.csv") as handle:
        assert len(list(csv.DictReader(handle))) == len(pairs) - 1


def test_an_exported_saved_model_scores_like_its_checkpoint(test_set, model, datalist_run,
                                                            tmp_path):
    from srn_tf.checkpoints.loading import load_deblur_model
    from srn_tf.export.saved_model import export_saved_model

    export_saved_model(model, tmp_path / "export")
    runner = load_deblur_model(str(tmp_path / "export"))
    pairs = pair_lists.read_datalist(test_set[1])
    summary = evaluation.evaluate(runner, pairs, progress=lambda line: None)
    # Outputs agree to float32 rounding; a value may then truncate to the
    # neighbouring integer, which moves PSNR by far less than 0.01 dB.
    assert summary["psnr"] == pytest.approx(datalist_run[0]["psnr"], abs=0.01)
    assert summary["input_psnr"] == datalist_run[0]["input_psnr"]
