"""tools/gain_by_scene.py: per-scene and per-band means of an srn-eval report."""

import csv
import importlib.util
import json
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = importlib.util.spec_from_file_location(
    "gain_by_scene", os.path.join(REPO, "tools", "gain_by_scene.py"))
gain_by_scene = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(gain_by_scene)


def _report(path, rows):
    """An srn-eval per_image.csv (only the columns the tool reads, plus one it ignores)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "input_psnr", "psnr", "psnr_gain"])
        for name, input_psnr, gain in rows:
            writer.writerow([name, input_psnr, input_psnr + gain, gain])
    return str(path)


def test_means_per_scene_and_per_input_band(tmp_path, capsys):
    path = _report(tmp_path / "per_image.csv", [
        ("test/coffee/blur/000000.png", 20.0, 1.0),
        ("test/coffee/blur/000001.png", 23.5, 0.5),
        ("test/rocket/blur/000000.png", 31.0, -0.5),
        ("loose.png", 24.0, 0.0)])
    assert gain_by_scene.main([path, "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["scene"]["coffee"] == {"images": 2, "input_psnr": 21.75, "psnr_gain": 0.75}
    assert table["scene"]["rocket"]["psnr_gain"] == -0.5
    assert table["scene"]["loose.png"]["images"] == 1
    assert {name: v["images"] for name, v in table["input_psnr_band"].items()} == {
        "18-21 dB": 1, "21-24 dB": 1, "24-27 dB": 1, "30-33 dB": 1}
    assert table["all"]["psnr_gain"] == pytest.approx(0.25)
    assert gain_by_scene.main([path]) == 0
    assert "| coffee | 2 | 21.75 dB | +0.75 dB |" in capsys.readouterr().out


def test_a_file_that_is_not_a_report_is_a_one_line_error(tmp_path, capsys):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    assert gain_by_scene.main([str(other)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and str(other) in error and "input_psnr" in error
    assert gain_by_scene.main([str(tmp_path / "missing.csv")]) == 1
    assert "missing.csv" in capsys.readouterr().err
