"""Running ONNX and LiteRT files written by `srn-export` where an SRNDeblurNet is expected.

Each runner is callable on float32 (batch, height, width, 3) batches in [0, 1]
of any size (`pads_input`: the file's graph pads them to the size multiple, and
the LiteRT runner to its file's fixed size, so `srn_tf.deblur_image` hands them
over unpadded) and returns the deblurred
float32 batch of the same shape, computed by onnxruntime or LiteRT, not by
TensorFlow. Like `SavedModelRunner`, it has `channels` (3: gray images are
replicated to RGB; gray models' per-channel runs happen inside the file's graph),
`size_multiple` (read from the file's `srn_config` metadata) and
`inference_options` (the post-processing defaults of the model exported, from the
same metadata; the release's when the file has none), which `deblur_image`
runs around the file's network.

Only float32 files run here: a uint8 file's input has lost the precision the
post-processing and 16-bit images need. Importing this module loads neither
TensorFlow nor the runtimes, so the console scripts can check for them first.
"""

import json
import os

import numpy as np

from srn_tf.models.inference_options import ATTRIBUTE, InferenceOptions
from srn_tf.processor import usable_cpus

ONNX_EXTENSION = ".onnx"
LITERT_EXTENSION = ".tflite"
# The extra that installs each runtime, named in the message when it is missing.
RUNTIMES = {ONNX_EXTENSION: ("onnxruntime", "onnx"), LITERT_EXTENSION: ("ai_edge_litert", "litert")}


def export_file_kind(path):
    """ONNX_EXTENSION or LITERT_EXTENSION when `path` names such a file by its extension,
    else None."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    return extension if extension in RUNTIMES else None


def missing_runtime_message(path):
    """Why the runtime for export file `path` cannot be imported, or None when it can."""
    import importlib.util

    module, extra = RUNTIMES[export_file_kind(path)]
    if importlib.util.find_spec(module) is None:
        return (f"{path}: running it needs {module}, which is not installed: "
                f"pip install 'srn-tf[{extra}]'")
    return None


def apply_exported_config(runner, config):
    """Sets `runner.size_multiple` and its `inference_options` from the `srn_config`
    (a dict, {} when absent) an export carries: the SavedModel's srn_config.json, an
    ONNX or LiteRT file's metadata.

    Raises:
        ValueError: the "inference" section names an unknown option or a bad value.
    """
    from srn_tf.models.srn_deblur_net import size_multiple

    architecture = config.get("model", {})
    runner.size_multiple = size_multiple(architecture.get("num_scales", 3),
                                         architecture.get("scale_factor", 0.5))
    setattr(runner, ATTRIBUTE, InferenceOptions.from_config(config.get("inference")))


def _apply_metadata(runner, metadata, path):
    """Sets `size_multiple` and `inference_options` from an export file's metadata."""
    try:
        apply_exported_config(runner, json.loads(metadata.get("srn_config", "{}")))
    except (ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"{path}: bad srn_config metadata ({error})") from None


class OnnxRunner:
    """An `srn-export` ONNX file (NHWC or NCHW, float32), run by onnxruntime on the CPU.

    Args:
        path: the .onnx file.

    Call arguments:
        images: (batch, height, width, 3) float32 array or tensor in [0, 1].

    Returns:
        (batch, height, width, 3) float32 numpy array.
    """

    channels = 3
    pads_input = True

    def __init__(self, path):
        self.path = os.fspath(path)
        message = missing_runtime_message(self.path)
        if message:
            raise ValueError(message)
        import onnxruntime

        try:
            self._session = onnxruntime.InferenceSession(
                self.path, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise ValueError(f"{self.path}: not an ONNX model onnxruntime can run "
                             f"({str(error).splitlines()[0]})") from None
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"{self.path}: needs one input and one output (srn-export's); "
                             f"has {len(inputs)} and {len(outputs)}")
        if inputs[0].type != "tensor(float)":
            raise ValueError(f"{self.path}: takes {inputs[0].type}; srn-deblur runs float32 "
                             "exports (srn-export --input_dtype=float32)")
        self._input_name = inputs[0].name
        metadata = self._session.get_modelmeta().custom_metadata_map
        shape = inputs[0].shape
        self.layout = metadata.get("layout") or ("nchw" if len(shape) == 4 and shape[1] == 3
                                                 else "nhwc")
        _apply_metadata(self, metadata, self.path)

    def __call__(self, images):
        images = np.asarray(images, np.float32)
        if self.layout == "nchw":
            images = images.transpose(0, 3, 1, 2)
        (result,) = self._session.run(None, {self._input_name: np.ascontiguousarray(images)})
        return result.transpose(0, 2, 3, 1) if self.layout == "nchw" else result


class LiteRTRunner:
    """An `srn-export` .tflite file, run by LiteRT (`ai_edge_litert`) with XNNPACK.

    The file takes one fixed (1, height, width, 3) size. Each image of a batch
    runs alone; one smaller than that size is edge-padded to it at the bottom and
    right (as the release's fixed-size mode pads) and cropped back, one larger is
    refused: run it in tiles no larger than the file's size (srn-deblur --tile).

    Args:
        path: the .tflite file.
        num_threads: LiteRT's threads (default: the CPUs this process may use).

    Call arguments:
        images: (batch, height, width, 3) float32 array or tensor in [0, 1].

    Returns:
        (batch, height, width, 3) float32 numpy array.
    """

    channels = 3
    pads_input = True

    def __init__(self, path, num_threads=None):
        self.path = os.fspath(path)
        message = missing_runtime_message(self.path)
        if message:
            raise ValueError(message)
        from ai_edge_litert.interpreter import Interpreter

        with open(self.path, "rb") as handle:
            content = handle.read()
        try:
            self._interpreter = Interpreter(
                model_content=content,
                num_threads=num_threads or usable_cpus())
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"{self.path}: not a LiteRT model LiteRT can run "
                             f"({str(error).splitlines()[0]})") from None
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"{self.path}: needs one input and one output (srn-export's); "
                             f"has {len(inputs)} and {len(outputs)}")
        if inputs[0]["dtype"] != np.float32:
            raise ValueError(f"{self.path}: takes {np.dtype(inputs[0]['dtype']).name}; "
                             "srn-deblur runs float32 exports (srn-export --input_dtype=float32)")
        self._input_index = inputs[0]["index"]
        self._output_index = outputs[0]["index"]
        self.height, self.width = (int(side) for side in inputs[0]["shape"][1:3])
        from srn_tf.checkpoints.litert_metadata import read_metadata

        _apply_metadata(self, read_metadata(content), self.path)

    def __call__(self, images):
        images = np.asarray(images, np.float32)
        height, width = images.shape[1:3]
        if height > self.height or width > self.width:
            raise ValueError(
                f"{self.path}: takes images up to {self.height}x{self.width} (its fixed "
                f"size); this one is {height}x{width}: run it in tiles "
                f"(srn-deblur --tile={min(self.height, self.width)}) or export a larger size")
        results = []
        for image in images:
            padded = np.pad(image, [(0, self.height - height), (0, self.width - width), (0, 0)],
                            mode="edge")
            self._interpreter.set_tensor(self._input_index, padded[None])
            self._interpreter.invoke()
            results.append(self._interpreter.get_tensor(self._output_index)[0, :height, :width])
        return np.stack(results)
