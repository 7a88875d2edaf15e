"""No command deletes or replaces a user's files: destinations are really writable,
--overwrite replaces only what srn-tf wrote, and outputs never replace inputs.

The console-script checks run before TensorFlow loads (`tests.test_cli_validation._refused`
checks that with `python -X importtime`). Exports are recognised from small files
written here with each format's signature, not by running the converters.
"""

import json
import os
import zipfile

import numpy as np
import pytest

from srn_tf import write_safety
from srn_tf.inference import per_file
from tests.test_cli_validation import _refused


def _photos(folder, names=("a.png", "b.png")):
    """A folder of small PNG photographs; returns {name: bytes} to check they survive."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        image = np.full((32, 32, 3), 40 * index, np.uint8)
        cv2.imwrite(str(folder / name), image)
    return {name: (folder / name).read_bytes() for name in names}


def _unchanged(folder, contents):
    return sorted(os.listdir(folder)) == sorted(contents) and all(
        (folder / name).read_bytes() == data for name, data in contents.items())


def _saved_model_export(folder):
    """A folder laid out as `export_saved_model` leaves it."""
    (folder / "variables").mkdir(parents=True)
    for name in ("saved_model.pb", "fingerprint.pb"):
        (folder / name).write_bytes(b"\x08\x01")
    (folder / "srn_config.json").write_text(json.dumps({"format_version": 1, "model": {}}))
    return folder


def _onnx_file(path, producer=b"srn-tf"):
    """The start of an ONNX ModelProto: ir_version 10, then producer_name."""
    path.write_bytes(b"\x08\x0a\x12" + bytes([len(producer)]) + producer + b"\x1a\x03x.y")
    return path


def _tflite_file(path, metadata=True):
    """A FlatBuffer with the TFL3 identifier, and srn-tf's metadata name when asked."""
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 32 + (b"srn_tf" if metadata else b""))
    return path


def _keras_file(path, registered_name="srn_tf>SRNDeblurNet"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps({"registered_name": registered_name}))
        archive.writestr("metadata.json", "{}")
    return path


# --------------------------------------------------------------- a real write check

@pytest.mark.parametrize("path,folder", [("/proc/x", True), ("/proc/x.png", False),
                                         ("/proc/new/deeper/x.png", False), ("/sys/x", True)])
def test_pseudo_file_systems_are_not_writable_even_for_root(path, folder):
    # os.access says /proc is writable for root; creating a file there fails.
    assert write_safety.write_problem(path, folder=folder) is not None


def test_a_writable_destination_passes_and_the_check_leaves_nothing(tmp_path):
    (tmp_path / "file").write_text("x")
    assert write_safety.write_problem(tmp_path / "new" / "out", folder=True) is None
    assert write_safety.write_problem(tmp_path / "sheet.png") is None
    assert write_safety.write_problem(tmp_path / "file" / "out", folder=True) == \
        "Not a directory"
    assert write_safety.write_problem(tmp_path / "file", folder=True) == "Not a directory"
    assert write_safety.write_problem(tmp_path) == "Is a directory"
    assert sorted(os.listdir(tmp_path)) == ["file"]


# --------------------------------------------------- --overwrite replaces only ours

def test_each_kind_of_export_is_recognised_by_its_signature(tmp_path):
    assert write_safety.replace_refusal(_saved_model_export(tmp_path / "sm"),
                                        "saved_model") is None
    assert write_safety.replace_refusal(_onnx_file(tmp_path / "m.onnx"), "onnx") is None
    assert write_safety.replace_refusal(_tflite_file(tmp_path / "m.tflite"), "litert") is None
    assert write_safety.replace_refusal(_keras_file(tmp_path / "m.keras"), "keras") is None
    (tmp_path / "empty").mkdir()
    assert write_safety.replace_refusal(tmp_path / "empty", "saved_model") is None


@pytest.mark.parametrize("kind,make", [
    ("saved_model", lambda path: _photos(path) and path),
    # An export the user added a file to is theirs now: replacing it would lose the file.
    ("saved_model", lambda path: (_saved_model_export(path) / "notes.txt").write_text("mine")
     and path),
    ("saved_model", lambda path: path.write_bytes(b"a file, not a folder") and path),
    ("onnx", lambda path: _onnx_file(path, producer=b"pytorch")),
    ("onnx", lambda path: path.write_bytes(b"keep") and path),
    ("litert", lambda path: _tflite_file(path, metadata=False)),
    ("keras", lambda path: _keras_file(path, registered_name="Functional")),
    ("keras", lambda path: path.write_bytes(b"PK not really") and path),
    ("checkpoint", lambda path: _photos(path) and path),
])
def test_anything_else_is_refused_in_one_line(tmp_path, kind, make):
    path = make(tmp_path / "target")
    refusal = write_safety.replace_refusal(path, kind, choose="--output")
    what = "srn_tf checkpoint folder" if kind == "checkpoint" else "srn-export output"
    assert refusal == f"{path}: not an {what}; refusing to replace it (choose another --output)"


