"""Atomic files and folders: a temporary name beside the target, renamed on success,
removed on failure, and errors that name the final path, never the temporary one."""

import json
import os
import subprocess
import sys

import pytest

from srn_tf import atomic_files


def _unwritable_folder(tmp_path):
    """A path whose folder cannot be created or written, for root too: under a file."""
    (tmp_path / "file").write_text("a file, not a folder")
    return tmp_path / "file"


def test_a_file_is_renamed_into_place_with_its_extension_kept(tmp_path):
    target = tmp_path / "a.png"
    with atomic_files.atomic_file(target) as temporary:
        assert os.path.dirname(temporary) == str(tmp_path)
        assert temporary.endswith(".png") and os.path.basename(temporary).startswith(".")
        assert os.path.isfile(temporary) and not target.exists()  # created, empty
        with open(temporary, "wb") as handle:
            handle.write(b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["a.png"]


def test_an_exception_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="encoder broke"):
        with atomic_files.atomic_file(target) as temporary:
            with open(temporary, "w") as handle:
                handle.write("half")
            raise RuntimeError("encoder broke")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.json"]


def test_an_unusable_folder_names_the_final_path(tmp_path):
    target = _unwritable_folder(tmp_path) / "out.png"
    with pytest.raises(NotADirectoryError) as info:
        with atomic_files.atomic_file(target):
            pytest.fail("the block must not run")
    assert str(info.value) == f"{target}: cannot write (Not a directory)"
    missing = tmp_path / "absent" / "out.png"
    with pytest.raises(FileNotFoundError) as info:
        with atomic_files.atomic_file(missing):
            pass
    assert str(info.value) == f"{missing}: cannot write (No such file or directory)"


def test_a_read_only_folder_names_the_final_path(read_only_folder):
    with pytest.raises(PermissionError) as info:
        atomic_files.write_json({}, read_only_folder / "summary.json")
    assert str(info.value) == (f"{read_only_folder / 'summary.json'}: cannot write "
                               "(Permission denied)")
    assert info.value.errno == 13


def test_an_oserror_about_the_temporary_is_rewritten_to_name_the_target(tmp_path):
    target = tmp_path / "a.csv"
    with pytest.raises(OSError) as info:
        with atomic_files.atomic_file(target) as temporary:
            raise OSError(28, "No space left on device", temporary)
    assert str(info.value) == f"{target}: cannot write (No space left on device)"
    assert ".tmp-" not in str(info.value) and os.listdir(tmp_path) == []
    # Errors about other files pass through as they are.
    with pytest.raises(FileNotFoundError, match="elsewhere"):
        with atomic_files.atomic_file(target):
            open(tmp_path / "elsewhere" / "x")


def test_a_folder_in_the_way_of_a_file_is_refused(tmp_path):
    (tmp_path / "a.txt").mkdir()
    with pytest.raises(IsADirectoryError, match=r"a\.txt: cannot write \(Is a directory\)"):
        atomic_files.write_text("x", tmp_path / "a.txt")
    assert os.listdir(tmp_path) == ["a.txt"]


def test_write_json_is_indented_sorted_and_ends_with_a_newline(tmp_path):
    atomic_files.write_json({"b": 1, "a": [1, 2]}, tmp_path / "x.json")
    text = (tmp_path / "x.json").read_text()
    assert text == json.dumps({"a": [1, 2], "b": 1}, indent=2, sort_keys=True) + "\n"


def test_a_folder_is_staged_beside_and_renamed_into_place(tmp_path):
    target = tmp_path / "export"
    with atomic_files.atomic_folder(target) as staging:
        assert os.path.dirname(staging) == str(tmp_path) and os.listdir(staging) == []
        (open(os.path.join(staging, "saved_model.pb"), "w")).close()
        assert not target.exists()
    assert os.listdir(target) == ["saved_model.pb"]
    assert os.listdir(tmp_path) == ["export"]


