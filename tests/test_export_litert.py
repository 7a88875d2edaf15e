"""LiteRT export (srn-export --format=litert) against TensorFlow, run by ai-edge-litert alone.

Needs the litert extra (pip install -e '.[litert]'); selected with `-m litert`,
excluded from the default run, and failing, not skipping, when selected without
the extra. ai-edge-litert's Interpreter has no Flex delegate: a file needing
select-TF ops would fail to load there, and the ops it lists are all builtins.
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

pytestmark = pytest.mark.litert

BIN = os.path.dirname(sys.executable)
# Another runtime with other kernels (XNNPACK's convolutions, other summation orders):
# outputs agree to float32 rounding accumulated over the network, about 1e-6 here.
TOLERANCE = 1e-4
# The TFLite builtins the export's graph uses; a Flex op ("Flex...") or a custom op
# would show up here under another name.
BUILTINS = {"ADD", "CAST", "CONCATENATION", "CONV_2D", "DELEGATE", "GATHER", "MAXIMUM",
            "MINIMUM", "MUL", "RELU", "RESHAPE", "RESIZE_BILINEAR", "STRIDED_SLICE",
            "TRANSPOSE", "TRANSPOSE_CONV", "DIV"}

# Runs in a fresh interpreter that must never import srn_tf (nor TensorFlow): each
# .tflite file runs on the input of its own size; outputs and op names go to an .npz.
LITERT_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    files, inputs_path, outputs_path = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
    inputs = np.load(inputs_path)
    outputs = {}
    for path in files:
        interpreter = Interpreter(model_path=path, num_threads=2)
        interpreter.allocate_tensors()
        (tensor,), (result,) = interpreter.get_input_details(), interpreter.get_output_details()
        images = inputs[f"{tensor['shape'][1]}x{tensor['shape'][2]}"]
        if tensor["dtype"] == np.uint8:
            images = (images * 255).astype(np.uint8)
        interpreter.set_tensor(tensor["index"], images)
        interpreter.invoke()
        outputs[path] = interpreter.get_tensor(result["index"])
        ops = sorted({op["op_name"] for op in interpreter._get_ops_details()})
        outputs[path + "|ops"] = np.array(ops)
    assert "srn_tf" not in sys.modules and "tensorflow" not in sys.modules
    np.savez(outputs_path, **outputs)
""")


@pytest.fixture(scope="module")
def litert_extra():
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError as error:
        pytest.fail(f"the litert tests need the litert extra ({error}): "
                    "pip install -e '.[litert]'")


@pytest.fixture(scope="module")
def exported(litert_extra, tmp_path_factory):
    """Color and gray models, one float32 file per size (and a uint8 one) through
    `export_model`, and LiteRT's outputs."""
    from srn_tf.export import export_model

    folder = tmp_path_factory.mktemp("litert")
    rng = np.random.default_rng(0)
    inputs = {f"{h}x{w}": rng.random((1, h, w, 3), dtype=np.float32) for h, w in SIZES}
    models, files = {}, []
    for seed, model_type in enumerate(MODEL_TYPES):
        models[model_type] = small_model(model_type, seed)
        for height, width in SIZES:
            files.append(export_model(models[model_type],
                                      folder / f"{model_type}_{height}x{width}.tflite",
                                      "litert", height=height, width=width))
    files.append(export_model(models["color"], folder / "color_uint8.tflite", "litert",
                              height=35, width=51, input_dtype="uint8"))
    return folder, models, inputs, run_without_srn_tf(folder, LITERT_SCRIPT, files, inputs)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize("size", SIZES)
def test_litert_matches_tensorflow_with_builtin_ops_only(exported, model_type, size):
    folder, models, inputs, outputs = exported
    name = f"{size[0]}x{size[1]}"
    path = str(folder / f"{model_type}_{name}.tflite")
    expected = srn_tf.predict_any_size(models[model_type], inputs[name]).numpy()
    assert outputs[path].shape == expected.shape
    np.testing.assert_allclose(outputs[path], expected, atol=TOLERANCE, rtol=0)
    ops = set(outputs[path + "|ops"].tolist())
    assert ops <= BUILTINS, ops - BUILTINS
    assert "CONV_2D" in ops and "RESIZE_BILINEAR" in ops


