"""The network in int8 (`deblur_image(..., precision="int8")`, `--precision=int8`).

The network alone (no padding, no post-processing) is converted to ONNX, quantized
by onnxruntime (static QDQ, weights per output channel, activation ranges calibrated
on synthetic blur, `srn_tf.data.synth.calibration`) and run by onnxruntime on the
CPU, where int8 dot products (AVX512-VNNI, AVX-VNNI, Arm's dot product) cost less
than float32's. Quantizing takes a while, so the result is kept in a cache folder
(`cache_folder`), one file per model's weights, architecture and recipe; later runs
read it. A quantized network whose gain on the check images falls more than
`quantize.MAX_GAIN_LOSS_DB` below float32's is not offered: the run is refused.

This module imports neither TensorFlow nor the runtimes, so the console scripts can
check for them before TensorFlow loads.
"""

import importlib.util
import os

# The modules quantization needs, all installed by the `onnx` extra.
MODULES = ("onnxruntime", "onnx", "tf2onnx")
EXTRA = "onnx"
# Moves the cache folder (default: $XDG_CACHE_HOME/srn-tf/int8, or ~/.cache/srn-tf/int8).
CACHE_VARIABLE = "SRN_TF_INT8_CACHE"


def missing_modules_message():
    """Why int8 cannot run here (the modules missing and the pip command), or None."""
    missing = [module for module in MODULES if importlib.util.find_spec(module) is None]
    if not missing:
        return None
    return (f"precision int8 needs {', '.join(missing)}, not installed: "
            f"pip install 'srn-tf[{EXTRA}]'")


def cache_folder():
    """The folder quantized networks are kept in: $SRN_TF_INT8_CACHE, else
    $XDG_CACHE_HOME/srn-tf/int8, else ~/.cache/srn-tf/int8."""
    if os.environ.get(CACHE_VARIABLE):
        return os.environ[CACHE_VARIABLE]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "srn-tf", "int8")
