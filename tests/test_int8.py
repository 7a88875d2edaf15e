"""precision="int8": the network quantized by onnxruntime, cached per model, refused in one line.

The tests that quantize need the onnx extra (pip install -e '.[onnx]') and carry the
`onnx` marker (selected with `-m onnx`, failing without the extra); the refusals
without the extra and of bad combinations run in the default suite.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

BIN = os.path.dirname(sys.executable)
# Hides onnxruntime from a console script (`import onnxruntime` fails, find_spec finds
# nothing) and makes any TensorFlow import fail, so a refusal shows it came first.
HIDE_ONNXRUNTIME = "import sys\nsys.modules['onnxruntime'] = None\n"


def _small_model(model_type, seed=0):
    """A small `model_type` network with seeded random weights, its output layer random
    too (zero-initialised, the network would return its input: nothing to quantize)."""
    import keras

    import srn_tf

    keras.utils.set_random_seed(seed)
    return srn_tf.build_model(model_type, base_filters=4, blocks_per_stage=1,
                              zero_init_output=False)


def _photo():
    """A 96x128 crop of scikit-image's astronaut, uint8 RGB."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[100:196, 100:228])


def _run_refused(script, *args, hide_onnxruntime=False, tmp_path=None):
    """Runs `script` under `python -X importtime`; returns its one error line after
    checking it failed with status 1 before TensorFlow was imported."""
    env = dict(os.environ)
    if hide_onnxruntime:
        (tmp_path / "sitecustomize.py").write_text(HIDE_ONNXRUNTIME)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path),
                                                          env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-X", "importtime", os.path.join(BIN, script),
                             *args], capture_output=True, text=True, timeout=300, env=env)
    errors = [line for line in result.stderr.splitlines()
              if not line.startswith("import time:")]
    assert result.returncode == 1, result.stdout + "\n".join(errors)
    assert not any(re.search(r"\|\s+tensorflow$", line) for line in result.stderr.splitlines())
    assert len(errors) == 1 and errors[0].startswith("error: "), errors
    return errors[0]


@pytest.fixture()
def images(tmp_path):
    import cv2

    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((32, 32, 3), np.uint8))
    return tmp_path / "images"


@pytest.mark.parametrize("script,args", [
    ("srn-deblur", ["--input_path={images}", "--output_path={tmp}/out"]),
    ("srn-batch", ["--input_pattern={images}", "--output_path={tmp}/out"]),
    # srn-serve refuses for its own extra first: this case needs it, and runs in the
    # serve extra's step (marker serve), skipped, saying so, in a run without it.
    pytest.param("srn-serve", [], marks=pytest.mark.serve),
])
def test_int8_without_the_extra_is_refused_naming_the_pip_command(images, tmp_path, script,
                                                                  args):
    if script == "srn-serve":
        from srn_tf.serve import missing_dependencies

        if missing_dependencies():
            pytest.skip("srn-serve's extra is not installed: pip install 'srn-tf[serve]'")
    line = _run_refused(script, "--precision=int8",
                        *(arg.format(images=images, tmp=tmp_path) for arg in args),
                        hide_onnxruntime=True, tmp_path=tmp_path)
    assert "--precision=int8: precision int8 needs onnxruntime" in line, line
    assert "pip install 'srn-tf[onnx]'" in line, line
    assert not (tmp_path / "out").exists()


def test_the_library_names_the_pip_command_without_the_extra(monkeypatch):
    from srn_tf.inference.int8 import missing_modules_message
    from srn_tf.inference.int8.quantize import Int8Refused, quantized_network_path

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert "pip install 'srn-tf[onnx]'" in missing_modules_message()
    with pytest.raises(Int8Refused, match=r"needs onnxruntime.*pip install 'srn-tf\[onnx\]'"):
        quantized_network_path(model=None)  # refused before the model is looked at


