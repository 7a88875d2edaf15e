"""One entry point for every kind of model a user can point `--checkpoint` at."""

import os

from srn_tf.checkpoints.export_runners import (LITERT_EXTENSION, ONNX_EXTENSION, LiteRTRunner,
                                               OnnxRunner, export_file_kind)
from srn_tf.checkpoints.model_folder import CONFIG_FILE, folder_options, load_model
from srn_tf.checkpoints.saved_model_runner import SavedModelRunner, is_saved_model
from srn_tf.checkpoints.tf1_checkpoint import is_tf1_checkpoint, load_tf1_checkpoint
from srn_tf.models.inference_options import RELEASE_OPTIONS, options_of
from srn_tf.models.model_types import build_model, model_type_of
from srn_tf.models.presets import resolve_model_path


def load_deblur_model(checkpoint=None, model_type=None):
    """Loads what `checkpoint` names, telling the kinds of checkpoint apart.

    Args:
        checkpoint: an srn_tf checkpoint folder (`save_model`, `srn-convert`,
            `srn-train`) or a checkpoint prefix in one, an `srn-export`
            SavedModel folder, ONNX file (.onnx) or LiteRT file (.tflite), an
            original TF1 checkpoint (prefix or folder), or a preset's name
            ("default"); None for the bundled default model.
        model_type: "color", "gray" or "lstm"; needed for TF1 checkpoints only
            (default "color"), and checked against the others.

    Returns:
        An `SRNDeblurNet`, or a `SavedModelRunner`, `OnnxRunner` or
        `LiteRTRunner`, with its folder's (or file's) inference defaults as
        `inference_options` (the release's for TF1 checkpoints).

    Raises:
        FileNotFoundError: nothing exists at `checkpoint`.
        ValueError: it is not a checkpoint, holds another model type, or is an
            export file whose runtime is not installed.
    """
    checkpoint = resolve_model_path(checkpoint)
    kind = export_file_kind(checkpoint)
    if kind is not None and os.path.isfile(checkpoint):
        runner = {ONNX_EXTENSION: OnnxRunner, LITERT_EXTENSION: LiteRTRunner}[kind]
        return runner(checkpoint)
    if is_saved_model(checkpoint):
        return SavedModelRunner(checkpoint)
    if os.path.isfile(os.path.join(checkpoint, CONFIG_FILE)) or (
            os.path.isfile(checkpoint + ".index")
            and os.path.isfile(os.path.join(os.path.dirname(checkpoint) or ".", CONFIG_FILE))):
        model = load_model(checkpoint)
        if model_type is not None and model_type_of(model) != model_type:
            raise ValueError(f"{checkpoint}: holds a '{model_type_of(model)}' model, "
                             f"not '{model_type}'")
        return model
    if is_tf1_checkpoint(checkpoint):
        model = build_model(model_type or "color")
        load_tf1_checkpoint(model, checkpoint)
        return model
    if not os.path.exists(checkpoint) and not os.path.exists(checkpoint + ".index"):
        raise FileNotFoundError(f"{checkpoint}: no such checkpoint")
    raise ValueError(f"{checkpoint}: not an srn_tf checkpoint folder, a SavedModel, an "
                     ".onnx or .tflite file or an original TF1 checkpoint")


def inference_options_at(checkpoint=None):
    """The `InferenceOptions` `load_deblur_model(checkpoint)` attaches, without building
    the network: a checkpoint or SavedModel folder's `srn_config.json` "inference"
    section, an export file's metadata, the release's for a TF1 checkpoint.

    Raises:
        ValueError: the section or the export file is bad.
    """
    path = resolve_model_path(checkpoint)
    if export_file_kind(path) is not None and os.path.isfile(path):
        return options_of(load_deblur_model(path))
    folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
    if not os.path.isfile(os.path.join(folder, CONFIG_FILE)):
        return RELEASE_OPTIONS
    return folder_options(folder)
