"""The network, model folders, `.keras` files and the JAX training step on JAX and PyTorch.

Each backend runs in its own process (tests/backend_worker.py, KERAS_BACKEND set,
TensorFlow blocked) on what this process prepares under TensorFlow: TF1
checkpoints written by tests/tf1_reference.py and converted as srn-convert does,
odd-size inputs, a `.keras` file, and the TensorFlow step's update. Marked `jax`
and `torch`: left out of the default run, selected with
`python -m pytest -m jax tests/test_backends.py` after `pip install -e '.[jax]'`
(README, "Run the tests"); selected without the extra, they fail saying so.
"""

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import srn_tf
from srn_tf.checkpoints.model_folder import save_model_folder
from srn_tf.export.keras_file import export_keras_file
from srn_tf.training.train_step import learning_rate_schedule, make_optimizer, make_train_step
from tests import tf1_reference

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE_PARAMETER_COUNTS = {"color": 6_881_251, "gray": 6_876_449, "lstm": 8_056_609}
ODD_SIZE = (35, 51)
# Up and down, odd to odd, to one pixel, and unchanged; from a 35x51 image.
RESIZE_SIZES = [(18, 26), (9, 13), (71, 103), (36, 50), (1, 1), (35, 51)]
# Both backends and TensorFlow compute the same float32 ops, convolutions summed in
# another order: float32 rounding, which grows with the values, so 1e-5 of the
# level's largest magnitude (at least 1e-5): the random release-shaped weights
# give outputs up to ~5, off by up to ~1.6e-5 on JAX (~3e-6 of their magnitude).
LEVEL_TOLERANCE = 1e-5


def _level_tolerance(expected):
    """LEVEL_TOLERANCE of `expected`'s largest magnitude, at least LEVEL_TOLERANCE."""
    return LEVEL_TOLERANCE * max(1.0, float(np.abs(expected).max()))


# The resize's gathers and lerps are the same float32 operations in the same order
# as TF1's kernel; 1e-6 leaves room for a fused multiply-add.
RESIZE_TOLERANCE = 1e-6
# The bundled network's output through deblur_image's numpy path, on [0, 1] images:
# float32 summation order only (~1e-6).
NETWORK_TOLERANCE = 1e-5
# deblur_image's flat-level, kernel-refinement and denoising steps are numpy on the
# network's output and pass its differences on, amplified: the kernel is estimated
# from the output's strongest gradients (a threshold that a pixel at its edge crosses
# with a 1e-6 change) and, on this random-noise image, its noise keeps 1.2 times the
# refinement's change (`kernel_refinement.NOISY_SHARE`). Measured 3.1e-4 under JAX.
DEBLUR_TOLERANCE = 1e-3
# One Adam step moves each weight by about the learning rate whatever its gradient
# (m / sqrt(v)), so the update is compared as a whole: |update_jax - update_tf| /
# |update_tf| (Euclidean norms over every weight) below 1e-4 (docs/backends.md): 50 times the
# 2e-6 measured, which the backends' summation orders make, and far below what a gradient
# pointing elsewhere or a learning rate 1% off (1e-2) makes.
UPDATE_TOLERANCE = 1e-4
TRAIN = {"model_type": "lstm", "config": {"base_filters": 4, "blocks_per_stage": 1},
         "learning_rate": 1e-4, "max_steps": 10, "power": 0.3, "steps": 2}
EXTRAS = {"jax": "jax", "torch": "torch"}