@pytest.mark.parametrize("extension", [".onnx", ".tflite"])
def test_int8_of_an_export_is_refused_in_one_line(images, tmp_path, extension):
    export = tmp_path / f"model{extension}"
    export.write_bytes(b"an export")
    line = _run_refused("srn-deblur", "--precision=int8", f"--checkpoint={export}",
                        f"--input_path={images}", f"--output_path={tmp_path / 'out'}")
    assert line == (f"error: --precision=int8: {export} is an export, which runs in float32 "
                    "only (give --precision=auto or float32, or the srn_tf model it was "
                    "exported from)")


def test_deblur_image_refuses_int8_for_an_export():
    from srn_tf import deblur_image

    class Exported:
        """Stands for a runner of an export file: a callable with its attributes."""
        channels, size_multiple = 3, 16

        def __call__(self, images):
            return images

    with pytest.raises(ValueError, match="precision='int8' needs an srn_tf model; Exported "
                                         "runs as it was exported"):
        deblur_image(Exported(), np.zeros((32, 32, 3), np.uint8), precision="int8")


@pytest.fixture(scope="module")
def quantized(onnx_extra, tmp_path_factory):
    """Color and gray small models quantized once into a cache folder, with their int8
    and float32 outputs on a photograph."""
    from srn_tf import deblur_image, quality_options
    from srn_tf.inference.int8.quantize import int8_network

    folder = tmp_path_factory.mktemp("int8_cache")
    results = {}
    for model_type in ("color", "gray"):
        model = _small_model(model_type)
        int8_network(model, folder)  # quantized here, once
        outputs = {precision: deblur_image(model, _photo(), quality_options("network"),
                                           precision=precision)
                   for precision in ("int8", "float32")}
        results[model_type] = model, outputs
    return folder, results


@pytest.mark.onnx
@pytest.mark.parametrize("model_type", ["color", "gray"])
def test_int8_is_close_to_float32(quantized, model_type):
    from srn_tf import psnr

    _, outputs = quantized[1][model_type]
    assert outputs["int8"].dtype == np.uint8 and outputs["int8"].shape == _photo().shape
    # Each activation is rounded to 1/255 of its tensor's calibrated range, and the
    # rounding adds up over the network's layers: 43-45 dB from float32 measured on
    # these random networks. 38 dB leaves room for other CPUs' kernels; a wrong scale
    # or a swapped layout gives under 20 dB. Not equal either: it is int8 arithmetic.
    distance = psnr(outputs["int8"], outputs["float32"])
    assert 38.0 < distance < np.inf, distance


@pytest.mark.onnx
def test_the_cache_is_reused_and_a_changed_model_gets_its_own_entry(quantized, monkeypatch):
    from srn_tf.inference.int8 import quantize

    folder, results = quantized
    files = sorted(folder.glob("*.onnx"))
    assert len(files) == 2 and len(list(folder.glob("*.json"))) == 2  # color and gray
    stamps = {path: path.stat().st_mtime_ns for path in files}

    def no_quantizing(*_):
        raise AssertionError("quantized again")

    monkeypatch.setattr(quantize, "quantize_network", no_quantizing)
    model = _small_model("color")  # a new object, the same weights: read from the cache
    network = quantize.int8_network(model, folder)
    assert network.path in map(str, files)
    assert {path: path.stat().st_mtime_ns for path in files} == stamps
    monkeypatch.undo()

    weight = model.weights[0]
    weight.assign(weight.numpy() * 1.01)
    changed = quantize.int8_network(model, folder)
    assert changed.path not in map(str, files)
    assert len(list(folder.glob("*.onnx"))) == 3


@pytest.mark.onnx
def test_a_model_that_fails_the_check_is_refused_and_stays_refused(onnx_extra, tmp_path,
                                                                   monkeypatch):
    from srn_tf.inference.int8 import quantize

    figures = {"blurred_psnr": 20.0, "float32_psnr": 25.0, "int8_psnr": 24.5,
               "offered": False}
    monkeypatch.setattr(quantize, "check_gain", lambda model, network: dict(figures))
    model = _small_model("color", seed=1)
    with pytest.raises(quantize.Int8Refused) as refusal:
        quantize.int8_network(model, tmp_path)
    assert str(refusal.value) == (
        "precision int8 is not offered for this model: quantized, it deblurs the check "
        "images 0.50 dB worse than float32 (at most 0.1 dB allowed); use --precision=auto "
        "or float32")
    assert not list(tmp_path.glob("*.onnx")) and len(list(tmp_path.glob("*.json"))) == 1
    monkeypatch.setattr(quantize, "quantize_network", lambda *_: pytest.fail("quantized again"))
    with pytest.raises(quantize.Int8Refused, match="not offered for this model"):
        quantize.int8_network(model, tmp_path)


