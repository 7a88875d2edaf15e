"""The JAX or PyTorch side of tests/test_backends.py, run in its own process.

    KERAS_BACKEND=jax python -m tests.backend_worker WORK_FOLDER

TensorFlow is blocked before anything is imported (`sys.modules["tensorflow"] =
None`), so every step shows the package working where TensorFlow is not installed.
Reads WORK_FOLDER/job.json and inputs.npz (written by the test, under TensorFlow),
runs each check there on this backend, and writes results.npz (arrays) and
results.json (numbers and messages) for the test to compare with TensorFlow's.
"""

import sys

sys.modules["tensorflow"] = None  # `import tensorflow` now raises ImportError

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

import srn_tf  # noqa: E402
from srn_tf.models.legacy_resize import legacy_bilinear_resize_keras_ops  # noqa: E402


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _levels(model, images):
    return [_numpy(level) for level in srn_tf.predict_levels_any_size(model, images)]


def _load_error(path):
    try:
        srn_tf.load_model(path)
    except ValueError as error:
        return str(error)
    return None


def _train(job, inputs, arrays):
    """Two JAX steps from the test's initial weights on its batch; the weights after."""
    from srn_tf.training.jax_train_step import assign_state, initial_state, make_jax_train_step
    from srn_tf.training.train_step import learning_rate_schedule, make_optimizer

    train = job["train"]
    model = srn_tf.build_model(train["model_type"], **train["config"])
    model.load_weights(train["initial_weights"])
    optimizer = make_optimizer(learning_rate_schedule(
        "polynomial", train["learning_rate"], train["max_steps"], train["power"]))
    state = initial_state(model, optimizer)
    step = make_jax_train_step(model, optimizer)
    losses = []
    for _ in range(train["steps"]):
        state, total, per_level = step(state, inputs["train_blur"], inputs["train_sharp"])
        losses.append([float(total)] + [float(level) for level in per_level])
    assign_state(model, optimizer, state)
    for index, variable in enumerate(model.trainable_variables):
        arrays[f"trained_{index}"] = _numpy(variable.value)
    return {"losses": losses, "iterations": int(_numpy(optimizer.iterations.value))}


def main(work):
    with open(os.path.join(work, "job.json")) as handle:
        job = json.load(handle)
    inputs = dict(np.load(os.path.join(work, "inputs.npz")))
    arrays = {}
    results = {"backend": keras.backend.backend(),
               "tensorflow_imported": sys.modules.get("tensorflow") is not None}
    results["parameter_counts"] = {
        model_type: srn_tf.build_model(model_type).count_params()
        for model_type in ("color", "gray", "lstm")}

    for model_type, folder in job["folders"].items():
        model = srn_tf.load_model(folder)
        for level, output in enumerate(_levels(model, inputs[f"images_{model_type}"])):
            arrays[f"levels_{model_type}_{level}"] = output

    for index, (height, width) in enumerate(job["resize_sizes"]):
        arrays[f"resized_{index}"] = _numpy(
            legacy_bilinear_resize_keras_ops(inputs["resize_images"], (height, width)))

    restored = keras.saving.load_model(job["keras_file"])
    for level, output in enumerate(_levels(restored, inputs["images_keras_file"])):
        arrays[f"keras_file_{level}"] = output

    default = srn_tf.load_model("default")
    arrays["default_network"] = srn_tf.deblur_image(default, inputs["default_image"],
                                                    srn_tf.quality_options("network"))
    arrays["default_deblurred"] = srn_tf.deblur_image(default, inputs["default_image"])

    without_weights = os.path.join(work, "without_keras_weights")
    shutil.copytree(job["folders"]["color"], without_weights)
    for name in os.listdir(without_weights):
        if name.endswith(".weights.h5"):
            os.remove(os.path.join(without_weights, name))
    results["error_without_keras_weights"] = _load_error(without_weights)
    results["error_on_tf1_checkpoint"] = _load_error(job["tf1_checkpoint"])

    if "train" in job:
        results["train"] = _train(job, inputs, arrays)
    results["tensorflow_imported"] = sys.modules.get("tensorflow") is not None
    np.savez(os.path.join(work, "results.npz"), **arrays)
    with open(os.path.join(work, "results.json"), "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main(sys.argv[1])
