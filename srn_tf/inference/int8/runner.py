"""Running a quantized network file (`quantize.quantize_network`'s) with onnxruntime."""

import os

import numpy as np

from srn_tf.processor import usable_cpus


def session_options():
    """onnxruntime's options for the int8 network: every graph optimisation (the
    quantized operators' fusions, the int8 convolutions' channels-last layout), one
    thread per CPU this process may use, run in sequence, and threads that sleep
    instead of spinning between operators. Spinning threads wait for a busy core:
    with other processes on the cores the bundled network took 0.72x float32's time
    sleeping against 0.99x spinning (docs/precision-and-speed.md, "int8")."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = usable_cpus()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class Int8Network:
    """An int8 ONNX network, callable where `deblur_image` calls a model on padded batches.

    Args:
        path: the quantized .onnx file (its input (batch, height, width, channels)).
        channels: the network's channels (3, or 1 for gray models).
        size_multiple: what its input's height and width must be multiples of.

    Call arguments:
        images: (batch, height, width, channels) float32 in [0, 1], sides multiples
            of `size_multiple`.

    Returns:
        (batch, height, width, channels) float32 numpy array: the finest level.
    """

    pads_input = False  # `deblur_image` pads to the size multiple first

    def __init__(self, path, channels, size_multiple):
        import onnxruntime

        self.path = os.fspath(path)
        self.channels = channels
        self.size_multiple = size_multiple
        self._session = onnxruntime.InferenceSession(self.path, session_options(),
                                                     providers=["CPUExecutionProvider"])
        self._input_name = self._session.get_inputs()[0].name

    def __call__(self, images):
        feed = {self._input_name: np.ascontiguousarray(images, np.float32)}
        return self._session.run(None, feed)[0]