@pytest.mark.onnx
def test_srn_deblur_says_it_quantizes_once_then_reads_the_cache(onnx_extra, tmp_path):
    import cv2

    from srn_tf import save_model

    save_model(_small_model("color", seed=2), str(tmp_path / "model"))
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "a.png"), _photo()[..., ::-1])
    env = {**os.environ, "SRN_TF_INT8_CACHE": str(tmp_path / "cache"),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    runs = []
    for output in ("first", "second"):
        runs.append(subprocess.run(
            [os.path.join(BIN, "srn-deblur"), f"--checkpoint={tmp_path / 'model'}",
             "--precision=int8", f"--input_path={tmp_path / 'in'}",
             f"--output_path={tmp_path / output}", "--gpu=-1"],
            capture_output=True, text=True, timeout=300, env=env))
        assert runs[-1].returncode == 0, runs[-1].stderr
        assert (tmp_path / output / "a.png").is_file()
    cache = tmp_path / "cache"
    assert f"precision int8 (onnxruntime; quantized on the first run for a model, then read " \
           f"from {cache})" in runs[0].stdout
    assert "quantizing the network to int8 for this model, once" in runs[0].stderr
    assert "quantizing" not in runs[1].stderr


def _run_onnx(model, feed):
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, feed)[0]


@pytest.mark.onnx
@pytest.mark.parametrize("kernel", [2, 4, 6])
def test_a_stride_2_transposed_convolution_becomes_an_equal_subpixel_convolution(onnx_extra,
                                                                                 kernel):
    from onnx import TensorProto, helper, numpy_helper

    from srn_tf.inference.int8.subpixel import rewrite_transposed_convolutions

    rng = np.random.default_rng(kernel)
    weights = rng.standard_normal((3, 5, kernel, kernel)).astype(np.float32)
    bias = rng.standard_normal(5).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2],
                          kernel_shape=[kernel, kernel])], "upsample",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, None, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    feed = {"x": rng.standard_normal((2, 3, 7, 9)).astype(np.float32)}
    before = _run_onnx(model, feed)

    assert rewrite_transposed_convolutions(model) == 1
    assert [node.op_type for node in model.graph.node] == ["Conv", "DepthToSpace"]
    after = _run_onnx(model, feed)
    # Same products summed in another order: float32 rounding of sums of about
    # 3 * (kernel / 2) ** 2 terms of size ~1 (outputs up to ~10) stays below 1e-5.
    assert after.shape == before.shape == (2, 5, 2 * 6 + kernel, 2 * 8 + kernel)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-5)


@pytest.mark.onnx
def test_the_network_graph_computes_the_same_after_the_subpixel_rewrite(onnx_extra):
    from srn_tf.inference.int8.quantize import network_function
    from srn_tf.inference.int8.subpixel import rewrite_transposed_convolutions
    from srn_tf.inference.onnx_graph import convert_to_onnx

    model = _small_model("color")
    proto = convert_to_onnx(network_function(model), 17)
    feed = {proto.graph.input[0].name: (_photo()[:64, :96] / 255.0)[None].astype(np.float32)}
    before = _run_onnx(proto, feed)
    upsamplings = sum(node.op_type == "ConvTranspose" for node in proto.graph.node)

    assert upsamplings > 0 and rewrite_transposed_convolutions(proto) == upsamplings
    assert not any(node.op_type == "ConvTranspose" for node in proto.graph.node)
    # Exact arithmetic but for float32's summation order: outputs in [0, 1] agree
    # within 1e-5 (an off-by-one tap or a swapped phase moves them by 1e-2 or more).
    np.testing.assert_allclose(_run_onnx(proto, feed), before, rtol=0, atol=1e-5)
