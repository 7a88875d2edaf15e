"""srn-export's flags for every format, checked before TensorFlow loads, and the one-line
messages when an export's optional extra is missing (srn-export and srn-deblur)."""

import os
import subprocess
import sys

import pytest

from tests.test_cli_validation import _errors, _imported, _refused

BIN = os.path.dirname(sys.executable)

# Runs a console script with the named modules reported missing by importlib's
# find_spec, as when their extra is not installed (they may well be installed here).
WITHOUT_MODULES = (
    "import importlib.util, sys\n"
    "hidden, script = set(sys.argv[1].split(',')), sys.argv[2]\n"
    "found = importlib.util.find_spec\n"
    "importlib.util.find_spec = lambda name, *rest: (\n"
    "    None if name.split('.')[0] in hidden else found(name, *rest))\n"
    "sys.argv = [f'srn-{script}', *sys.argv[3:]]\n"
    "module = __import__(f'srn_tf.cli.{script}', fromlist=['run'])\n"
    "module.run()\n")


@pytest.mark.parametrize("args,expected", [
    ([], "give --output (or --export_dir for a SavedModel)"),
    (["--format=onnx", "--output={p}/model.tflite"], "{p}/model.tflite: must be a .onnx file"),
    (["--format=litert", "--output={p}/model.onnx", "--height=64", "--width=64"],
     "{p}/model.onnx: must be a .tflite file"),
    (["--format=keras", "--output={p}/model.h5"], "{p}/model.h5: must be a .keras file"),
    (["--format=litert", "--output={p}/model.tflite"],
     "--format=litert writes one fixed size: give --height and --width"),
    (["--format=litert", "--output={p}/model.tflite", "--height=8", "--width=64"],
     "--height must be at least 16. Received: 8"),
    (["--format=onnx", "--output={p}/model.onnx", "--opset=13"],
     "--opset must be at least 17. Received: 13"),
    (["--format=onnx", "--output={p}/model.onnx", "--height=64"],
     "--height does not apply to --format=onnx"),
    (["--format=litert", "--output={p}/m.tflite", "--height=64", "--width=64", "--layout=nchw"],
     "--layout does not apply to --format=litert"),
    (["--output={p}/export", "--input_dtype=uint8"],
     "--input_dtype does not apply to --format=saved_model"),
    (["--format=onnx", "--export_dir={p}/export"],
     "--export_dir is the SavedModel's folder; --format=onnx writes --output"),
    (["--format=onnx", "--output={p}/existing.onnx"],
     "{p}/existing.onnx: not an srn-export output; refusing to replace it (choose another "
     "--output)"),
    (["--format=onnx", "--output={p}/exported.onnx"],
     "{p}/exported.onnx: already exists (pass --overwrite to replace it)"),
    (["--format=onnx", "--output={p}/folder.onnx", "--overwrite"],
     "{p}/folder.onnx: cannot write (Is a directory)"),
    (["--format=onnx", "--output={p}/existing.onnx/model.onnx"],
     "{p}/existing.onnx/model.onnx: cannot write (Not a directory)"),
    (["--format=onnx", "--output={p}/model.onnx", "--checkpoint={p}/absent"],
     "--checkpoint={p}/absent: no such checkpoint, folder or preset"),
    (["--format=onnx", "--output={p}/model.onnx", "--checkpoint={p}/folder.onnx"],
     "--checkpoint={p}/folder.onnx: not a file (an .onnx export is one)"),
])
def test_srn_export_refuses_bad_flags_before_tensorflow(tmp_path, args, expected):
    (tmp_path / "existing.onnx").write_bytes(b"")
    # The start of an ONNX file export_onnx wrote: ir_version, then producer "srn-tf".
    (tmp_path / "exported.onnx").write_bytes(b"\x08\x0a\x12\x06srn-tf")
    (tmp_path / "folder.onnx").mkdir()
    message = _refused("srn-export", *(arg.format(p=tmp_path) for arg in args))
    assert message == expected.format(p=tmp_path)


def _run_without(modules, script, *args):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", WITHOUT_MODULES, ",".join(modules), script,
         *args], capture_output=True, text=True, timeout=300)
    assert not _imported(result.stderr, "tensorflow"), _errors(result.stderr)
    errors = _errors(result.stderr)
    assert result.returncode == 1 and len(errors) == 1, errors
    return errors[0]


def test_srn_export_names_the_onnx_extra_when_tf2onnx_is_missing(tmp_path):
    # Both hidden, so that the message is the same whether or not the extra is installed.
    line = _run_without(["tf2onnx", "onnx"], "export", "--format=onnx",
                        f"--output={tmp_path / 'model.onnx'}")
    assert line == ("error: --format=onnx needs tf2onnx and onnx, not installed: "
                    "pip install 'srn-tf[onnx]'")


@pytest.mark.parametrize("name,module,extra", [("model.onnx", "onnxruntime", "onnx"),
                                               ("model.tflite", "ai_edge_litert", "litert")])
def test_srn_deblur_names_the_extra_that_runs_an_export_file(tmp_path, name, module, extra):
    import cv2
    import numpy as np

    (tmp_path / name).write_bytes(b"")
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "a.png"), np.zeros((32, 32, 3), np.uint8))
    line = _run_without([module], "deblur", f"--checkpoint={tmp_path / name}",
                        f"--input_path={tmp_path / 'in'}", f"--output_path={tmp_path / 'out'}")
    assert line == (f"error: {tmp_path / name}: running it needs {module}, which is not "
                    f"installed: pip install 'srn-tf[{extra}]'")


def test_srn_export_help_lists_every_format():
    result = subprocess.run([os.path.join(BIN, "srn-export"), "--help"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for flag in ("--format", "--output", "--export_dir", "--layout", "--input_dtype",
                 "--height", "--width", "--opset", "--release_name", "--license"):
        assert flag in result.stdout, flag
    assert "saved_model" in result.stdout and "litert" in result.stdout
