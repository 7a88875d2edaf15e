"""What the ONNX and LiteRT parity tests share: small models, and running an export in a
process that never imports srn_tf (nor TensorFlow)."""

import os
import subprocess
import sys

import keras
import numpy as np

import srn_tf

SIZES = ((35, 51), (48, 64))  # an odd size the graph pads, and a multiple of 16
MODEL_TYPES = ("color", "gray")
ENVIRONMENT = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def small_model(model_type, seed):
    """A small `model_type` network with seeded random weights."""
    keras.utils.set_random_seed(seed)
    return srn_tf.build_model(model_type, base_filters=4, blocks_per_stage=1)


def run_without_srn_tf(folder, script_text, files, inputs):
    """Writes `script_text` into `folder` and runs it in a fresh interpreter on `files` and
    the arrays of `inputs`; returns the arrays it saved (its outputs)."""
    np.savez(folder / "inputs.npz", **inputs)
    script = folder / "run_export.py"
    script.write_text(script_text)
    result = subprocess.run(
        [sys.executable, str(script), ",".join(map(str, files)), str(folder / "inputs.npz"),
         str(folder / "outputs.npz")],
        cwd=folder, capture_output=True, text=True, timeout=300, env=ENVIRONMENT)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(np.load(folder / "outputs.npz"))
