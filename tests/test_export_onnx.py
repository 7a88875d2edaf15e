"""ONNX export (srn-export --format=onnx) against TensorFlow, run by onnxruntime alone.

Needs the onnx extra (pip install -e '.[onnx]'); selected with `-m onnx`, excluded
from the default run, and failing, not skipping, when selected without the extra.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import srn_tf
from tests.export_support import (ENVIRONMENT, MODEL_TYPES, SIZES, run_without_srn_tf,
                                  small_model)
from tests.tf1_reference import random_release_weights, release_forward, write_tf1_checkpoint

pytestmark = pytest.mark.onnx

BIN = os.path.dirname(sys.executable)
# Another runtime with other kernels (onnxruntime's MLAS convolutions, other summation
# orders): outputs agree to float32 rounding accumulated over the network's ~50 layers,
# about 1e-6 here. 1e-4 (docs/export.md) is what an application that loads the file
# needs: a fortieth of an 8-bit level, so the export writes the Keras model's 8-bit
# image but for a value at a rounding boundary, with 100 times the rounding as room.
TOLERANCE = 1e-4

# Runs in a fresh interpreter that must never import srn_tf (nor TensorFlow): each
# .onnx file given runs on every input array of inputs.npz; outputs go to an .npz.
ONNXRUNTIME_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import onnxruntime

    files, inputs_path, outputs_path = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
    inputs = np.load(inputs_path)
    outputs = {}
    for path in files:
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        (tensor,) = session.get_inputs()
        for name in inputs.files:
            images = inputs[name]
            if tensor.type == "tensor(uint8)":
                images = (images * 255).astype(np.uint8)
            if tensor.shape[1] == 3:  # NCHW
                images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
            outputs[f"{path}|{name}"] = session.run(["deblurred"], {"images": images})[0]
        outputs[f"{path}|metadata"] = np.array(repr(session.get_modelmeta().custom_metadata_map))
    assert "srn_tf" not in sys.modules and "tensorflow" not in sys.modules
    np.savez(outputs_path, **outputs)
""")


@pytest.fixture(scope="module")
def exported(onnx_extra, tmp_path_factory):
    """Color and gray models, their exports (NHWC, NCHW, uint8) through `export_model`, and
    onnxruntime's outputs."""
    from srn_tf.export import export_model

    folder = tmp_path_factory.mktemp("onnx")
    rng = np.random.default_rng(0)
    inputs = {f"{h}x{w}": rng.random((2, h, w, 3), dtype=np.float32) for h, w in SIZES}
    models, files = {}, []
    for seed, model_type in enumerate(MODEL_TYPES):
        models[model_type] = small_model(model_type, seed)
        for layout, input_dtype in (("nhwc", "float32"), ("nchw", "float32"),
                                    ("nhwc", "uint8")):
            path = folder / f"{model_type}_{layout}_{input_dtype}.onnx"
            files.append(export_model(models[model_type], path, "onnx", layout=layout,
                                      input_dtype=input_dtype,
                                      metadata={"preset": "", "release_name": "test weights",
                                                "license": "MIT"}))
    return folder, models, inputs, run_without_srn_tf(folder, ONNXRUNTIME_SCRIPT, files, inputs)


@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize("size", SIZES)
def test_onnxruntime_matches_tensorflow_at_any_size(exported, layout, model_type, size):
    folder, models, inputs, outputs = exported
    name = f"{size[0]}x{size[1]}"
    expected = srn_tf.predict_any_size(models[model_type], inputs[name]).numpy()
    served = outputs[f"{folder / f'{model_type}_{layout}_float32.onnx'}|{name}"]
    if layout == "nchw":
        assert served.shape == (2, 3, *size)
        served = served.transpose(0, 2, 3, 1)
    assert served.dtype == np.float32 and served.shape == expected.shape
    np.testing.assert_allclose(served, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_the_uint8_file_truncates_like_the_release(exported, model_type):
    folder, models, inputs, outputs = exported
    uint8 = (inputs["35x51"] * 255).astype(np.uint8)
    result = srn_tf.predict_any_size(models[model_type], uint8.astype(np.float32) / 255).numpy()
    expected = (np.clip(result, 0, 1) * 255).astype(np.uint8)
    served = outputs[f"{folder / f'{model_type}_nhwc_uint8.onnx'}|35x51"]
    assert served.dtype == np.uint8
    # A value within float32 rounding of an integer boundary may truncate either way.
    assert np.abs(served.astype(int) - expected).max() <= 1
    assert np.mean(served == expected) > 0.999


def test_the_file_carries_its_metadata_opset_and_dynamic_axes(exported):
    import onnx

    folder, models = exported[:2]
    path = folder / "gray_nchw_float32.onnx"
    proto = onnx.load(str(path))
    opsets = [entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")]
    assert max(opsets) >= 17
    (images,), (deblurred,) = proto.graph.input, proto.graph.output
    dims = [dim.dim_param or dim.dim_value for dim in images.type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]
    assert deblurred.name == "deblurred"
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    assert {key: metadata[key] for key in ("model_type", "preset", "release_name", "license",
                                            "layout", "input_dtype")} == {
        "model_type": "gray", "preset": "", "release_name": "test weights", "license": "MIT",
        "layout": "nchw", "input_dtype": "float32"}
    # srn_tf reads it back: architecture (size multiple) and post-processing defaults.
    runner = srn_tf.load_deblur_model(str(path))
    assert runner.size_multiple == 16 and runner.layout == "nchw"
    assert runner.inference_options == srn_tf.InferenceOptions()


def test_export_refuses_to_overwrite_and_leaves_no_temporary_file(exported, tmp_path):
    from srn_tf.export.onnx_file import export_onnx

    models = exported[1]
    target = tmp_path / "model.onnx"
    target.write_bytes(b"keep")
    # Only an ONNX file srn-export wrote is ever replaced; b"keep" is not one.
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="not an srn-export output; refusing"):
            export_onnx(models["color"], target, overwrite=overwrite)
    assert target.read_bytes() == b"keep"
    with pytest.raises(ValueError, match="opset must be at least 17"):
        export_onnx(models["color"], target, overwrite=True, opset=13)
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]


