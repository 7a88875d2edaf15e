"""Quantizing a network to int8 once, checking it, and keeping it in the cache folder.

The recipe (`RECIPE`, part of every cache key): the network's finest output as an
ONNX graph (tf2onnx, dynamic batch, height and width), its stride-2 transposed
convolutions rewritten as sub-pixel convolutions (`subpixel`: onnxruntime runs
ConvTranspose in float32, Conv in int8), pre-processed by onnxruntime (shape
inference, graph optimisation), then `onnxruntime.quantization.quantize_static`
in QDQ format: weights int8 per output channel, activations uint8 per tensor, their
ranges the minimum and maximum seen on `calibration.CALIBRATION_PHOTOS`' blurred
crops. Then the check: the network's mean PSNR against the sharp crops of
`calibration.CHECK_PHOTOS` (photographs calibration never saw), int8 against
float32; more than `MAX_GAIN_LOSS_DB` lower and the network is not offered.

Per model (`model_key`: a hash of the recipe, the library versions, the architecture
and the weights) the cache folder holds `<key>.json` (the check's figures and whether
it passed) and, when it passed, `<key>.onnx`. Both are written atomically.
"""

import hashlib
import json
import os
import sys
import tempfile

import numpy as np

from srn_tf.atomic_files import atomic_file, write_json
from srn_tf.data.synth import calibration
from srn_tf.inference.int8 import cache_folder, missing_modules_message
from srn_tf.inference.int8.runner import Int8Network
from srn_tf.inference.int8.subpixel import rewrite_transposed_convolutions
from srn_tf.inference.onnx_graph import convert_to_onnx

OPSET = 17
# The operators quantized; the rest stay float32 between their inputs' and outputs'
# dequantize and quantize nodes. Quantizing the additions, concatenations, resizes and
# pads as well as the convolutions keeps whole blocks in int8 (fewer conversions): at
# 1280x720, in turns, the bundled network took 1.57x float32's time with Conv alone
# against 1.14x with this list (docs/precision-and-speed.md, "int8", its table).
OP_TYPES = ("Conv", "ConvTranspose", "Add", "Relu", "Concat", "Mul", "Resize", "Pad", "Slice")
# The most the int8 network's mean PSNR on the check crops may fall below float32's.
MAX_GAIN_LOSS_DB = 0.1
RECIPE = {
    "version": 2, "opset": OPSET, "format": "QDQ", "per_channel": True, "subpixel": True,
    "weights": "QInt8", "activations": "QUInt8", "calibration": "MinMax",
    "op_types": list(OP_TYPES), "calibration_photos": list(calibration.CALIBRATION_PHOTOS),
    "check_photos": list(calibration.CHECK_PHOTOS), "crop": calibration.CROP,
    "pairs_per_photo": calibration.PAIRS_PER_PHOTO, "seed": calibration.SEED,
    "max_gain_loss_db": MAX_GAIN_LOSS_DB,
}


class Int8Refused(ValueError):
    """int8 is not offered for this model (its extra is missing, or it failed the check)."""


def model_key(model):
    """A hex digest naming `model`'s int8 network: the recipe, the versions of the
    libraries that make it, the architecture and every weight's bytes."""
    import onnx
    import onnxruntime
    import tf2onnx

    digest = hashlib.sha256(json.dumps(
        {"recipe": RECIPE, "architecture": model.architecture(),
         "versions": [onnxruntime.__version__, onnx.__version__, tf2onnx.__version__]},
        sort_keys=True).encode())
    for weight in model.weights:
        digest.update(np.ascontiguousarray(weight.numpy(), np.float32).tobytes())
    return digest.hexdigest()[:32]


def network_function(model):
    """The `tf.function` converted: float32 (batch, height, width, model.channels) in
    [0, 1], sides multiples of `model.size_multiple` -> the finest level, same shape."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, None, None, model.channels), tf.float32, name="images")
    return tf.function(lambda images: model(images, training=False)[-1],
                       input_signature=[spec], autograph=False)


def _model_batch(model, batch):
    """A (1, height, width, 3) RGB batch as `model` takes it: gray models run each colour
    plane as one image of a (3, height, width, 1) batch, as `deblur_image` runs them."""
    return np.moveaxis(batch[0], -1, 0)[..., None] if model.channels == 1 else batch


class _Batches:
    """onnxruntime's `CalibrationDataReader` protocol over a list of input batches."""

    def __init__(self, input_name, batches):
        self._feeds = iter([{input_name: batch} for batch in batches])

    def get_next(self):
        return next(self._feeds, None)


