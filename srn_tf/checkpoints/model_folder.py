"""This project's checkpoint folders: a model config beside TF2 checkpoint files and
their Keras weights files.

A folder written by `save_model`, `srn-convert` or `srn-train` holds
`srn_config.json` (the `SRNDeblurNet` constructor arguments), one or more
`tf.train.Checkpoint` files whose object graph has the model under `model`
(training checkpoints add the optimizer, step and data position), and beside
each checkpoint `<prefix>.weights.h5`: the same model weights in Keras's own
format (`model.save_weights`), which every Keras backend reads. So a path alone
rebuilds the right model and restores its newest weights: from the TF checkpoint
under the TensorFlow backend (as always), from the `.weights.h5` under JAX or
PyTorch, where TensorFlow need not be installed.

A folder may store its weights in float16 (`weights_dtype` in the config) to
halve its size, as the bundled default model does (in both files); `load_model`
casts them back to the dtype the model is built with.
"""

import json
import os
import re

import keras

from srn_tf.atomic_files import atomic_file, atomic_folder, write_json
from srn_tf.config_file import CONFIG_FILE
from srn_tf.write_safety import check_destination

from srn_tf.models.inference_options import (RELEASE_OPTIONS, InferenceOptions, attach_options,
                                             options_of)
from srn_tf.models.model_types import model_type_of
from srn_tf.models.presets import resolve_model_path
from srn_tf.models.srn_deblur_net import SRNDeblurNet

FORMAT_VERSION = 1
WEIGHTS_DTYPES = ("float32", "float16")
KERAS_WEIGHTS_SUFFIX = ".weights.h5"
# The `checkpoint` index file TensorFlow writes beside its checkpoints, read
# without TensorFlow on the other backends.
_CHECKPOINT_INDEX = "checkpoint"
_NEWEST_CHECKPOINT = re.compile(r'^model_checkpoint_path:\s*"(.*)"\s*$', re.MULTILINE)


def _tensorflow(what):
    """TensorFlow, for the parts of this module that read or write TF checkpoints.

    Raises:
        RuntimeError: Keras runs on another backend, whose variables TF checkpoints
            cannot hold.
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"{what} writes TensorFlow checkpoints and needs KERAS_BACKEND=tensorflow "
            f"(Keras runs on {keras.backend.backend()}); on this backend save weights with "
            "model.save_weights(...) or srn_tf.export.keras_file.export_keras_file")
    import tensorflow as tf

    return tf


def keras_weights_path(prefix):
    """The Keras weights file beside the TF checkpoint `prefix` (`<prefix>.weights.h5`)."""
    return os.fspath(prefix) + KERAS_WEIGHTS_SUFFIX


def save_keras_weights(model, prefix):
    """Writes `model`'s weights in Keras's format beside checkpoint `prefix`, atomically.

    The file is written under a temporary name (ending in `.weights.h5`, as Keras
    requires) and renamed, so a reader never sees a partial file.

    Returns:
        The path written, `keras_weights_path(prefix)`.
    """
    path = keras_weights_path(prefix)
    with atomic_file(path) as temporary:
        staged = temporary + KERAS_WEIGHTS_SUFFIX
        try:
            model.save_weights(staged)
            os.replace(staged, temporary)
        finally:
            if os.path.exists(staged):
                os.remove(staged)
    return path


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


def folder_options(directory, config=None):
    """The `InferenceOptions` of a folder's `srn_config.json` "inference" section (the
    release's when it has none); `config` is the parsed file when already read.

    Raises:
        ValueError: the section is bad; the message names the file.
    """
    config = read_model_config(directory) if config is None else config
    try:
        return InferenceOptions.from_config(config.get("inference"))
    except ValueError as error:
        raise ValueError(f"{os.path.join(directory, CONFIG_FILE)}: {error}") from None


def _built_model(config, dtype):
    """An `SRNDeblurNet` of a config's architecture, built, with a Keras dtype policy."""
    model = SRNDeblurNet(**config["model"], dtype=dtype)
    model.build()
    return model


