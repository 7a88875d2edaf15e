"""Running a quantized network file (`quantize.quantize_network`'s) with onnxruntime."""

import os

import numpy as np


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
        self._session = onnxruntime.InferenceSession(self.path,
                                                     providers=["CPUExecutionProvider"])
        self._input_name = self._session.get_inputs()[0].name

    def __call__(self, images):
        feed = {self._input_name: np.ascontiguousarray(images, np.float32)}
        return self._session.run(None, feed)[0]
