"""Checkpoint folders of this project, TF1 checkpoint errors, and srn-convert."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import srn_tf
from srn_tf.checkpoints.model_folder import read_model_config, save_model_folder
from tests import tf1_reference


@pytest.fixture(scope="module")
def gray_tf1_checkpoint(tmp_path_factory):
    weights = tf1_reference.random_release_weights("gray", seed=5)
    return tf1_reference.write_tf1_checkpoint(weights, tmp_path_factory.mktemp("release"))


def test_save_and_load_round_trip_restores_the_same_model(tmp_path):
    model = srn_tf.build_model("lstm", base_filters=4, blocks_per_stage=1)
    srn_tf.save_model(model, tmp_path / "saved")
    restored = srn_tf.load_model(tmp_path / "saved")
    assert restored.architecture() == model.architecture()
    image = tf.random.uniform((1, 32, 32, 1))
    np.testing.assert_array_equal(restored(image)[-1].numpy(), model(image)[-1].numpy())


def test_checkpoint_holds_every_weight_of_the_model(tmp_path):
    """Keras 3 does not checkpoint layers kept in lists; the model must not use any."""
    model = srn_tf.build_model("lstm", base_filters=4, blocks_per_stage=2)
    prefix = srn_tf.save_model(model, tmp_path)
    stored = [name for name, _ in tf.train.list_variables(prefix) if name.startswith("model/")]
    assert len(stored) == len(model.weights)


def test_load_model_rebuilds_the_architecture_from_the_path_alone(tmp_path):
    model = srn_tf.build_model("color", base_filters=8, blocks_per_stage=2,
                               residual_output=True)
    srn_tf.save_model(model, tmp_path)
    restored = srn_tf.load_model(tmp_path)
    assert (restored.base_filters, restored.blocks_per_stage, restored.residual_output) == (
        8, 2, True)
    assert srn_tf.model_type_of(restored) == "color"



def test_float16_weights_load_as_the_rounded_float32_weights(tmp_path):
    model = srn_tf.build_model("color", base_filters=4, blocks_per_stage=1,
                               residual_output=True)
    prefix = srn_tf.save_model(model, tmp_path / "half", weights_dtype="float16")
    stored = dict(tf.train.list_variables(prefix))
    dtypes = {tf.train.load_variable(prefix, name).dtype for name in stored
              if name.startswith("model/")}
    assert dtypes == {np.dtype("float16")}
    restored = srn_tf.load_model(tmp_path / "half")
    assert {weight.dtype for weight in restored.weights} == {"float32"}
    for original, loaded in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(
            loaded.numpy(), original.numpy().astype(np.float16).astype(np.float32))
    # Rounding to 11 significant bits (2^-11 ~ 5e-4 relative) moves outputs of this
    # small net by far less than 1e-2, but it does move them: the check can fail.
    image = tf.random.uniform((1, 32, 32, 3), seed=1)
    difference = np.abs(restored(image)[-1].numpy() - model(image)[-1].numpy()).max()
    assert 0 < difference < 1e-2


def test_unknown_weights_dtype_is_refused(tmp_path):
    model = srn_tf.build_model("gray", base_filters=4, blocks_per_stage=1)
    with pytest.raises(ValueError, match="weights_dtype must be one of"):
        srn_tf.save_model(model, tmp_path, weights_dtype="int8")

def test_save_refuses_to_overwrite_without_being_asked(tmp_path):
    model = srn_tf.build_model("gray", base_filters=4, blocks_per_stage=1)
    srn_tf.save_model(model, tmp_path)
    with pytest.raises(FileExistsError, match="already holds a checkpoint"):
        srn_tf.save_model(model, tmp_path)
    srn_tf.save_model(model, tmp_path, overwrite=True)


def test_save_model_folder_replaces_the_folder_through_a_staging_name(tmp_path):
    old = srn_tf.build_model("gray", base_filters=4, blocks_per_stage=1)
    srn_tf.save_model(old, tmp_path / "bundle")
    new = srn_tf.build_model("color", base_filters=4, blocks_per_stage=1)
    assert save_model_folder(new, tmp_path / "bundle", weights_dtype="float16") == \
        str(tmp_path / "bundle")
    restored = srn_tf.load_model(tmp_path / "bundle")
    assert restored.architecture() == new.architecture()
    assert sorted(os.listdir(tmp_path)) == ["bundle"]  # no staging folder left


def test_loading_a_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        srn_tf.load_model(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="no such TF1 checkpoint"):
        srn_tf.load_tf1_checkpoint(srn_tf.build_model("gray"), tmp_path / "absent")


def test_load_model_on_a_tf1_checkpoint_says_how_to_load_it(gray_tf1_checkpoint):
    folder = os.path.dirname(gray_tf1_checkpoint)
    with pytest.raises(ValueError, match="is an original TF1 checkpoint"):
        srn_tf.load_model(folder)


def test_tf1_checkpoint_of_another_model_type_names_every_problem(gray_tf1_checkpoint):
    with pytest.raises(ValueError) as error:
        srn_tf.load_tf1_checkpoint(srn_tf.build_model("lstm"), gray_tf1_checkpoint)
    message = str(error.value)
    assert "looks like model type 'gray'" in message
    assert "missing g_net/convLSTM/LSTM_conv/weights" in message
    assert "missing g_net/convLSTM/LSTM_conv/biases" in message


def test_tf1_checkpoint_with_an_extra_variable_is_refused(tmp_path):
    weights = tf1_reference.random_release_weights("color", seed=6)
    weights["g_net/enc1_5/conv1/weights"] = np.zeros((5, 5, 32, 32), np.float32)
    prefix = tf1_reference.write_tf1_checkpoint(weights, tmp_path, with_optimizer=False)
    with pytest.raises(ValueError, match="unexpected g_net/enc1_5/conv1/weights"):
        srn_tf.load_tf1_checkpoint(srn_tf.build_model("color"), prefix)


def test_tf1_checkpoint_loads_from_the_release_folder_layout(tmp_path):
    """checkpoints/<model>/ holds its files in checkpoints/, as the release ships them."""
    weights = tf1_reference.random_release_weights("gray", seed=7)
    tf1_reference.write_tf1_checkpoint(weights, tmp_path / "gray" / "checkpoints")
    model = srn_tf.build_model("gray")
    prefix = srn_tf.load_tf1_checkpoint(model, tmp_path / "gray")
    assert prefix.endswith("deblur.model-523000")
    np.testing.assert_array_equal(model.output_block.conv.bias.numpy(),
                                  weights["g_net/dec1_0/biases"])


def run_convert(*args):
    return subprocess.run([sys.executable, "-m", "srn_tf.cli.convert", *args],
                          capture_output=True, text=True, timeout=300)


def test_srn_convert_writes_a_folder_load_model_reads(gray_tf1_checkpoint, tmp_path):
    result = run_convert(f"--tf1_checkpoint={gray_tf1_checkpoint}", "--model=gray",
                         f"--output={tmp_path / 'converted'}")
    assert result.returncode == 0, result.stderr
    model = srn_tf.load_model(tmp_path / "converted")
    reference = srn_tf.build_model("gray")
    srn_tf.load_tf1_checkpoint(reference, gray_tf1_checkpoint)
    for got, want in zip(model.weights, reference.weights):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    # And in Keras's format, for the JAX and PyTorch backends (tests/test_backends.py).
    keras_copy = srn_tf.build_model("gray")
    keras_copy.load_weights(tmp_path / "converted" / "model-1.weights.h5")
    for got, want in zip(keras_copy.weights, reference.weights):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_srn_convert_replaces_only_a_checkpoint_folder_and_only_when_asked(gray_tf1_checkpoint,
                                                                          tmp_path):
    output = tmp_path / "converted"
    srn_tf.save_model(srn_tf.build_model("gray", base_filters=4, blocks_per_stage=1), output)
    args = (f"--tf1_checkpoint={gray_tf1_checkpoint}", "--model=gray", f"--output={output}")
    result = run_convert(*args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {output}: already holds a checkpoint (pass --overwrite to replace it)")
    result = run_convert(*args, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert srn_tf.load_model(output).architecture() == srn_tf.build_model("gray").architecture()
    assert sorted(os.listdir(tmp_path)) == ["converted"]  # no staging folder left
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "keep.png").write_bytes(b"not a checkpoint")
    result = run_convert(f"--tf1_checkpoint={gray_tf1_checkpoint}", "--model=gray",
                         f"--output={photos}", "--overwrite")
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == (
        f"error: {photos}: not an srn_tf checkpoint folder; refusing to replace it "
        "(choose another --output)")
    assert os.listdir(photos) == ["keep.png"]


def test_srn_convert_with_the_wrong_model_type_fails_in_one_line(gray_tf1_checkpoint, tmp_path):
    result = run_convert(f"--tf1_checkpoint={gray_tf1_checkpoint}", "--model=color",
                         f"--output={tmp_path / 'converted'}")
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "looks like model type 'gray'" in error_lines[0]
    assert not (tmp_path / "converted").exists()


def test_srn_convert_help_lists_its_flags_and_exits_zero():
    result = run_convert("--help")
    assert result.returncode == 0, result.stderr
    for flag in ("--tf1_checkpoint", "--model", "--output", "--[no]overwrite"):
        assert flag in result.stdout


def small_model():
    return srn_tf.build_model("gray", base_filters=4, blocks_per_stage=1, kernel_size=3)


def test_a_saved_model_runs_as_the_release_unless_its_folder_says_otherwise(tmp_path):
    from srn_tf.models.inference_options import RELEASE_OPTIONS, InferenceOptions, attach_options

    srn_tf.save_model(small_model(), tmp_path / "plain")
    assert "inference" not in read_model_config(tmp_path / "plain")
    assert srn_tf.load_model(tmp_path / "plain").inference_options == RELEASE_OPTIONS

    preset = InferenceOptions(flips=2, denoise=True)
    srn_tf.save_model(attach_options(small_model(), preset), tmp_path / "preset")
    assert read_model_config(tmp_path / "preset")["inference"] == preset.to_config()
    assert srn_tf.load_model(tmp_path / "preset").inference_options == preset


def test_a_folder_with_an_unknown_inference_option_is_refused_naming_it(tmp_path):
    srn_tf.save_model(small_model(), tmp_path / "model")
    config_path = tmp_path / "model" / "srn_config.json"
    config = json.loads(config_path.read_text())
    config["inference"] = {"flips": 4, "sharpen": True}
    config_path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"srn_config.json: unknown inference option\(s\) "
                                         r"\['sharpen'\]"):
        srn_tf.load_model(tmp_path / "model")


def test_the_bundled_model_loads_by_its_preset_name():
    from srn_tf.models.presets import default_model_path

    by_name = srn_tf.load_model("default")
    by_path = srn_tf.load_model(default_model_path())
    assert by_name.inference_options == by_path.inference_options
    assert by_name.inference_options.flips == 1 and by_name.inference_options.kernel_refinement
    for a, b in zip(by_name.weights, by_path.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("weights_dtype", ["float32", "float16"])
def test_a_folder_holds_its_weights_also_in_keras_format(tmp_path, weights_dtype):
    """`<prefix>.weights.h5` holds what the TF checkpoint holds, in the stored dtype."""
    model = srn_tf.build_model("lstm", base_filters=4, blocks_per_stage=1)
    prefix = srn_tf.save_model(model, tmp_path / "folder", weights_dtype=weights_dtype)
    assert os.path.isfile(prefix + ".weights.h5")
    twin = srn_tf.build_model("lstm", base_filters=4, blocks_per_stage=1, dtype=weights_dtype)
    twin.load_weights(prefix + ".weights.h5")
    loaded = srn_tf.load_model(tmp_path / "folder")
    for stored, restored in zip(twin.weights, loaded.weights):
        assert stored.dtype == weights_dtype
        np.testing.assert_array_equal(stored.numpy().astype(np.float32), restored.numpy())


def test_keras_weights_of_checkpoints_no_longer_kept_are_removed(tmp_path):
    from srn_tf.checkpoints.model_folder import remove_stale_keras_weights

    for name in ("ckpt-1.weights.h5", "ckpt-2.weights.h5", "ckpt-3.weights.h5", "other.txt"):
        (tmp_path / name).write_text("")
    remove_stale_keras_weights(tmp_path, [str(tmp_path / "ckpt-2"), str(tmp_path / "ckpt-3")])
    assert sorted(os.listdir(tmp_path)) == ["ckpt-2.weights.h5", "ckpt-3.weights.h5", "other.txt"]


def test_the_bundled_folder_keras_weights_equal_its_checkpoint():
    folder = srn_tf.models.presets.default_model_path()
    model = srn_tf.load_model(folder)
    config = read_model_config(folder)
    copy = srn_tf.build_model(config["model_type"], **{
        key: value for key, value in config["model"].items()
        if key not in ("channels", "recurrent_cell")}, dtype=config["weights_dtype"])
    copy.load_weights(os.path.join(folder, "model-1.weights.h5"))
    for got, want in zip(copy.weights, model.weights):
        np.testing.assert_array_equal(got.numpy().astype(np.float32), want.numpy())