def _checkpoint_folder(folder, extra=()):
    """A folder as `save_model` leaves it (srn_config.json beside checkpoint files)."""
    folder.mkdir()
    (folder / "srn_config.json").write_text('{"format_version": 1, "model": {}}')
    for name in ("checkpoint", "model-1.index", *extra):
        (folder / name).write_text("old")
    return folder


def test_an_existing_folder_is_refused_or_replaced_whole(tmp_path):
    target = _checkpoint_folder(tmp_path / "model")
    with pytest.raises(FileExistsError, match="model: already exists"):
        with atomic_files.atomic_folder(target):
            pass
    with atomic_files.atomic_folder(target, replace="checkpoint") as staging:
        (open(os.path.join(staging, "new.index"), "w")).close()
        assert (target / "model-1.index").exists()  # the old one stays until the new is done
    assert os.listdir(target) == ["new.index"]
    assert os.listdir(tmp_path) == ["model"]  # the old folder, moved aside, is gone


def test_a_folder_is_replaced_only_when_srn_tf_wrote_it(tmp_path):
    """A folder of photos, or a checkpoint folder holding a file of the user's, is never
    replaced: the refusal comes before the block runs, and again after it."""
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"a photograph")
    mixed = _checkpoint_folder(tmp_path / "mixed", extra=["notes.txt"])
    for folder in (photos, mixed):
        with pytest.raises(FileExistsError, match=(
                f"^{folder}: not an srn_tf checkpoint folder; refusing to replace it")):
            with atomic_files.atomic_folder(folder, replace="checkpoint"):
                raise AssertionError("the block must not run")
    assert os.listdir(photos) == ["holiday.jpg"] and "notes.txt" in os.listdir(mixed)
    late = tmp_path / "late"
    with pytest.raises(FileExistsError, match="not an srn_tf checkpoint folder"):
        with atomic_files.atomic_folder(late, replace="checkpoint"):
            late.mkdir()
            (late / "holiday.jpg").write_bytes(b"a photograph")  # appeared meanwhile
    assert os.listdir(late) == ["holiday.jpg"]
    assert sorted(os.listdir(tmp_path)) == ["late", "mixed", "photos"]  # no staging left


def test_a_failed_folder_leaves_the_old_one_and_no_staging(tmp_path):
    target = _checkpoint_folder(tmp_path / "model")
    with pytest.raises(RuntimeError):
        with atomic_files.atomic_folder(target, replace="checkpoint") as staging:
            (open(os.path.join(staging, "half.index"), "w")).close()
            raise RuntimeError("save failed")
    assert sorted(os.listdir(target)) == ["checkpoint", "model-1.index", "srn_config.json"]
    assert os.listdir(tmp_path) == ["model"]


def test_a_folder_under_a_file_names_the_final_path(tmp_path):
    target = _unwritable_folder(tmp_path) / "export"
    with pytest.raises(NotADirectoryError) as info:
        with atomic_files.atomic_folder(target):
            pass
    assert str(info.value) == f"{target}: cannot write (Not a directory)"


def test_save_model_folder_failing_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    from srn_tf.checkpoints import model_folder

    target = _checkpoint_folder(tmp_path / "bundle")

    def failing_save(model, path, **kwargs):
        (open(os.path.join(path, "model-1.index"), "w")).close()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_folder, "save_model", failing_save)
    with pytest.raises(OSError, match="No space left"):
        model_folder.save_model_folder(object(), target)
    assert sorted(os.listdir(target)) == ["checkpoint", "model-1.index", "srn_config.json"]
    assert os.listdir(tmp_path) == ["bundle"]


def test_these_modules_load_without_tensorflow():
    """Console scripts check arguments with them before TensorFlow loads."""
    code = ("import sys; import srn_tf.atomic_files, srn_tf.inference.tiling, "
            "srn_tf.data.image_io, srn_tf.write_safety; print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
