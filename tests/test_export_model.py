"""srn_tf.export.export_model: one call for every format, refusing arguments a format does
not take before it writes anything. The ONNX and LiteRT files it writes are checked
against their runtimes in test_export_onnx.py and test_export_litert.py (their extras'
markers), whose fixtures export through it."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from srn_tf.checkpoints.model_folder import read_model_config
from srn_tf.export import FORMATS, export_model
from srn_tf.export import formats
from tests.export_support import small_model


@pytest.fixture(scope="module")
def model():
    return small_model("color", 0)


def test_every_format_is_one_call_and_a_saved_model_is_the_default(model, tmp_path):
    assert FORMATS == ("saved_model", "onnx", "litert", "keras")
    path = export_model(model, tmp_path / "exported")
    assert path == str(tmp_path / "exported")
    assert (tmp_path / "exported" / "saved_model.pb").is_file()
    assert read_model_config(path)["model"] == model.architecture()


def test_a_keras_file_reloads_with_the_same_weights(model, tmp_path):
    path = export_model(model, tmp_path / "model.keras", "keras")
    reloaded = keras.saving.load_model(path)
    for saved, original in zip(reloaded.weights, model.weights):
        # The same float32 values written and read back: equal bit for bit.
        np.testing.assert_array_equal(saved.numpy(), original.numpy())


@pytest.mark.parametrize("format,arguments,expected", [
    ("tiff", {}, "format must be one of"),
    ("saved_model", {"layout": "nchw"}, "layout does not apply to format='saved_model'"),
    ("keras", {"input_dtype": "uint8"}, "input_dtype does not apply to format='keras'"),
    ("onnx", {"height": 64}, "height does not apply to format='onnx'"),
    ("litert", {"opset": 18, "height": 64, "width": 64},
     "opset does not apply to format='litert'"),
    ("litert", {"height": 64}, "give height and width"),
    ("onnx", {}, "model.bin: must be a .onnx file"),
])
def test_an_argument_the_format_does_not_take_is_refused_before_writing(tmp_path, format,
                                                                        arguments, expected):
    # The model is never reached: the arguments are checked first.
    target = tmp_path / ("model.tflite" if format == "litert" else "model.bin")
    with pytest.raises(ValueError, match=expected):
        export_model(None, target, format, **arguments)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_extra_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(formats.importlib.util, "find_spec",
                        lambda name: None if name == "tf2onnx" else object())
    with pytest.raises(ImportError, match=r"needs tf2onnx, not installed: pip install "
                                          r"'srn-tf\[onnx\]'"):
        export_model(None, tmp_path / "model.onnx", "onnx")
    assert list(tmp_path.iterdir()) == []


def test_the_format_table_loads_no_tensorflow():
    # srn-export checks its flags against these rules before TensorFlow loads.
    code = ("import sys, srn_tf.export.formats; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
