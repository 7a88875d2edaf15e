"""This project's checkpoint folders: a model config beside TF2 checkpoint files.

A folder written by `save_model`, `srn-convert` or `srn-train` holds
`srn_config.json` (the `SRNDeblurNet` constructor arguments) and one or more
`tf.train.Checkpoint` files whose object graph has the model under `model`
(training checkpoints add the optimizer, step and data position). So a path
alone rebuilds the right model and restores its newest weights.

A folder may store its weights in float16 (`weights_dtype` in the config) to
halve its size, as the bundled default model does; `load_model` casts them back
to the dtype the model is built with.
"""

import json
import os

import tensorflow as tf

from srn_tf.atomic_files import atomic_folder, write_json

from srn_tf.checkpoints.tf1_checkpoint import is_tf1_checkpoint
from srn_tf.inference.options import RELEASE_OPTIONS, InferenceOptions, attach_options, options_of
from srn_tf.models.model_types import model_type_of
from srn_tf.models.presets import resolve_model_path
from srn_tf.models.srn_deblur_net import SRNDeblurNet

CONFIG_FILE = "srn_config.json"
FORMAT_VERSION = 1
WEIGHTS_DTYPES = ("float32", "float16")


def write_model_config(model, directory, **extra):
    """Writes `srn_config.json` for `model` into `directory` (extra keys kept).

    The model's inference options (`model.inference_options`, e.g. a preset's)
    are written as the "inference" section when they differ from the release's.
    """
    os.makedirs(directory, exist_ok=True)
    data = {"format_version": FORMAT_VERSION, "model_type": model_type_of(model),
            "model": model.architecture(), **extra}
    if options_of(model) != RELEASE_OPTIONS:
        data["inference"] = options_of(model).to_config()
    write_json(data, os.path.join(directory, CONFIG_FILE))


def read_model_config(directory):
    """Returns the parsed `srn_config.json` of a checkpoint folder."""
    with open(os.path.join(directory, CONFIG_FILE)) as handle:
        return json.load(handle)


def _built_model(config, dtype):
    """An `SRNDeblurNet` of a config's architecture, built, with a Keras dtype policy."""
    model = SRNDeblurNet(**config["model"], dtype=dtype)
    model.build()
    return model


def save_model(model, path, overwrite=False, weights_dtype="float32"):
    """Saves `model`'s weights and config into the folder `path`.

    Args:
        model: a built `SRNDeblurNet`.
        path: folder to create (or reuse when empty).
        overwrite: replace the checkpoint a folder already holds.
        weights_dtype: "float32", or "float16" to store the weights rounded to
            half precision (half the size; `load_model` casts them back).

    Returns:
        The prefix of the checkpoint written.
    """
    path = os.fspath(path)
    if weights_dtype not in WEIGHTS_DTYPES:
        raise ValueError(f"weights_dtype must be one of {WEIGHTS_DTYPES}. "
                         f"Received: {weights_dtype!r}")
    if tf.train.latest_checkpoint(path) and not overwrite:
        raise FileExistsError(f"{path}: already holds a checkpoint (pass overwrite=True)")
    write_model_config(model, path, weights_dtype=weights_dtype)
    stored = model
    if weights_dtype != "float32":
        stored = _built_model(read_model_config(path), weights_dtype)
        for target, source in zip(stored.weights, model.weights):
            target.assign(tf.cast(source, weights_dtype))
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(model=stored), path, max_to_keep=1, checkpoint_name="model")
    return manager.save()


def save_model_folder(model, path, weights_dtype="float32", overwrite=True):
    """Saves `model` as `save_model` does into `path`, replacing the folder there.

    The checkpoint is written into a hidden staging folder beside `path` and
    renamed onto it (`srn_tf.atomic_files.atomic_folder`), so an interrupted or
    failed save never leaves a half-written `path`. Only an empty folder or
    one of this project's checkpoint folders (`srn_config.json`) is replaced, and
    the latter only with `overwrite`: any other folder's files would be lost.

    Returns:
        `path`.

    Raises:
        FileExistsError: `path` is a file, a folder holding other files, or a
            checkpoint folder while `overwrite` is False.
    """
    path = os.fspath(path).rstrip(os.sep)
    if os.path.exists(path) and not os.path.isdir(path):
        raise FileExistsError(f"{path}: is a file, not a folder")
    if os.path.isdir(path) and os.listdir(path):
        if not os.path.isfile(os.path.join(path, CONFIG_FILE)):
            raise FileExistsError(f"{path}: folder is not empty and is not an srn_tf checkpoint "
                                  "folder; choose a new or empty one")
        if not overwrite:
            raise FileExistsError(f"{path}: already holds a checkpoint (pass --overwrite to "
                                  "replace it)")
    with atomic_folder(path, overwrite=True) as staging:
        save_model(model, staging, weights_dtype=weights_dtype)
    return path


def _split_checkpoint_path(path):
    """Returns (folder, checkpoint prefix) for a folder or a `ckpt-N` prefix."""
    if os.path.isdir(path):
        return path, tf.train.latest_checkpoint(path)
    if tf.io.gfile.exists(path + ".index"):
        return os.path.dirname(path) or ".", path
    raise FileNotFoundError(f"{path}: no such checkpoint folder or checkpoint prefix")


def load_model(path, dtype=None):
    """Rebuilds the model a checkpoint folder describes and restores its weights.

    Args:
        path: a folder written by `save_model`, `srn-convert` or `srn-train` (the
            newest checkpoint is used), one checkpoint prefix in such a folder, or
            the name of a preset shipped in the package ("default").
        dtype: Keras dtype policy to build with (e.g. "mixed_bfloat16"); the
            weights are stored in float32 either way.

    Returns:
        A built `SRNDeblurNet` with the checkpoint's weights and, as
        `model.inference_options`, the folder's inference defaults (the
        "inference" section of its config; the release's when it has none).
    """
    path = resolve_model_path(path)
    folder, prefix = _split_checkpoint_path(path)
    if not os.path.isfile(os.path.join(folder, CONFIG_FILE)):
        if is_tf1_checkpoint(path):
            raise ValueError(
                f"{path}: is an original TF1 checkpoint; load it with "
                "srn_tf.load_tf1_checkpoint(srn_tf.build_model(TYPE), path) or convert it "
                "with srn-convert")
        raise ValueError(f"{path}: not an srn_tf checkpoint folder (no {CONFIG_FILE})")
    if prefix is None:
        raise ValueError(f"{path}: has {CONFIG_FILE} but no checkpoint files")
    config = read_model_config(folder)
    try:
        options = InferenceOptions.from_config(config.get("inference"))
    except ValueError as error:
        raise ValueError(f"{os.path.join(folder, CONFIG_FILE)}: {error}") from None
    model = _built_model(config, dtype)
    restore_weights(model, config, prefix)
    return attach_options(model, options)


def restore_weights(model, config, prefix):
    """Restores checkpoint `prefix` into a built `model` of `config`'s architecture.

    Weights stored in float16 (`weights_dtype` in `config`) are restored into a
    float16 twin and cast to the model's own variables' dtype.
    """
    weights_dtype = config.get("weights_dtype", "float32")
    stored = model if weights_dtype == "float32" else _built_model(config, weights_dtype)
    status = tf.train.Checkpoint(model=stored).restore(prefix)
    status.expect_partial()
    status.assert_existing_objects_matched()
    if stored is not model:
        for target, source in zip(model.weights, stored.weights):
            target.assign(tf.cast(source, target.dtype))