def save_model(model, path, overwrite=False, weights_dtype="float32"):
    """Saves `model`'s weights and config into the folder `path` (TensorFlow backend).

    Writes the TF checkpoint `model-1` and its Keras weights file
    `model-1.weights.h5`, both in `weights_dtype`.

    Args:
        model: a built `SRNDeblurNet`.
        path: folder to create (or reuse when empty).
        overwrite: replace the checkpoint a folder already holds.
        weights_dtype: "float32", or "float16" to store the weights rounded to
            half precision (half the size; `load_model` casts them back).

    Returns:
        The prefix of the checkpoint written.
    """
    tf = _tensorflow("save_model")
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
    prefix = manager.save()
    save_keras_weights(stored, prefix)
    return prefix


def remove_stale_keras_weights(folder, kept_prefixes):
    """Deletes the Keras weights files in `folder` whose TF checkpoint is gone (a
    `tf.train.CheckpointManager` keeping its last few), so each file has its checkpoint.

    Args:
        folder: a checkpoint folder.
        kept_prefixes: the prefixes still there (`manager.checkpoints`).
    """
    kept = {os.path.basename(keras_weights_path(prefix)) for prefix in kept_prefixes}
    for name in os.listdir(folder):
        if name.endswith(KERAS_WEIGHTS_SUFFIX) and not name.startswith(".") and name not in kept:
            os.remove(os.path.join(folder, name))


def save_model_folder(model, path, weights_dtype="float32", overwrite=True):
    """Saves `model` as `save_model` does into `path`, replacing the folder there.

    The checkpoint is written into a hidden staging folder beside `path` and
    renamed onto it (`srn_tf.atomic_files.atomic_folder`), so an interrupted or
    failed save never leaves a half-written `path`. Only an empty folder or an
    srn_tf checkpoint folder (`srn_tf.write_safety.is_checkpoint_folder`: its
    config beside checkpoint files, nothing else) is replaced, and the latter
    only with `overwrite`: any other folder's files would be lost.

    Returns:
        `path`.

    Raises:
        FileExistsError: a checkpoint folder is at `path` while `overwrite` is False.
        srn_tf.write_safety.OutputRefused: `path` is a file, or a folder holding
            anything but an srn_tf checkpoint.
    """
    path = os.fspath(path).rstrip(os.sep)
    check_destination(path, "checkpoint", overwrite)
    with atomic_folder(path, replace="checkpoint") as staging:
        save_model(model, staging, weights_dtype=weights_dtype)
    return path


def _newest_checkpoint(folder):
    """The newest checkpoint prefix TensorFlow's `checkpoint` file in `folder` names,
    read as text (no TensorFlow); None without one."""
    index = os.path.join(folder, _CHECKPOINT_INDEX)
    if not os.path.isfile(index):
        return None
    with open(index, encoding="utf-8") as handle:
        match = _NEWEST_CHECKPOINT.search(handle.read())
    if match is None:
        return None
    return os.path.join(folder, match.group(1))  # join keeps an absolute name as it is


def _split_checkpoint_path(path):
    """Returns (folder, checkpoint prefix) for a folder or a `ckpt-N` prefix."""
    if os.path.isdir(path):
        if keras.backend.backend() == "tensorflow":
            return path, _tensorflow("load_model").train.latest_checkpoint(path)
        return path, _newest_checkpoint(path)
    if os.path.isfile(path + ".index") or os.path.isfile(keras_weights_path(path)):
        return os.path.dirname(path) or ".", path
    raise FileNotFoundError(f"{path}: no such checkpoint folder or checkpoint prefix")


def _not_a_folder_error(path):
    """The ValueError for a path without `srn_config.json`; names a TF1 checkpoint as such
    (telling one apart needs TensorFlow, so other backends give the general message)."""
    if keras.backend.backend() == "tensorflow":
        from srn_tf.checkpoints.tf1_checkpoint import is_tf1_checkpoint

        if is_tf1_checkpoint(path):
            return ValueError(
                f"{path}: is an original TF1 checkpoint; load it with "
                "srn_tf.load_tf1_checkpoint(srn_tf.build_model(TYPE), path) or convert it "
                "with srn-convert")
    return ValueError(f"{path}: not an srn_tf checkpoint folder (no {CONFIG_FILE}; an original "
                      "TF1 checkpoint is converted with srn-convert, under TensorFlow)")


