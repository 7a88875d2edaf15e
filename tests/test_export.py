"""srn-export and export_saved_model: a SavedModel that serves any size with TF alone."""

import os
import re
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import srn_tf
from srn_tf.export.saved_model import export_saved_model
from srn_tf.checkpoints.model_folder import read_model_config

SIZES = ((37, 61), (48, 64))
MODEL_TYPES = ("color", "gray")
# Same weights, same ops, same CPU kernels; only the graph differs (padding in
# the graph vs eager), so outputs agree to float32 rounding.
TOLERANCE = 1e-5

# Runs in a fresh interpreter that must never import srn_tf: it loads each export
# with plain TensorFlow and writes every signature's outputs to an .npz file.
PLAIN_TF_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf

    exports, inputs_path, outputs_path = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
    inputs = np.load(inputs_path)
    outputs = {}
    for export in exports:
        loaded = tf.saved_model.load(export)
        assert set(loaded.signatures) == {"serving_default", "serving_uint8", "levels"}
        for size_name in inputs.files:
            images = inputs[size_name]
            key = f"{export}|{size_name}"
            outputs[key + "|float"] = loaded.signatures["serving_default"](
                images=tf.constant(images))["deblurred"].numpy()
            uint8 = (images * 255).astype(np.uint8)
            outputs[key + "|uint8"] = loaded.signatures["serving_uint8"](
                images=tf.constant(uint8))["deblurred"].numpy()
            for name, level in loaded.signatures["levels"](images=tf.constant(images)).items():
                outputs[f"{key}|{name}"] = level.numpy()
    assert "srn_tf" not in sys.modules, "the export needed srn_tf"
    np.savez(outputs_path, **outputs)
""")


def small_model(model_type, seed):
    keras.utils.set_random_seed(seed)
    return srn_tf.build_model(model_type, base_filters=4, blocks_per_stage=1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Color and gray models, their exports, and plain-TF outputs of every signature."""
    folder = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    inputs = {f"{h}x{w}": rng.random((2, h, w, 3), dtype=np.float32) for h, w in SIZES}
    np.savez(folder / "inputs.npz", **inputs)
    models = {}
    for seed, model_type in enumerate(MODEL_TYPES):
        models[model_type] = small_model(model_type, seed)
        export_saved_model(models[model_type], folder / model_type)
    exports = ",".join(str(folder / model_type) for model_type in MODEL_TYPES)
    script = folder / "serve.py"
    script.write_text(PLAIN_TF_SCRIPT)
    # Run from the export folder so that the srn_tf checkout is not on sys.path.
    result = subprocess.run(
        [sys.executable, str(script), exports, str(folder / "inputs.npz"),
         str(folder / "outputs.npz")],
        cwd=folder, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, models, inputs, dict(np.load(folder / "outputs.npz"))


@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize("size", SIZES)
def test_serving_default_in_plain_tf_matches_the_keras_model(exported, model_type, size):
    folder, models, inputs, outputs = exported
    name = f"{size[0]}x{size[1]}"
    expected = srn_tf.predict_any_size(models[model_type], inputs[name]).numpy()
    served = outputs[f"{folder / model_type}|{name}|float"]
    assert served.shape == inputs[name].shape
    np.testing.assert_allclose(served, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_levels_signature_returns_every_level_coarse_to_fine(exported, model_type):
    folder, models, inputs, outputs = exported
    name = "37x61"
    expected = srn_tf.predict_levels_any_size(models[model_type], inputs[name])
    assert [tuple(level.shape) for level in expected] == [(2, 9, 15, 3), (2, 19, 31, 3),
                                                          (2, 37, 61, 3)]
    for i, level in enumerate(expected):
        np.testing.assert_allclose(outputs[f"{folder / model_type}|{name}|level_{i}"],
                                   level.numpy(), atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_serving_uint8_truncates_like_the_release(exported, model_type):
    folder, models, inputs, outputs = exported
    name = "48x64"
    uint8 = (inputs[name] * 255).astype(np.uint8)
    result = srn_tf.predict_any_size(models[model_type], uint8.astype(np.float32) / 255).numpy()
    expected = (np.clip(result, 0, 1) * 255).astype(np.uint8)
    served = outputs[f"{folder / model_type}|{name}|uint8"]
    assert served.dtype == np.uint8
    # A value within float32 rounding of an integer boundary may truncate either way.
    assert np.abs(served.astype(int) - expected).max() <= 1
    assert np.mean(served == expected) > 0.999


def test_export_refuses_to_overwrite_unless_asked(exported, tmp_path):
    folder, models = exported[:2]
    target = tmp_path / "export"
    shutil.copytree(folder / "color", target)
    with pytest.raises(FileExistsError, match="already exists"):
        export_saved_model(models["gray"], target)
    assert read_model_config(target)["model_type"] == "color"
    export_saved_model(models["gray"], target, overwrite=True)
    assert read_model_config(target)["model_type"] == "gray"
    assert sorted(os.listdir(tmp_path)) == ["export"], "temporary folders left behind"


def test_export_refuses_images_smaller_than_16_in_the_eager_checks_words(exported):
    from srn_tf.models.padding import too_small_message

    folder = exported[0]
    loaded = tf.saved_model.load(str(folder / "color"))
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(too_small_message(16))):
        loaded.signatures["serving_default"](images=tf.zeros([1, 12, 40, 3]))


def test_srn_export_script_exports_and_refuses_an_existing_folder(tmp_path):
    srn_tf.save_model(small_model("gray", 3), tmp_path / "checkpoint")
    command = [os.path.join(os.path.dirname(sys.executable), "srn-export"),
               f"--checkpoint={tmp_path / 'checkpoint'}", f"--export_dir={tmp_path / 'export'}"]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
    assert first.returncode == 0, first.stderr[-3000:]
    assert (tmp_path / "export" / "saved_model.pb").is_file()
    second = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'export'}: already exists (pass --overwrite to replace it)")


def test_srn_export_without_a_checkpoint_exports_the_bundled_model_and_its_preset(tmp_path):
    from srn_tf.models.presets import default_model_path

    # --output (the flag of every format) names the SavedModel's folder as --export_dir does.
    command = [os.path.join(os.path.dirname(sys.executable), "srn-export"),
               f"--output={tmp_path / 'export'}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "holds the network alone" in result.stdout
    bundled = read_model_config(default_model_path())
    exported = read_model_config(tmp_path / "export")
    assert exported["model"] == bundled["model"]
    assert exported["inference"] == bundled["inference"]
    # srn-deblur given the export runs the bundled model's post-processing around it.
    runner = srn_tf.load_deblur_model(str(tmp_path / "export"))
    assert runner.inference_options == srn_tf.load_model("default").inference_options
    assert runner.size_multiple == 16
