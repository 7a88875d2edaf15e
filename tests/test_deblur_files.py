"""srn-deblur and the library function behind it: folders, formats, failures, modes."""

import os
import subprocess
import sys

import cv2
import keras
import numpy as np
import pytest
import tifffile
from PIL import Image

import srn_tf
from srn_tf.inference import deblur as deblur_module
from srn_tf.inference import deblur_files as deblur_files_module
from srn_tf.inference import per_file
from srn_tf.data import image_io
from srn_tf.data.comparison import comparison_strip
from srn_tf.data.image_io import as_rgb8
from srn_tf.data.contact_sheet import LABEL_HEIGHT
from srn_tf.checkpoints.loading import load_deblur_model
from srn_tf.inference.deblur_files import deblur_files, list_inputs
from srn_tf.models import presets
from srn_tf.inference.fixed_size import deblur_fixed_size

SMALL = {"base_filters": 8, "blocks_per_stage": 1}


def _random(shape, dtype, seed=0):
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, shape, dtype=dtype,
                                                endpoint=True)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = srn_tf.build_model("gray", **SMALL)
    path = tmp_path_factory.mktemp("gray_model")
    srn_tf.save_model(model, path)
    return str(path)


# name: (shape, dtype) of the images in the mixed folder.
MIXED = {
    "rgb8.png": ((40, 56, 3), np.uint8),
    "rgb16.png": ((33, 47, 3), np.uint16),
    "gray.png": ((48, 32, 1), np.uint8),
    "photo.jpg": ((36, 52, 3), np.uint8),
    "rgba.png": ((32, 40, 4), np.uint8),
    "scan.tif": ((30, 60, 3), np.uint16),
    "sub/deeper.bmp": ((24, 70, 3), np.uint8),
    "sub/gray16.tiff": ((50, 20, 1), np.uint16),
}


