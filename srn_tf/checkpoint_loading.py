"""One entry point for the console scripts: a model from any checkpoint they accept."""

import os

from srn_tf.model_types import build_model
from srn_tf.saving import load_model
from srn_tf.tf1_checkpoint import is_tf1_checkpoint, load_tf1_checkpoint


def load_checkpoint(path, model_type=None, dtype=None):
    """Returns the model stored at `path`, whichever kind of checkpoint it is.

    Args:
        path: an srn_tf checkpoint folder (or prefix) written by `save_model`,
            `srn-convert` or `srn-train`; or an original release TF1 checkpoint
            (prefix such as `.../deblur.model-523000`, or its folder).
        model_type: "color", "gray" or "lstm": the release model type a TF1
            checkpoint was trained as. Ignored for srn_tf folders, which record it.
        dtype: Keras dtype policy to build with (None: float32).

    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: not a checkpoint, or a TF1 checkpoint without `model_type` or
            of another model type; the message names the path.
    """
    path = os.fspath(path)
    if not os.path.exists(path) and not os.path.exists(path + ".index"):
        raise FileNotFoundError(f"{path}: no such checkpoint")
    if is_tf1_checkpoint(path):
        if model_type is None:
            raise ValueError(f"{path}: is an original TF1 checkpoint; say which model type it "
                             "is (--model=color|gray|lstm)")
        model = build_model(model_type, dtype=dtype)
        load_tf1_checkpoint(model, path)
        return model
    return load_model(path, dtype=dtype)