def _levels(model, images):
    return [level.numpy() for level in srn_tf.predict_levels_any_size(model, images)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """What the TensorFlow backend computes, and the files the worker reads."""
    assert keras.backend.backend() == "tensorflow", "the reference side runs on TensorFlow"
    work = tmp_path_factory.mktemp("reference")
    rng = np.random.default_rng(5)
    inputs = {"resize_images": rng.uniform(0, 1, (2, *ODD_SIZE, 3)).astype(np.float32),
              "default_image": rng.uniform(0, 1, (*ODD_SIZE, 3)).astype(np.float32),
              "images_keras_file": rng.uniform(0, 1, (1, *ODD_SIZE, 1)).astype(np.float32)}
    folders, levels, release_levels = {}, {}, {}
    for model_type in ("color", "lstm"):
        weights = tf1_reference.random_release_weights(model_type, seed=7)
        tf1_prefix = tf1_reference.write_tf1_checkpoint(weights, work / f"tf1_{model_type}")
        images = rng.uniform(0, 1, (1, *ODD_SIZE, tf1_reference.CHANNELS[model_type]))
        inputs[f"images_{model_type}"] = images.astype(np.float32)
        model = srn_tf.build_model(model_type)  # what srn-convert runs
        srn_tf.load_tf1_checkpoint(model, tf1_prefix)
        folders[model_type] = save_model_folder(model, str(work / f"converted_{model_type}"))
        levels[model_type] = _levels(model, inputs[f"images_{model_type}"])
        padded = np.pad(inputs[f"images_{model_type}"], ((0, 0), (0, 13), (0, 13), (0, 0)),
                        mode="edge")  # 48x64, cropped back below as predict_any_size does
        release_levels[model_type] = [
            level[:, :want.shape[1], :want.shape[2]]
            for level, want in zip(tf1_reference.release_forward(weights, padded, model_type),
                                   levels[model_type])]
    small = srn_tf.build_model("lstm", base_filters=4, blocks_per_stage=1)
    keras_file = export_keras_file(small, str(work / "small.keras"))
    resized = [tf.raw_ops.ResizeBilinear(images=inputs["resize_images"], size=size,
                                         align_corners=False, half_pixel_centers=False).numpy()
               for size in RESIZE_SIZES]
    return {"work": work, "inputs": inputs, "folders": folders, "levels": levels,
            "release_levels": release_levels, "tf1_checkpoint": tf1_prefix,
            "keras_file": keras_file, "keras_file_levels": _levels(small,
                                                                  inputs["images_keras_file"]),
            "resized": resized,
            "default_network": srn_tf.deblur_image(srn_tf.load_model("default"),
                                                   inputs["default_image"],
                                                   srn_tf.quality_options("network")),
            "default_deblurred": srn_tf.deblur_image(srn_tf.load_model("default"),
                                                     inputs["default_image"])}


@pytest.fixture(scope="module")
def tf_training(reference):
    """Two TensorFlow steps of the release's recipe on a small lstm model: the
    initial weights (a .weights.h5), the batch, the weights after and the losses."""
    keras.utils.set_random_seed(3)
    model = srn_tf.build_model(TRAIN["model_type"], **TRAIN["config"])
    initial = str(reference["work"] / "initial.weights.h5")
    model.save_weights(initial)
    initial_values = [variable.numpy() for variable in model.trainable_variables]
    rng = np.random.default_rng(9)
    blur = rng.uniform(0, 1, (2, 32, 48, 1)).astype(np.float32)
    sharp = np.clip(blur + rng.normal(0, 0.1, blur.shape), 0, 1).astype(np.float32)
    optimizer = make_optimizer(learning_rate_schedule(
        "polynomial", TRAIN["learning_rate"], TRAIN["max_steps"], TRAIN["power"]))
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer, tf.distribute.get_strategy(), len(blur),
                           tf.Variable(0, dtype=tf.int64))
    losses = []
    for _ in range(TRAIN["steps"]):
        total, per_level = step(tf.constant(blur), tf.constant(sharp))
        losses.append([float(total)] + [float(level) for level in per_level])
    return {"initial_weights": initial, "initial": initial_values, "blur": blur,
            "sharp": sharp, "losses": losses,
            "trained": [variable.numpy() for variable in model.trainable_variables]}


@pytest.fixture(scope="module")
def run_worker(request, tmp_path_factory):
    """`run(name)`: the worker's results on backend `name`, (name, results.json,
    results.npz), run once per backend and module."""
    runs = {}

    def run(name):
        if name not in runs:
            runs[name] = _run_worker(name, request, tmp_path_factory)
        return runs[name]

    return run