def quantize_network(model, path):
    """Writes `model`'s network quantized by `RECIPE` to the ONNX file `path` (atomically)."""
    import onnx
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    proto = convert_to_onnx(network_function(model), OPSET)
    rewrite_transposed_convolutions(proto)
    pairs = calibration.blurred_pairs(calibration.CALIBRATION_PHOTOS)
    batches = [_model_batch(model, batch) for batch in calibration.calibration_batches(pairs)]
    with tempfile.TemporaryDirectory(prefix="srn-tf-int8-") as folder:
        float_path = os.path.join(folder, "network.onnx")
        prepared_path = os.path.join(folder, "prepared.onnx")
        onnx.save(proto, float_path)
        quant_pre_process(float_path, prepared_path, skip_symbolic_shape=True)
        with atomic_file(path) as temporary:
            quantize_static(prepared_path, temporary,
                            _Batches(proto.graph.input[0].name, batches),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            op_types_to_quantize=list(OP_TYPES),
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
    return path


def check_gain(model, network):
    """The check's figures: mean PSNR (8-bit, peak 255) of the blurred check crops, of
    float32's and of the int8 `network`'s outputs against the sharp crops, and whether
    int8 is offered (at most `MAX_GAIN_LOSS_DB` below float32)."""
    from skimage.metrics import peak_signal_noise_ratio

    def to_uint8(images):
        return (np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)  # as deblur_image does

    scores = {"blurred": [], "float32": [], "int8": []}
    for sharp, blurred in calibration.blurred_pairs(calibration.CHECK_PHOTOS):
        batch = _model_batch(model, calibration.calibration_batches([(sharp, blurred)])[0])
        outputs = {"blurred": batch, "int8": network(batch),
                   "float32": np.asarray(model(batch, training=False)[-1])}
        for name, output in outputs.items():
            image = to_uint8(np.moveaxis(output[..., 0], 0, -1) if model.channels == 1
                             else output[0])
            scores[name].append(peak_signal_noise_ratio(sharp, image, data_range=255))
    figures = {f"{name}_psnr": float(np.mean(values)) for name, values in scores.items()}
    figures["offered"] = figures["int8_psnr"] >= figures["float32_psnr"] - MAX_GAIN_LOSS_DB
    return figures


def refusal_message(figures):
    """The one line that refuses int8 for a model that failed the check."""
    loss = figures["float32_psnr"] - figures["int8_psnr"]
    return (f"precision int8 is not offered for this model: quantized, it deblurs the check "
            f"images {loss:.2f} dB worse than float32 (at most {MAX_GAIN_LOSS_DB} dB allowed); "
            "use --precision=auto or float32")


def quantized_network_path(model, folder=None):
    """The cached int8 ONNX file of `model`, made and checked first when not yet there.

    Args:
        model: a built `SRNDeblurNet` (TensorFlow backend).
        folder: the cache folder (None: `cache_folder()`).

    Returns:
        The path of `<key>.onnx`.

    Raises:
        Int8Refused: the extra is missing, or the model failed the check (now or
            when it was first quantized: the refusal is kept too).
    """
    message = missing_modules_message()
    if message:
        raise Int8Refused(message)
    folder = folder or cache_folder()
    key = model_key(model)
    path, record = os.path.join(folder, f"{key}.onnx"), os.path.join(folder, f"{key}.json")
    if os.path.isfile(record):
        with open(record, encoding="utf-8") as handle:
            figures = json.load(handle)
        if not figures["offered"]:
            raise Int8Refused(refusal_message(figures))
        if os.path.isfile(path):
            return path
    print(f"srn-tf: quantizing the network to int8 for this model, once (it takes a minute or "
          f"so); later runs read it from {folder}", file=sys.stderr, flush=True)
    os.makedirs(folder, exist_ok=True)
    quantize_network(model, path)
    figures = dict(check_gain(model, _open(model, path)), recipe=RECIPE)
    write_json(figures, record)
    if not figures["offered"]:
        os.remove(path)
        raise Int8Refused(refusal_message(figures))
    return path


def _open(model, path):
    return Int8Network(path, model.channels, model.size_multiple)


# Where `int8_network` keeps a model's open network, on the model itself (as
# `deblur`'s traced functions), so that both die together.
_ATTRIBUTE = "_srn_tf_int8_network"


def int8_network(model, folder=None):
    """`model`'s network in int8, an `Int8Network`: read from the cache folder, or
    quantized and checked first (`quantized_network_path`). Kept open on the model
    while its weights stay the same.

    Raises:
        Int8Refused: `model` is not an `SRNDeblurNet` (an export), the extra is
            missing, the model failed the check, or Keras runs on another backend than
            TensorFlow (the conversion traces a tf.function).
    """
    import keras

    from srn_tf.models.srn_deblur_net import SRNDeblurNet

    if not isinstance(model, SRNDeblurNet):
        raise Int8Refused(f"precision int8 quantizes an srn_tf model; {type(model).__name__} "
                          "runs as it was exported")
    if keras.backend.backend() != "tensorflow":
        raise Int8Refused("precision int8 converts the network with TensorFlow: it needs "
                          f"KERAS_BACKEND=tensorflow (Keras runs on {keras.backend.backend()})")
    path = quantized_network_path(model, folder)
    network = getattr(model, _ATTRIBUTE, None)
    if network is None or network.path != path:
        network = _open(model, path)
        object.__setattr__(model, _ATTRIBUTE, network)
    return network