@pytest.fixture
def mixed_folder(tmp_path):
    folder = tmp_path / "in"
    for seed, (name, (shape, dtype)) in enumerate(MIXED.items()):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        image_io.write_image(folder / name, _random(shape, dtype, seed))
    (folder / "sub" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (folder / "notes.txt").write_text("not an image: ignored")
    return folder


def _all_files(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, files in os.walk(folder) for f in files)


def test_mixed_folder_keeps_shapes_types_and_formats_and_reports_the_corrupt_file(
        checkpoint, mixed_folder, tmp_path):
    output = tmp_path / "out"
    summary = deblur_files(str(mixed_folder), str(output), checkpoint=checkpoint,
                           progress=False)
    assert not summary.ok
    assert [path for path, _ in summary.failed] == [str(mixed_folder / "sub" / "corrupt.png")]
    assert "corrupt.png: corrupt image header" in summary.failed[0][1]
    assert len(summary.done) == len(MIXED) and not summary.skipped
    assert _all_files(output) == sorted(MIXED)  # no temporary or partial files
    for name, (shape, dtype) in MIXED.items():
        result = image_io.read_image(output / name)
        assert result.shape == shape and result.dtype == dtype, name
    with open(output / "photo.jpg", "rb") as handle:
        assert handle.read(2) == b"\xff\xd8"  # still a JPEG
    assert tifffile.TiffFile(output / "scan.tif").pages[0].dtype == np.uint16
    original_alpha = image_io.read_image(mixed_folder / "rgba.png")[..., 3]
    np.testing.assert_array_equal(image_io.read_image(output / "rgba.png")[..., 3],
                                  original_alpha)


def test_existing_outputs_are_skipped_unless_overwrite(checkpoint, tmp_path):
    source = tmp_path / "a.png"
    image_io.write_image(source, _random((32, 32, 3), np.uint8))
    output = tmp_path / "out"
    output.mkdir()
    placeholder = np.zeros((5, 5, 3), np.uint8)
    image_io.write_image(output / "a.png", placeholder)
    summary = deblur_files(str(source), str(output), checkpoint=checkpoint, progress=False)
    assert summary.skipped == [str(source)] and not summary.done
    np.testing.assert_array_equal(image_io.read_image(output / "a.png"), placeholder)
    summary = deblur_files(str(source), str(output), checkpoint=checkpoint, overwrite=True,
                           progress=False)
    assert summary.done == [str(output / "a.png")]
    assert image_io.read_image(output / "a.png").shape == (32, 32, 3)


def test_glob_inputs_mirror_the_tree_below_the_wildcard(tmp_path):
    for name in ("x/a.png", "x/sub/b.jpg", "x/sub/c.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = list_inputs(str(tmp_path / "x" / "**" / "*.*g"))
    assert [relative for _, relative in found] == ["a.png", os.path.join("sub", "b.jpg")]


def test_output_format_converts_16_bit_to_8_bit_jpeg(checkpoint, tmp_path):
    source = tmp_path / "deep.png"
    image_io.write_image(source, _random((32, 48, 3), np.uint16))
    summary = deblur_files(str(source), str(tmp_path / "out"), checkpoint=checkpoint,
                           output_format="jpg", progress=False)
    assert summary.ok
    result = image_io.read_image(tmp_path / "out" / "deep.jpg")
    assert result.shape == (32, 48, 3) and result.dtype == np.uint8


@pytest.mark.parametrize("shape", [(40, 100, 3), (100, 40, 3), (20, 30, 1), (30, 50, 4)])
def test_fixed_size_mode_round_trips_shapes(shape):
    keras.utils.set_random_seed(1)
    model = srn_tf.build_model("color", **SMALL)
    image = _random(shape, np.uint8)
    # 32 x 64: (40, 100) is shrunk to fit and enlarged back; (100, 40) is turned
    # to landscape first; the small ones are only padded.
    result = deblur_fixed_size(model, image, height=32, width=64)
    assert result.shape == shape and result.dtype == np.uint8
    if shape[2] == 4:
        np.testing.assert_array_equal(result[..., 3], image[..., 3])


def test_fixed_size_mode_without_resizing_is_padding_and_cropping():
    keras.utils.set_random_seed(1)
    model = srn_tf.build_model("color", **SMALL)
    image = _random((40, 30, 3), np.uint8)  # portrait: runs transposed
    padded = np.pad(image.transpose(1, 0, 2), ((0, 2), (0, 24), (0, 0)), mode="edge")
    expected = srn_tf.deblur_image(model, padded)[:30, :40].transpose(1, 0, 2)
    np.testing.assert_array_equal(deblur_fixed_size(model, image, 32, 64), expected)


def test_fixed_size_mode_shrinks_with_pil_bicubic_like_the_release(monkeypatch):
    calls = []
    original = Image.Image.resize

    def spy(self, size, resample=None, *args, **kwargs):
        calls.append((self.mode, self.size, size, resample))
        return original(self, size, resample, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", spy)
    model = srn_tf.build_model("color", **SMALL)
    image = _random((50, 100, 3), np.uint8)
    result = deblur_fixed_size(model, image, height=32, width=48)
    # scale = min(32/50, 48/100) = 0.48 -> int(24.0), int(48.0); then back to 50x100,
    # in PIL's RGB mode with BICUBIC, as scipy.misc.imresize(uint8, size, 'bicubic').
    assert calls == [("RGB", (100, 50), (48, 24), Image.BICUBIC),
                     ("RGB", (48, 24), (100, 50), Image.BICUBIC)]
    shrunk = np.asarray(original(Image.fromarray(image), (48, 24), Image.BICUBIC))
    padded = np.pad(shrunk, ((0, 8), (0, 0), (0, 0)), mode="edge")
    output = srn_tf.deblur_image(model, padded)[:24]
    expected = np.asarray(original(Image.fromarray(output), (100, 50), Image.BICUBIC))
    np.testing.assert_array_equal(result, expected)


def test_fixed_size_mode_resizes_16_bit_and_gray_images_per_channel():
    model = srn_tf.build_model("gray", **SMALL)
    for shape, dtype in (((50, 100, 3), np.uint16), ((50, 100, 1), np.uint8)):
        result = deblur_fixed_size(model, _random(shape, dtype), height=32, width=48)
        assert result.shape == shape and result.dtype == dtype


def test_missing_bundled_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(presets.PRESETS, "default", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="no bundled default model in this install"):
        load_deblur_model(None)


def test_bundled_model_is_used_without_a_checkpoint(monkeypatch, checkpoint):
    monkeypatch.setitem(presets.PRESETS, "default", checkpoint)
    assert srn_tf.model_type_of(load_deblur_model(None)) == "gray"


def test_the_model_folder_decides_the_post_processing_by_default_by_name_or_by_path(
        monkeypatch, checkpoint, tmp_path):
    from srn_tf.models.inference_options import InferenceOptions, attach_options

    preset = tmp_path / "preset"
    options = ("flat_level", "kernel_refinement", "denoise")
    srn_tf.save_model(attach_options(srn_tf.load_model(checkpoint),
                                     InferenceOptions(**dict.fromkeys(options, True))), preset)
    monkeypatch.setitem(presets.PRESETS, "default", str(preset))
    image = np.full((40, 64, 3), 120, np.uint8)
    image[:, 32:] = _random((40, 32, 3), np.uint8)
    (tmp_path / "in").mkdir()
    image_io.write_image(tmp_path / "in" / "half_flat.png", image)
    model = srn_tf.load_model(checkpoint)
    results = {}
    for source in (None, "default", str(preset), checkpoint):
        output = tmp_path / f"out_{len(results)}"
        deblur_files(tmp_path / "in", output, checkpoint=source, progress=False)
        results[source] = image_io.read_image(output / "half_flat.png")
    # One folder, one computation: by default, by name and by path, bit for bit.
    np.testing.assert_array_equal(results[None], results["default"])
    np.testing.assert_array_equal(results[None], results[str(preset)])
    for source, refined in ((None, True), (checkpoint, False)):
        expected = srn_tf.deblur_image(model, image,
                                       InferenceOptions(**dict.fromkeys(options, refined)))
        # Another model instance: truncation may flip a value within float32 noise
        # of an integer boundary.
        assert np.mean(results[source] != expected) < 1e-3
        for option in options:
            settings = dict.fromkeys(options, refined) | {option: not refined}
            other = srn_tf.deblur_image(model, image, InferenceOptions(**settings))
            assert np.mean(results[source] != other) > 0.1, option


def test_tf1_checkpoint_loads_with_its_model_type(tmp_path):
    from tests import tf1_reference

    weights = tf1_reference.random_release_weights("lstm", seed=1)
    prefix = tf1_reference.write_tf1_checkpoint(weights, tmp_path)
    model = load_deblur_model(prefix, "lstm")
    assert srn_tf.model_type_of(model) == "lstm"


def test_wrong_model_type_for_an_srn_tf_checkpoint_is_a_clear_error(checkpoint):
    with pytest.raises(ValueError, match="holds a 'gray' model, not 'color'"):
        load_deblur_model(checkpoint, "color")


def test_big_images_are_tiled_automatically(monkeypatch, checkpoint, tmp_path):
    monkeypatch.setattr(per_file, "AUTO_TILE_PIXELS", 64 * 64)
    seen = []
    original = deblur_module.deblur_image

    def spy(model, image, *args, **kwargs):
        seen.append(kwargs["tile"])
        return original(model, image, *args, **kwargs)

    monkeypatch.setattr(deblur_module, "deblur_image", spy)
    image_io.write_image(tmp_path / "big.png", _random((80, 96, 3), np.uint8))
    image_io.write_image(tmp_path / "small.png", _random((16, 32, 1), np.uint8))
    summary = deblur_files(str(tmp_path), str(tmp_path / "out"), checkpoint=checkpoint,
                           progress=False)
    assert summary.ok, summary.failed
    # A gray model runs RGB as 3 planes: tile side sqrt(4096 / 3) // 16 * 16 = 32,
    # raised to the smallest tile, 64.
    assert seen == [64, None]


def test_side_by_side_sheet_shows_every_done_image_blurred_then_deblurred(
        checkpoint, mixed_folder, tmp_path):
    sheet_path = tmp_path / "sheets" / "comparison.png"
    output = tmp_path / "out"
    deblur_files(str(mixed_folder), str(output), checkpoint=checkpoint,
                 side_by_side_path=str(sheet_path), progress=False)
    sheet = image_io.read_image(sheet_path)
    # One labelled strip per image done (the corrupt file has none), each as high
    # as its image (all are below the 360-row limit), as wide as the widest pair.
    heights = [shape[0] for shape, _ in MIXED.values()]
    assert sheet.shape == (sum(heights) + len(MIXED) * LABEL_HEIGHT,
                           2 * max(shape[1] for shape, _ in MIXED.values()), 3)
    first_shape = MIXED[sorted(MIXED)[0]][0]  # images are processed in name order
    top = LABEL_HEIGHT
    blurred = image_io.read_image(mixed_folder / sorted(MIXED)[0])
    result = image_io.read_image(output / sorted(MIXED)[0])
    left = sheet[top:top + first_shape[0], :first_shape[1]]
    right = sheet[top:top + first_shape[0], first_shape[1]:2 * first_shape[1]]
    np.testing.assert_array_equal(left, as_rgb8(blurred))
    np.testing.assert_array_equal(right, as_rgb8(result))


def test_comparison_strips_of_large_images_are_shrunk_to_the_strip_height():
    blurred = _random((900, 1200, 3), np.uint16)
    images = comparison_strip(blurred, blurred, max_height=300)
    assert [image.shape for image in images] == [(300, 400, 3)] * 2
    assert images[0].dtype == np.uint8


def test_side_by_side_must_be_a_png(checkpoint, tmp_path):
    with pytest.raises(ValueError, match="sheet.jpg: the side-by-side sheet must be a .png"):
        deblur_files(str(tmp_path), str(tmp_path / "out"), checkpoint=checkpoint,
                     side_by_side_path=str(tmp_path / "sheet.jpg"), progress=False)

def _run_cli(*args):
    script = os.path.join(os.path.dirname(sys.executable), "srn-deblur")
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=300)


def test_console_script_deblurs_a_folder_and_fails_on_the_corrupt_file(
        checkpoint, mixed_folder, tmp_path):
    output = tmp_path / "cli_out"
    result = _run_cli(f"--checkpoint={checkpoint}", f"--input_path={mixed_folder}",
                      f"--output_path={output}", "--gpu=-1")
    assert result.returncode == 1, result.stderr
    assert f"done {len(MIXED)}, skipped 0 (output exists), failed 1" in result.stdout
    assert "failed: " in result.stdout and "corrupt.png: corrupt image header" in result.stdout
    assert _all_files(output) == sorted(MIXED)


def test_console_script_rejects_half_of_height_and_width(tmp_path):
    result = _run_cli("--input_path=x", f"--output_path={tmp_path}", "--height=720")
    assert result.returncode == 1
    assert result.stderr.strip().endswith("give both --height and --width, or neither")


def test_exif_rotated_jpeg_comes_out_as_displayed(checkpoint, tmp_path):
    from tests.test_image_io import _exif_with_orientation

    stored = _random((32, 48, 3), np.uint8)
    blob = np.frombuffer(_exif_with_orientation(6), np.uint8)
    assert cv2.imwriteWithMetadata(str(tmp_path / "turned.jpg"), stored,
                                   [cv2.IMAGE_METADATA_EXIF], [blob])
    summary = deblur_files(str(tmp_path / "turned.jpg"), str(tmp_path / "out"),
                           checkpoint=checkpoint, progress=False)
    assert summary.ok
    # Shown rotated 90 degrees clockwise: 48 x 32; the output is stored that way.
    assert image_io.read_image(tmp_path / "out" / "turned.jpg").shape == (48, 32, 3)


def test_a_saved_model_folder_is_run_through_its_signature(checkpoint, tmp_path):
    import tensorflow as tf

    from srn_tf.checkpoints.saved_model_runner import SavedModelRunner

    model = srn_tf.load_model(checkpoint)

    class Export(tf.Module):
        def __init__(self):
            super().__init__()
            self.model_variables = [w.value for w in model.weights]

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def serve(self, images):
            return {"deblurred": srn_tf.predict_any_size(model, images)}

    export = Export()
    folder = tmp_path / "export"
    tf.saved_model.save(export, str(folder), signatures={"serving_default": export.serve})
    # srn-export also writes the model config beside saved_model.pb.
    with open(os.path.join(checkpoint, "srn_config.json")) as handle:
        (folder / "srn_config.json").write_text(handle.read())
    assert isinstance(load_deblur_model(str(folder)), SavedModelRunner)
    image_io.write_image(tmp_path / "in.png", _random((30, 40, 3), np.uint8))
    summary = deblur_files(str(tmp_path / "in.png"), str(tmp_path / "out"),
                           checkpoint=str(folder), progress=False)
    assert summary.ok
    np.testing.assert_array_equal(image_io.read_image(tmp_path / "out" / "in.png"),
                                  srn_tf.deblur_image(model, image_io.read_image(
                                      tmp_path / "in.png")))


def test_the_time_per_file_counts_only_files_deblurred(capsys):
    """Skipped and failed files take next to no time: counting them would make the rate
    look better than it is. The figures here are the seconds passed in, exact."""
    bar = deblur_files_module._Progress(4, enabled=True)
    bar.update(1, "a.png", "skipped (output exists)")
    bar.update(2, "b.png", "FAILED")
    bar.update(3, "c.png", "done", seconds=3.0)
    bar.update(4, "d.png", "done", seconds=5.0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("(no file deblurred yet)")
    assert lines[1].endswith("(no file deblurred yet)")
    assert lines[2].endswith("(3.00 s/file, ETA 3 s)")  # 1 file left at 3 s
    assert lines[3].endswith("(4.00 s/file, ETA 0 s)")


def test_no_images_is_refused_before_the_model_loads(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    # The checkpoint does not exist: the input's error must come first.
    with pytest.raises(ValueError, match=r"no images found in .* \(reads \.png, \.jpg, \.jpeg, "
                                         r"\.bmp, \.webp, \.tif, \.tiff\)"):
        deblur_files(str(tmp_path), str(tmp_path / "out"), checkpoint=str(tmp_path / "absent"))


def test_an_impossible_tiling_is_refused_once_before_any_image(checkpoint, tmp_path):
    image_io.write_image(tmp_path / "a.png", _random((64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="tile=24: tiles must be at least 64 pixels"):
        deblur_files(str(tmp_path / "a.png"), str(tmp_path / "out"), checkpoint=checkpoint,
                     tile=24, progress=False)
    assert not (tmp_path / "out").exists()


def test_the_side_by_side_sheet_is_rebuilt_from_existing_outputs(checkpoint, tmp_path):
    (tmp_path / "in").mkdir()
    for index in range(2):
        image_io.write_image(tmp_path / "in" / f"{index}.png",
                             _random((32, 48, 3), np.uint8, seed=index))
    first = deblur_files(str(tmp_path / "in"), str(tmp_path / "out"), checkpoint=checkpoint,
                         side_by_side_path=str(tmp_path / "first.png"), progress=False)
    assert first.side_by_side == str(tmp_path / "first.png")
    again = deblur_files(str(tmp_path / "in"), str(tmp_path / "out"), checkpoint=checkpoint,
                         side_by_side_path=str(tmp_path / "again.png"), progress=False)
    assert not again.done and len(again.skipped) == 2 and again.ok
    assert again.side_by_side == str(tmp_path / "again.png")
    np.testing.assert_array_equal(image_io.read_image(tmp_path / "again.png"),
                                  image_io.read_image(tmp_path / "first.png"))


def test_an_existing_output_of_another_size_is_reported_not_put_in_the_sheet(checkpoint,
                                                                              tmp_path):
    image_io.write_image(tmp_path / "a.png", _random((32, 48, 3), np.uint8))
    (tmp_path / "out").mkdir()
    image_io.write_image(tmp_path / "out" / "a.png", np.zeros((16, 16, 3), np.uint8))
    summary = deblur_files(str(tmp_path / "a.png"), str(tmp_path / "out"),
                           checkpoint=checkpoint, side_by_side_path=str(tmp_path / "s.png"),
                           progress=False)
    assert summary.skipped == [str(tmp_path / "a.png")]
    assert "not in the side-by-side sheet" in summary.failed[0][1]
    assert summary.side_by_side is None and not (tmp_path / "s.png").exists()


def test_exif_and_icc_are_carried_to_the_outputs(checkpoint, tmp_path):
    from tests.test_image_io import _marked_photo, _pillow_exif, _srgb_profile, \
        _write_photo_with_metadata

    _write_photo_with_metadata(tmp_path / "photo.jpg", _marked_photo())
    for output_format in (None, "png"):
        out = tmp_path / f"out_{output_format}"
        summary = deblur_files(str(tmp_path / "photo.jpg"), str(out), checkpoint=checkpoint,
                               output_format=output_format, progress=False)
        assert summary.ok
        name = "photo.jpg" if output_format is None else "photo.png"
        tags, icc = _pillow_exif(out / name)
        assert tags[271] == "TestCam" and tags.get(274, 1) == 1 and icc == _srgb_profile()
        assert image_io.read_image(out / name).shape == (48, 32, 3)  # stored upright
