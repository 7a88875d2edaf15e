"""srn-batch on the DirectRunner: srn-deblur's outputs, failures.csv, reruns, a killed run.

Needs Apache Beam (pip install -e '.[batch]'); without it these tests are skipped,
saying so, except the ones that show srn-batch's messages when Beam is missing.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from srn_tf.data import image_io

pytestmark = pytest.mark.batch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("png8", "jpg", "png16", "tif8", "bmp", "gray", "rgba", "tif16")
EXTENSIONS = {"png8": "png", "png16": "png", "gray": "png", "rgba": "png", "tif8": "tif",
              "tif16": "tif", "jpg": "jpg", "bmp": "bmp"}


def _relative(index):
    """Where file `index` of the collection lies: 0, 5, 10... at the top, the others two
    folders down."""
    folder = "" if index % 5 == 0 else f"{'ab'[index % 2]}/{'xyz'[index % 3]}"
    return os.path.join(folder, f"img{index:02d}.{EXTENSIONS[KINDS[index % len(KINDS)]]}")


CORRUPT = tuple(_relative(index) for index in (9, 11, 14))  # a JPEG, a TIFF, a PNG
TWO_WORKERS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
ONE_WORKER = ["--direct_running_mode=multi_processing", "--direct_num_workers=1"]


@pytest.fixture(scope="module")
def beam():
    return pytest.importorskip(
        "apache_beam", reason="srn-batch's tests need Apache Beam: pip install -e '.[batch]'")


def _script(name, *arguments, **options):
    """Runs a console script's module in a fresh interpreter, as its entry point does."""
    code = f"import sys; from srn_tf.cli.{name} import run; sys.argv[0] = 'srn-{name}'; run()"
    return subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True,
                          text=True, cwd=REPO, timeout=300, **options)


def _write_collection(root):
    """30 files 48x64 (some 64x48) in nested folders, of every format and bit depth
    srn-deblur writes, the JPEGs with EXIF (orientation 6) and an ICC profile; 3 corrupt."""
    from PIL import Image

    from tests.test_image_io import _camera_exif, _srgb_profile

    rng = np.random.default_rng(29)
    for index in range(30):
        kind, relative = KINDS[index % len(KINDS)], _relative(index)
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if relative in CORRUPT:
            with open(path, "wb") as handle:
                handle.write(b"\x89PNG\r\n\x1a\n truncated" if relative.endswith(".png")
                             else b"junk")
            continue
        shape = (64, 48) if index % 7 == 3 else (48, 64)
        depth = np.uint16 if kind in ("png16", "tif16") else np.uint8
        channels = {"gray": 1, "rgba": 4}.get(kind, 3)
        image = rng.integers(0, np.iinfo(depth).max + 1, shape + (channels,), dtype=depth)
        if kind == "jpg":
            # Stored on its side with EXIF orientation 6: shown (and deblurred) 48x64.
            stored = np.ascontiguousarray(np.rot90(image, 1))
            Image.fromarray(stored).save(path, exif=_camera_exif(6),
                                         icc_profile=_srgb_profile(), quality=95)
        else:
            image_io.write_image(path, image)


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    root = tmp_path_factory.mktemp("collection")
    _write_collection(str(root / "in"))
    return root