def load_model(path, dtype=None):
    """Rebuilds the model a checkpoint folder describes and restores its weights.

    Under the TensorFlow backend the weights come from the TF checkpoint; under
    JAX or PyTorch from the Keras weights file beside it (`<prefix>.weights.h5`),
    without TensorFlow.

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

    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: `path` is not such a folder, has no checkpoint, or (other
            backends) has no Keras weights file; the message says how to make one.
    """
    path = resolve_model_path(path)
    folder, prefix = _split_checkpoint_path(path)
    if not os.path.isfile(os.path.join(folder, CONFIG_FILE)):
        raise _not_a_folder_error(path)
    if prefix is None:
        raise ValueError(f"{path}: has {CONFIG_FILE} but no checkpoint files")
    config = read_model_config(folder)
    options = folder_options(folder, config)
    model = _built_model(config, dtype)
    if keras.backend.backend() == "tensorflow":
        restore_weights(model, config, prefix)
    else:
        restore_keras_weights(model, config, prefix)
    return attach_options(model, options)


def _stored_twin(model, config):
    """The model itself when the folder stores float32 weights, else a twin built in
    the stored dtype (float16) to read them into."""
    weights_dtype = config.get("weights_dtype", "float32")
    return model if weights_dtype == "float32" else _built_model(config, weights_dtype)


def _copy_cast(model, stored):
    """Assigns a twin's weights to `model`, cast to the model's variables' dtypes."""
    if stored is not model:
        for target, source in zip(model.weights, stored.weights):
            target.assign(keras.ops.cast(source, target.dtype))


def restore_weights(model, config, prefix):
    """Restores TF checkpoint `prefix` into a built `model` of `config`'s architecture
    (TensorFlow backend).

    Weights stored in float16 (`weights_dtype` in `config`) are restored into a
    float16 twin and cast to the model's own variables' dtype.
    """
    stored = _stored_twin(model, config)
    _restore_checkpoint(stored, prefix)
    _copy_cast(model, stored)


def _restore_checkpoint(model, prefix):
    """Reads the model part of TF checkpoint `prefix` into `model` (same dtype)."""
    tf = _tensorflow("restoring a TF checkpoint")
    status = tf.train.Checkpoint(model=model).restore(prefix)
    status.expect_partial()
    status.assert_existing_objects_matched()


def restore_keras_weights(model, config, prefix):
    """Loads `<prefix>.weights.h5` into a built `model` of `config`'s architecture, on
    any backend (float16 files through a float16 twin, as `restore_weights`).

    Raises:
        ValueError: the folder has no Keras weights file for that checkpoint (written
            before this format, or by a copy that left it out); says how to add one.
    """
    path = keras_weights_path(prefix)
    if not os.path.isfile(path):
        folder = os.path.dirname(os.fspath(prefix)) or "."
        raise ValueError(
            f"{folder}: has no Keras weights file {os.path.basename(path)}, which the "
            f"{keras.backend.backend()} backend loads (TF checkpoints need TensorFlow); "
            "convert the TF1 checkpoint again with srn-convert, or add the file under "
            "TensorFlow: KERAS_BACKEND=tensorflow python -c \"from srn_tf.checkpoints."
            f"model_folder import add_keras_weights; add_keras_weights('{folder}')\"")
    stored = _stored_twin(model, config)
    stored.load_weights(path)
    _copy_cast(model, stored)


def add_keras_weights(path):
    """Writes the Keras weights file of the newest checkpoint of an existing folder
    (one written before folders held one), in its stored dtype (TensorFlow backend).

    Returns:
        The path written.
    """
    _tensorflow("add_keras_weights")
    path = resolve_model_path(path)
    folder, prefix = _split_checkpoint_path(path)
    if prefix is None or not os.path.isfile(os.path.join(folder, CONFIG_FILE)):
        raise ValueError(f"{path}: not an srn_tf checkpoint folder with a checkpoint")
    config = read_model_config(folder)
    stored = _built_model(config, config.get("weights_dtype", "float32"))
    _restore_checkpoint(stored, prefix)
    return save_keras_weights(stored, prefix)