@pytest.mark.parametrize("extra", [[], ["--overwrite"]])
def test_srn_export_overwrite_never_replaces_a_folder_of_photos(tmp_path, extra):
    photos = tmp_path / "photos"
    contents = _photos(photos)
    # Refused alike without --overwrite: the message must not suggest passing it.
    message = _refused("srn-export", f"--output={photos}", *extra)
    assert message == (f"{photos}: not an srn-export output; refusing to replace it "
                       "(choose another --output)")
    assert _unchanged(photos, contents)


@pytest.mark.parametrize("format,name,make", [
    ("onnx", "photo.onnx", lambda path: path.write_bytes(b"my own ONNX model")),
    ("keras", "photo.keras", lambda path: _keras_file(path, registered_name="Functional")),
    ("litert", "photo.tflite", lambda path: _tflite_file(path, metadata=False)),
])
def test_srn_export_overwrite_never_replaces_a_file_it_did_not_write(tmp_path, format, name,
                                                                     make):
    path = tmp_path / name
    make(path)
    before = path.read_bytes()
    extra = ["--height=64", "--width=64"] if format == "litert" else []
    message = _refused("srn-export", f"--format={format}", f"--output={path}", "--overwrite",
                       *extra)
    assert message.startswith(f"{path}: not an srn-export output; refusing to replace it")
    assert path.read_bytes() == before


def test_srn_convert_refuses_a_folder_of_photos_before_tensorflow(tmp_path):
    photos = tmp_path / "photos"
    contents = _photos(photos)
    message = _refused("srn-convert", f"--tf1_checkpoint={tmp_path}", f"--output={photos}",
                       "--overwrite")
    assert message == (f"{photos}: not an srn_tf checkpoint folder; refusing to replace it "
                       "(choose another --output)")
    assert _unchanged(photos, contents)


def test_srn_train_refuses_to_write_its_run_into_a_folder_of_photos(tmp_path):
    photos = tmp_path / "photos"
    contents = _photos(photos)
    (tmp_path / "pairs.txt").write_text("")
    message = _refused("srn-train", f"--datalist={tmp_path / 'pairs.txt'}",
                       f"--checkpoint_dir={photos}")
    assert message == (f"{photos}: not an srn_tf checkpoint folder; refusing to write into it "
                       "(choose another --checkpoint_dir)")
    assert _unchanged(photos, contents)


def test_the_library_exporters_refuse_too(tmp_path):
    """export_saved_model and save_model_folder, the public API, check before they write."""
    import srn_tf
    from srn_tf.checkpoints.model_folder import save_model_folder
    from srn_tf.export.saved_model import export_saved_model

    model = srn_tf.build_model("gray", base_filters=4, blocks_per_stage=1)
    photos = tmp_path / "photos"
    contents = _photos(photos)
    with pytest.raises(write_safety.OutputRefused, match="not an srn-export output"):
        export_saved_model(model, photos, overwrite=True)
    with pytest.raises(write_safety.OutputRefused, match="not an srn_tf checkpoint folder"):
        save_model_folder(model, photos, overwrite=True)
    assert _unchanged(photos, contents)
    # What they wrote themselves they replace.
    exported = export_saved_model(model, tmp_path / "export")
    assert write_safety.is_saved_model_export(exported)
    export_saved_model(model, exported, overwrite=True)
    saved = save_model_folder(model, tmp_path / "checkpoint")
    assert write_safety.is_checkpoint_folder(saved)
    save_model_folder(model, saved, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "export", "photos"]


# ------------------------------------------------------ outputs never replace inputs

@pytest.mark.parametrize("extra", [[], ["--overwrite"]])
def test_srn_deblur_refuses_an_output_folder_that_is_its_input(tmp_path, extra):
    photos = tmp_path / "same"
    contents = _photos(photos)
    message = _refused("srn-deblur", f"--input_path={photos}", f"--output_path={photos}",
                       *extra)
    assert message == (f"{photos / 'a.png'}: the output would replace this input; outputs "
                       "never replace inputs (choose another output folder)")
    assert _unchanged(photos, contents)