@pytest.fixture(scope="module")
def model_folder(collection):
    """A tiny color model whose folder asks for flips, flat level, kernel refinement and
    denoising (so both scripts must read the folder's preset)."""
    import srn_tf
    from srn_tf.models.inference_options import InferenceOptions, attach_options

    model = srn_tf.build_model("color", base_filters=4, blocks_per_stage=1, kernel_size=3)
    attach_options(model, InferenceOptions(flips=2, flat_level=True, kernel_refinement=True,
                                           denoise=True))
    folder = collection / "model"
    srn_tf.save_model(model, str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def reference(collection, model_folder):
    """srn-deblur's outputs for the collection: {relative path: path}."""
    out = collection / "srn_deblur"
    result = _script("deblur", f"--input_path={collection / 'in'}", f"--output_path={out}",
                     f"--checkpoint={model_folder}", "--gpu=-1")
    assert result.returncode == 1, result.stderr  # the corrupt files
    return _outputs(out)


def _outputs(folder):
    """{relative path: path} of the image files under `folder` (no reports, no hidden)."""
    return {os.path.relpath(os.path.join(parent, name), folder): os.path.join(parent, name)
            for parent, _, names in os.walk(folder) for name in names
            if image_io.is_image_file(name) and not name.startswith(".")}


def _batch(collection, model_folder, out, *options, **popen):
    return _script("batch", f"--input_pattern={collection / 'in'}", f"--output_path={out}",
                   f"--checkpoint={model_folder}", "--gpu=-1", *options, **popen)


def _assert_same_images(outputs, reference):
    assert sorted(outputs) == sorted(reference)
    for relative, path in reference.items():
        expected, expected_metadata = image_io.read_image_with_metadata(path)
        got, metadata = image_io.read_image_with_metadata(outputs[relative])
        assert got.dtype == expected.dtype and np.array_equal(got, expected), relative
        assert metadata == expected_metadata, relative


@pytest.fixture(scope="module")
def first_run(beam, collection, model_folder, reference):
    out = collection / "batch"
    result = _batch(collection, model_folder, out, *TWO_WORKERS)
    return out, result


def test_outputs_are_srn_deblurs_and_failures_are_listed(first_run, collection, reference):
    out, result = first_run
    assert result.returncode == 1, result.stderr
    assert "done 27, skipped 0 (output exists), failed 3" in result.stdout
    outputs = _outputs(out)
    _assert_same_images(outputs, reference)
    assert {os.path.splitext(name)[1] for name in outputs} == {".png", ".jpg", ".tif", ".bmp"}
    # The JPEG keeps its EXIF (orientation reset) and ICC profile, as srn-deblur's does.
    from tests.test_image_io import _pillow_exif, _srgb_profile

    tags, icc = _pillow_exif(outputs[_relative(1)])
    assert tags[271] == "TestCam" and tags.get(274, 1) == 1 and icc == _srgb_profile()
    with open(out / "failures.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file", "reason"]
    assert sorted(row[0] for row in rows[1:]) == sorted(
        str(collection / "in" / relative) for relative in CORRUPT)
    assert all(row[1].startswith(row[0] + ": ") for row in rows[1:])
    with open(out / "summary.json") as handle:
        summary = json.load(handle)
    assert (summary["images"], summary["done"], summary["failed"]) == (30, 27, 3)
    assert sum(worker["images"] for worker in summary["workers"].values()) == 27
    assert all(worker["seconds_per_image"] > 0 for worker in summary["workers"].values())


def test_a_rerun_skips_every_output(first_run, collection, model_folder):
    out, _ = first_run
    before = {path: os.stat(path).st_mtime_ns for path in _outputs(out).values()}
    result = _batch(collection, model_folder, out, *ONE_WORKER)
    assert result.returncode == 1, result.stderr  # the corrupt files fail again
    assert "done 0, skipped 27 (output exists), failed 3" in result.stdout
    assert {path: os.stat(path).st_mtime_ns for path in _outputs(out).values()} == before


def test_a_killed_run_finishes_on_rerun_with_no_output_lost_or_corrupt(
        beam, collection, model_folder, reference):
    out = collection / "killed"
    run = subprocess.Popen(
        [sys.executable, "-c", "import sys; from srn_tf.cli.batch import run; run()",
         f"--input_pattern={collection / 'in'}", f"--output_path={out}",
         f"--checkpoint={model_folder}", "--gpu=-1", "--batch_size=1", *ONE_WORKER],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.time() + 120
        while len(_outputs(out)) < 3 and run.poll() is None and time.time() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the launcher and its Beam workers
        run.wait()
    written = _outputs(out)
    assert 3 <= len(written) < 27, "the run was not killed midway"
    for relative, path in written.items():  # what the killed run left is whole
        assert np.array_equal(image_io.read_image(path), image_io.read_image(reference[relative]))
    result = _batch(collection, model_folder, out, *TWO_WORKERS)
    assert result.returncode == 1, result.stderr
    assert f"skipped {len(written)} (output exists)" in result.stdout
    _assert_same_images(_outputs(out), reference)


def test_every_bad_file_of_the_corpus_fails_alone_with_a_one_line_reason(
        beam, model_folder, tmp_path):
    """Good photos plus the bad-input corpus (tests/bad_inputs.py): each bad file is one
    failures.csv row naming it with its reason (the 60000x60000 header refused from the
    header, naming --max_megapixels) and gets no output; every good file is done; exit 1,
    no traceback."""
    from tests.bad_inputs import photo, write_corpus

    folder = tmp_path / "in"
    good, bad, _ = write_corpus(str(folder))
    # A one-pixel image reads, but the network needs 16 pixels a side: it fails too.
    bad["one_pixel.png"] = good.pop("one_pixel.png")
    for index in range(3):
        image_io.write_image(folder / f"photo{index}.png", photo(offset=3 * index))
    good = sorted(list(good) + [f"photo{index}.png" for index in range(3)])
    out = tmp_path / "out"
    result = _script("batch", f"--input_pattern={folder}", f"--output_path={out}",
                     f"--checkpoint={model_folder}", "--gpu=-1")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"done {len(good)}, skipped 0 (output exists), failed {len(bad)}" in result.stdout
    assert sorted(_outputs(out)) == good
    with open(out / "failures.csv", newline="") as handle:
        rows = {row["file"]: row["reason"] for row in csv.DictReader(handle)}
    assert sorted(rows) == sorted(bad.values())
    for path, reason in rows.items():
        assert reason.startswith(path + ": ") and "\n" not in reason, reason
    assert rows[bad["one_pixel.png"]].endswith("image is 1x1; SRN needs at least 16 pixels "
                                                "on each side")
    assert rows[bad["bomb.png"]].endswith(
        "60000x60000 (3600.0 megapixels) is above the limit of 200 megapixels "
        "(raise it with --max_megapixels)")


def test_max_megapixels_is_passed_to_the_reader(beam, model_folder, tmp_path):
    """--max_megapixels=0.002 (2000 pixels): a 64x64 photo fails from its header, naming
    the flag; a 32x32 one is done."""
    from tests.bad_inputs import photo

    (tmp_path / "in").mkdir()
    image_io.write_image(tmp_path / "in" / "big.png", photo())
    image_io.write_image(tmp_path / "in" / "small.png", photo(size=32))
    out = tmp_path / "out"
    result = _script("batch", f"--input_pattern={tmp_path / 'in'}", f"--output_path={out}",
                     f"--checkpoint={model_folder}", "--gpu=-1", "--max_megapixels=0.002")
    assert result.returncode == 1, result.stderr
    assert sorted(_outputs(out)) == ["small.png"]
    with open(out / "failures.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["reason"] for row in rows] == [
        f"{tmp_path / 'in' / 'big.png'}: 64x64 (0.0 megapixels) is above the limit of "
        "0.002 megapixels (raise it with --max_megapixels)"]


def test_unknown_options_are_refused(beam, collection, model_folder, tmp_path):
    result = _batch(collection, model_folder, tmp_path / "out", "--direct_num_wrokers=2")
    assert result.returncode == 1
    assert "unknown option(s): --direct_num_wrokers" in result.stderr
    assert not (tmp_path / "out").exists()


def _without_beam(*arguments):
    """srn-batch run where `import apache_beam` fails."""
    code = ("import sys; sys.modules['apache_beam'] = None; "
            "from srn_tf.cli.batch import run; sys.argv[0] = 'srn-batch'; run()")
    return subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_without_beam_the_message_says_what_to_install(tmp_path):
    image_io.write_image(tmp_path / "a.png", np.zeros((16, 16, 3), np.uint8))
    result = _without_beam(f"--input_pattern={tmp_path}", f"--output_path={tmp_path}/out")
    assert result.returncode == 1
    assert result.stderr.strip() == \
        "error: srn-batch needs Apache Beam: pip install 'srn-tf[batch]'"


def test_arguments_are_checked_before_beam_loads(tmp_path):
    image_io.write_image(tmp_path / "a.png", np.zeros((16, 16, 3), np.uint8))
    cases = {
        ("--height=20", "--width=32"): "--height must be a positive multiple of 16",
        ("--batch_size=0",): "--batch_size must be at least 1",
        ("--max_megapixels=0",): "--max_megapixels must be above 0",
        ("--flips=3",): "--flips must be one of 1, 2, 4, 8",
        ("--checkpoint=/nonexistent",): "no such checkpoint",
    }
    for extra, message in cases.items():
        result = _without_beam(f"--input_pattern={tmp_path}", f"--output_path={tmp_path}/o",
                               *extra)
        assert result.returncode == 1 and message in result.stderr, (extra, result.stderr)
    result = _without_beam(f"--input_pattern={tmp_path}/nothing*", f"--output_path={tmp_path}")
    assert result.returncode == 1 and "no images found" in result.stderr


def test_uri_patterns_are_taken_relative_to_their_part_before_a_wildcard():
    pytest.importorskip("apache_beam", reason="needs Apache Beam: pip install -e '.[batch]'")
    from srn_tf.batch import pipeline as batch_pipeline

    assert batch_pipeline._uri_root("gs://b/in/**/*.png") == "gs://b/in"
    assert batch_pipeline._uri_root("gs://b/in/a*/x.jpg") == "gs://b/in"
    assert batch_pipeline.is_uri("gs://b/in") and not batch_pipeline.is_uri("/data/in")
    assert batch_pipeline._join("gs://b/out/", "a/b.png") == "gs://b/out/a/b.png"


def test_an_image_the_memory_plan_cannot_fit_fails_alone_before_it_is_deblurred(
        beam, model_folder, monkeypatch):
    """The model handler checks each decoded image with srn-deblur's memory plan
    (`per_file.check_memory_of_shape`) and fails it in one line, not the batch."""
    from srn_tf.checkpoints.loading import load_deblur_model
    from srn_tf.inference import memory_plan
    from srn_tf.batch.pipeline import (BatchSettings, DeblurModelHandler, Item,
                                                 Work)

    handler = DeblurModelHandler(BatchSettings(input_pattern="in", output_path="out",
                                               checkpoint=str(model_folder)))
    model = load_deblur_model(str(model_folder))
    batch = [Work(Item(f"in/{name}.png", f"{name}.png", f"out/{name}.png"),
                  np.full((32, 48, 3), 100, np.uint8), None) for name in ("a", "b")]
    checks = []

    def nothing_free_for_the_first_image():
        checks.append(1)
        return 1 if len(checks) == 1 else 10**12

    monkeypatch.setattr(memory_plan, "available_bytes", nothing_free_for_the_first_image)
    monkeypatch.setattr(memory_plan, "_own_status_bytes", lambda field: 1)
    first, second = (result.inference for result in handler.run_inference(batch, model))
    assert first.image is None and first.reason.startswith(
        "in/a.png: a 48 x 32 photo needs about "), first.reason
    assert "GB are free" in first.reason
    assert second.reason is None and second.image.shape == (32, 48, 3)