def _run_worker(name, request, tmp_path_factory):
    if importlib.util.find_spec(EXTRAS[name]) is None:  # before preparing anything
        pytest.fail(f"the {name} backend tests need {EXTRAS[name]}: "
                    f"pip install -e '.[{name}]' (README, 'Run the tests')")
    reference = request.getfixturevalue("reference")
    work = tmp_path_factory.mktemp(f"backend_{name}")
    inputs = dict(reference["inputs"])
    job = {"folders": reference["folders"], "resize_sizes": RESIZE_SIZES,
           "keras_file": reference["keras_file"],
           "tf1_checkpoint": reference["tf1_checkpoint"]}
    if name == "jax":
        training = request.getfixturevalue("tf_training")
        job["train"] = {**TRAIN, "initial_weights": training["initial_weights"]}
        inputs.update(train_blur=training["blur"], train_sharp=training["sharp"])
    (work / "job.json").write_text(json.dumps(job))
    np.savez(work / "inputs.npz", **inputs)
    env = {**os.environ, "KERAS_BACKEND": name, "PYTHONPATH": REPO}
    result = subprocess.run([sys.executable, "-m", "tests.backend_worker", str(work)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    with open(work / "results.json") as handle:
        results = json.load(handle)
    return name, results, dict(np.load(work / "results.npz"))


@pytest.fixture(scope="module", params=[pytest.param("jax", marks=pytest.mark.jax),
                                        pytest.param("torch", marks=pytest.mark.torch)])
def backend(request, run_worker):
    """The worker's results on each backend in turn."""
    return run_worker(request.param)


@pytest.fixture(scope="module")
def jax_backend(run_worker):
    return run_worker("jax")


def test_the_worker_ran_on_its_backend_without_tensorflow(backend):
    name, results, _ = backend
    assert results["backend"] == name
    assert not results["tensorflow_imported"]


def test_parameter_counts_equal_the_release(backend):
    _, results, _ = backend
    assert results["parameter_counts"] == RELEASE_PARAMETER_COUNTS


@pytest.mark.parametrize("model_type", ["color", "lstm"])
def test_all_levels_of_a_converted_folder_equal_tensorflow_at_an_odd_size(backend, reference,
                                                                          model_type):
    _, _, arrays = backend
    for level, (tensorflow, release) in enumerate(zip(reference["levels"][model_type],
                                                      reference["release_levels"][model_type])):
        got = arrays[f"levels_{model_type}_{level}"]
        assert got.shape == tensorflow.shape
        tolerance = _level_tolerance(tensorflow)
        np.testing.assert_allclose(got, tensorflow, atol=tolerance, rtol=0,
                                   err_msg=f"{model_type} level {level} against TensorFlow")
        # And against the original graph (tests/tf1_reference.py), as the TF model is.
        np.testing.assert_allclose(got, release, atol=tolerance, rtol=0,
                                   err_msg=f"{model_type} level {level} against the release")


def test_the_keras_ops_resize_equals_tf1s_raw_op_up_and_down(backend, reference):
    _, _, arrays = backend
    for index, size in enumerate(RESIZE_SIZES):
        got = arrays[f"resized_{index}"]
        assert got.shape == (2, *size, 3)
        np.testing.assert_allclose(got, reference["resized"][index], atol=RESIZE_TOLERANCE,
                                   rtol=0, err_msg=f"size {size}")


def test_a_keras_file_written_under_tensorflow_loads_and_runs_the_same(backend, reference):
    _, _, arrays = backend
    # The levels reach ~27 here: the same rule as above, of the level's largest value
    # (a fixed 1e-5 failed on PyTorch by 2.3e-5 on a value of 25.8, 9e-7 of it).
    for level, want in enumerate(reference["keras_file_levels"]):
        np.testing.assert_allclose(arrays[f"keras_file_{level}"], want,
                                   atol=_level_tolerance(want), rtol=0, err_msg=f"level {level}")


def test_the_bundled_model_deblurs_as_under_tensorflow(backend, reference):
    """The default folder's float16 .weights.h5 and deblur_image's numpy path."""
    _, _, arrays = backend
    network = arrays["default_network"]
    assert network.shape == reference["default_network"].shape and network.dtype == np.float32
    np.testing.assert_allclose(network, reference["default_network"], atol=NETWORK_TOLERANCE,
                               rtol=0)
    got = arrays["default_deblurred"]
    assert got.shape == reference["default_deblurred"].shape and got.dtype == np.float32
    np.testing.assert_allclose(got, reference["default_deblurred"], atol=DEBLUR_TOLERANCE,
                               rtol=0)


def test_a_folder_without_keras_weights_is_refused_saying_how_to_add_them(backend):
    name, results, _ = backend
    message = results["error_without_keras_weights"]
    assert "without_keras_weights: has no Keras weights file model-1.weights.h5" in message
    assert f"which the {name} backend loads" in message
    assert "srn-convert" in message and "add_keras_weights(" in message


def test_a_tf1_checkpoint_is_refused_pointing_at_srn_convert(backend):
    _, results, _ = backend
    message = results["error_on_tf1_checkpoint"]
    assert "not an srn_tf checkpoint folder" in message and "srn-convert" in message


@pytest.mark.jax
def test_the_jax_step_makes_the_tensorflow_steps_update(jax_backend, tf_training):
    _, results, arrays = jax_backend
    assert results["train"]["iterations"] == TRAIN["steps"]
    # The losses before each update: the same loss of the same weights, 1e-5 relative.
    np.testing.assert_allclose(results["train"]["losses"], tf_training["losses"], rtol=1e-5)
    tf_update = np.concatenate([(after - before).ravel() for after, before in
                                zip(tf_training["trained"], tf_training["initial"])])
    jax_update = np.concatenate([(arrays[f"trained_{index}"] - before).ravel()
                                 for index, before in enumerate(tf_training["initial"])])
    assert np.linalg.norm(tf_update) > 0
    relative = np.linalg.norm(jax_update - tf_update) / np.linalg.norm(tf_update)
    assert relative < UPDATE_TOLERANCE, relative