@pytest.fixture(scope="module")
def release_checkpoint(onnx_extra, tmp_path_factory):
    """A TF1 checkpoint of the release's color network (tests/tf1_reference.py)."""
    weights = random_release_weights("color", seed=5)
    weights = {name: value * 0.6 if value.ndim == 4 else value for name, value in weights.items()}
    folder = tmp_path_factory.mktemp("release")
    return folder, weights, write_tf1_checkpoint(weights, str(folder / "checkpoint"))


def test_an_exported_release_checkpoint_gives_the_original_graphs_output(release_checkpoint):
    folder, weights, prefix = release_checkpoint
    output = folder / "release.onnx"
    result = subprocess.run(
        [os.path.join(BIN, "srn-export"), f"--checkpoint={prefix}", "--model=color",
         "--format=onnx", f"--output={output}"],
        capture_output=True, text=True, timeout=300, env=ENVIRONMENT)
    assert result.returncode == 0, result.stderr[-3000:]
    rng = np.random.default_rng(1)
    inputs = {f"{h}x{w}": rng.random((1, h, w, 3), dtype=np.float32) for h, w in SIZES}
    outputs = run_without_srn_tf(folder, ONNXRUNTIME_SCRIPT, [output], inputs)
    assert "SRN-DeblurNet release checkpoint" in str(outputs[f"{output}|metadata"])
    for name, images in inputs.items():
        height, width = images.shape[1:3]
        # The release pads with np.pad(..., "edge") at the bottom and right, then crops.
        padded = np.pad(images, [(0, 0), (0, -height % 16), (0, -width % 16), (0, 0)],
                        mode="edge")
        expected = release_forward(weights, padded, "color")[-1][:, :height, :width]
        np.testing.assert_allclose(outputs[f"{output}|{name}"], expected, atol=TOLERANCE,
                                   rtol=0)


def test_srn_deblur_runs_an_onnx_file_on_a_folder(exported, tmp_path):
    from srn_tf.data import image_io

    folder, models = exported[:2]
    images = tmp_path / "blurred"
    (images / "nested").mkdir(parents=True)
    rng = np.random.default_rng(2)
    photos = {"a.png": (rng.random((70, 102, 3)) * 255).astype(np.uint8),
              "nested/b.png": (rng.random((96, 128, 3)) * 65535).astype(np.uint16)}
    for name, photo in photos.items():
        image_io.write_image(str(images / name), photo)
    (images / "broken.png").write_bytes(b"not a png")
    onnx_file = folder / "color_nchw_float32.onnx"
    result = subprocess.run(
        [os.path.join(BIN, "srn-deblur"), f"--checkpoint={onnx_file}", f"--input_path={images}",
         f"--output_path={tmp_path / 'out'}", "--tile=64", "--tile_overlap=16", "--gpu=-1"],
        capture_output=True, text=True, timeout=300, env=ENVIRONMENT)
    assert result.returncode == 1, result.stderr  # one file of three failed
    assert "failed: " in result.stdout and "broken.png" in result.stdout, result.stdout
    assert "done 2," in result.stdout, result.stdout
    for name, photo in photos.items():
        written = image_io.read_image(str(tmp_path / "out" / name))
        expected = srn_tf.deblur_image(models["color"], photo, tile=64, tile_overlap=16)
        assert written.dtype == photo.dtype and written.shape == photo.shape
        # The same tiles through another runtime: float32 outputs agree to ~1e-6, so
        # 8-bit outputs to one level (truncation at a boundary); 16-bit ones to two, as
        # the tiled plan keeps the network's output in uint16 steps of 1.5 levels.
        tolerance = 1 if photo.dtype == np.uint8 else 2
        assert np.abs(written.astype(int) - expected.astype(int)).max() <= tolerance


def test_srn_deblur_refuses_a_broken_onnx_file_in_one_line(onnx_extra, tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx file")
    (tmp_path / "in").mkdir()
    from srn_tf.data import image_io

    image_io.write_image(str(tmp_path / "in" / "a.png"), np.zeros((32, 32, 3), np.uint8))
    result = subprocess.run(
        [os.path.join(BIN, "srn-deblur"), f"--checkpoint={broken}",
         f"--input_path={tmp_path / 'in'}", f"--output_path={tmp_path / 'out'}", "--gpu=-1"],
        capture_output=True, text=True, timeout=300,
        # TF_CPP_MIN_LOG_LEVEL unset, as for most users: srn-deblur quiets TensorFlow.
        env={key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"})
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {broken}: not an ONNX model"), line
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")