def test_an_output_reaching_an_input_through_a_symlink_or_another_extension_is_refused(
        tmp_path):
    photos = tmp_path / "photos"
    contents = _photos(photos, names=("a.jpg", "a.png"))
    (tmp_path / "link").symlink_to(photos)
    message = _refused("srn-deblur", f"--input_path={photos}", f"--output_path={tmp_path}/link",
                       "--overwrite")
    assert message.startswith(f"{photos / 'a.jpg'}: the output {tmp_path}/link/a.jpg would "
                              "replace this input")
    # --format=png sends a.jpg to a.png, itself an input.
    message = _refused("srn-deblur", f"--input_path={photos}", f"--output_path={photos}",
                       "--format=png", "--overwrite")
    assert message.startswith(f"{photos / 'a.png'}: the output would replace this input")
    assert _unchanged(photos, contents)


def test_the_side_by_side_sheet_may_not_be_an_input(tmp_path):
    photos = tmp_path / "photos"
    contents = _photos(photos)
    message = _refused("srn-deblur", f"--input_path={photos}", f"--output_path={tmp_path}/out",
                       f"--side_by_side={photos}/b.png")
    assert message == (f"{photos / 'b.png'}: the output would replace this input; outputs "
                       "never replace inputs (choose another side-by-side sheet)")
    assert _unchanged(photos, contents)


def test_srn_batch_refuses_an_output_folder_that_is_its_input(tmp_path):
    photos = tmp_path / "same"
    contents = _photos(photos)
    message = _refused("srn-batch", f"--input_pattern={photos}", f"--output_path={photos}",
                       "--overwrite")
    assert message.startswith(f"{photos / 'a.png'}: the output would replace this input")
    assert _unchanged(photos, contents)


@pytest.mark.parametrize("pattern", ["{nest}", "{nest}/**/*.png"])
def test_an_output_folder_inside_the_input_is_left_out_of_the_inputs(tmp_path, pattern):
    nest = tmp_path / "nest"
    _photos(nest)
    _photos(nest / "sharp")            # a first run's outputs
    _photos(nest / "sharpened_by_hand", names=("c.png",))
    planned = per_file.plan_outputs(pattern.format(nest=nest), nest / "sharp")
    assert [(relative, target) for _, relative, target in planned] == [
        ("a.png", str(nest / "sharp" / "a.png")), ("b.png", str(nest / "sharp" / "b.png")),
        (os.path.join("sharpened_by_hand", "c.png"),
         str(nest / "sharp" / "sharpened_by_hand" / "c.png"))]


@pytest.fixture(scope="module")
def small_model():
    import keras

    import srn_tf

    keras.utils.set_random_seed(0)
    return srn_tf.build_model("color", base_filters=8, blocks_per_stage=1)


def test_deblurring_into_a_folder_inside_the_input_twice_never_deblurs_its_outputs(
        tmp_path, small_model):
    from srn_tf.inference.deblur_files import deblur_files

    nest = tmp_path / "nest"
    _photos(nest)
    for _ in range(2):
        summary = deblur_files(nest, nest / "sharp", checkpoint=small_model, progress=False)
    assert sorted(os.listdir(nest / "sharp")) == ["a.png", "b.png"]
    assert len(summary.skipped) == 2 and not summary.done and summary.ok


def test_deblur_files_refuses_to_replace_its_inputs_before_loading_a_model(tmp_path):
    from srn_tf.inference.deblur_files import deblur_files

    photos = tmp_path / "photos"
    contents = _photos(photos)
    # The checkpoint does not exist: the refusal comes before any model is loaded.
    with pytest.raises(write_safety.OutputRefused, match="would replace this input"):
        deblur_files(photos, photos, checkpoint=str(tmp_path / "absent"), overwrite=True,
                     progress=False)
    assert _unchanged(photos, contents)


# --------------------------------------------------------------------- srn-synth

def test_srn_synth_never_writes_its_dataset_over_the_source_photos(tmp_path):
    photos = tmp_path / "photos"
    contents = _photos(photos)
    message = _refused("srn-synth", f"--sharp_dir={photos}", f"--output_dir={photos}")
    assert message == f"{photos}: folder is not empty; choose a new or empty one"
    assert _unchanged(photos, contents)