def test_the_file_holds_its_weights(exported):
    """The unfrozen conversion wrote resource variables and no weights (~50 KB, NaN)."""
    folder, models = exported[:2]
    size = os.path.getsize(folder / "color_48x64.tflite")
    assert size > 4 * models["color"].count_params()


def test_the_uint8_file_truncates_like_the_release(exported):
    folder, models, inputs, outputs = exported
    uint8 = (inputs["35x51"] * 255).astype(np.uint8)
    result = srn_tf.predict_any_size(models["color"], uint8.astype(np.float32) / 255).numpy()
    expected = (np.clip(result, 0, 1) * 255).astype(np.uint8)
    served = outputs[str(folder / "color_uint8.tflite")]
    assert served.dtype == np.uint8
    assert np.abs(served.astype(int) - expected).max() <= 1


def test_the_runner_pads_smaller_images_and_refuses_larger_ones(exported):
    from srn_tf.checkpoints.litert_metadata import read_metadata

    folder, models = exported[:2]
    path = folder / "color_48x64.tflite"
    assert read_metadata(path.read_bytes())["model_type"] == "color"
    runner = srn_tf.load_deblur_model(str(path))
    assert (runner.height, runner.width, runner.size_multiple) == (48, 64, 16)
    image = np.random.default_rng(3).random((40, 50, 3), dtype=np.float32)
    padded = np.pad(image, [(0, 8), (0, 14), (0, 0)], mode="edge")
    expected = srn_tf.predict_any_size(models["color"], padded[None]).numpy()[0, :40, :50]
    np.testing.assert_allclose(srn_tf.deblur_image(runner, image), np.clip(expected, 0, 1),
                               atol=TOLERANCE, rtol=0)
    with pytest.raises(ValueError, match=r"takes images up to 48x64 .* this one is 49x64"):
        srn_tf.deblur_image(runner, np.zeros((49, 64, 3), np.float32))


def test_an_exported_release_checkpoint_gives_the_original_graphs_output(litert_extra,
                                                                         tmp_path):
    weights = random_release_weights("color", seed=5)
    weights = {name: value * 0.6 if value.ndim == 4 else value for name, value in weights.items()}
    prefix = write_tf1_checkpoint(weights, str(tmp_path / "checkpoint"))
    files = []
    for height, width in SIZES:
        output = tmp_path / f"release_{height}x{width}.tflite"
        result = subprocess.run(
            [os.path.join(BIN, "srn-export"), f"--checkpoint={prefix}", "--model=color",
             "--format=litert", f"--height={height}", f"--width={width}", f"--output={output}"],
            capture_output=True, text=True, timeout=300, env=ENVIRONMENT)
        assert result.returncode == 0, result.stderr[-3000:]
        files.append(output)
    rng = np.random.default_rng(1)
    inputs = {f"{h}x{w}": rng.random((1, h, w, 3), dtype=np.float32) for h, w in SIZES}
    outputs = run_without_srn_tf(tmp_path, LITERT_SCRIPT, files, inputs)
    for path, (name, images) in zip(files, inputs.items()):
        height, width = images.shape[1:3]
        padded = np.pad(images, [(0, 0), (0, -height % 16), (0, -width % 16), (0, 0)],
                        mode="edge")
        expected = release_forward(weights, padded, "color")[-1][:, :height, :width]
        np.testing.assert_allclose(outputs[str(path)], expected, atol=TOLERANCE, rtol=0)


def test_srn_deblur_runs_a_tflite_file_on_a_folder(exported, tmp_path):
    from srn_tf.data import image_io

    folder, models = exported[:2]
    (tmp_path / "in").mkdir()
    photo = (np.random.default_rng(4).random((48, 64, 3)) * 255).astype(np.uint8)
    image_io.write_image(str(tmp_path / "in" / "a.png"), photo)
    result = subprocess.run(
        [os.path.join(BIN, "srn-deblur"), f"--checkpoint={folder / 'gray_48x64.tflite'}",
         f"--input_path={tmp_path / 'in'}", f"--output_path={tmp_path / 'out'}", "--gpu=-1"],
        capture_output=True, text=True, timeout=300, env=ENVIRONMENT)
    assert result.returncode == 0, result.stderr[-3000:]
    written = image_io.read_image(str(tmp_path / "out" / "a.png"))
    assert np.abs(written.astype(int) - srn_tf.deblur_image(models["gray"], photo)).max() <= 1
