"""deblur_image: one numpy image in, its deblurred version out, any size and layout.

Under the TensorFlow backend the model runs as a traced `tf.function` with a
fixed input shape: one trace per (model, precision, padded shape), kept for the
model's lifetime, so a folder of same-size images is traced once. Under JAX and
PyTorch the model is called on the padded numpy batch as it is (everything
around the network is numpy). Lower precisions run a second instance of the
model built with a Keras mixed dtype policy (float32 variables, bfloat16 or
float16 arithmetic); its weights are copied from the model on every call, so it
always matches the model.
"""

import weakref

import keras
import numpy as np

from srn_tf.inference.postprocess.denoising import denoise_output
from srn_tf.inference.postprocess.flat_level import match_flat_level
from srn_tf.inference.flip_ensemble import flip_ensemble
from srn_tf.models.inference_options import options_for
from srn_tf.inference.postprocess.kernel_refinement import refine_with_kernel
from srn_tf.inference.postprocess.noise import noise_level
from srn_tf.models.srn_deblur_net import SRNDeblurNet
from srn_tf.precision import INT8, check_precision, keras_policy
from srn_tf.processor import resolve_precision
from srn_tf.models.padding import check_min_size, pad_to_multiple
from srn_tf.inference.samples import SCALES, from_float, to_float
from srn_tf.inference.streamed import deblur_streamed
from srn_tf.inference.tiling import check_tiling, tile_spans

_TENSORFLOW_BACKEND = keras.backend.backend() == "tensorflow"
if _TENSORFLOW_BACKEND:
    import tensorflow as tf

# tf.image.rgb_to_grayscale's weights (ITU-R BT.601), with which the release's
# gray models were trained.
_GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], np.float32)

_RUNNER_ATTRIBUTE = "_srn_tf_inference_runner"


class _Runner:
    """The traced forward passes of one model, per precision and padded shape."""

    def __init__(self, model):
        self._model = weakref.ref(model)
        self._variants = {}
        self._functions = {}
        self.trace_count = 0

    def variant(self, precision):
        """The model computing in `precision`, weights synchronised with the model."""
        model = self._model()
        policy = keras_policy(precision)
        if model.dtype_policy.name == policy:
            return model
        if precision not in self._variants:
            variant = SRNDeblurNet(**model.architecture(), dtype=policy,
                                   name=f"{model.name}_{precision}")
            variant.build()
            self._variants[precision] = variant
        variant = self._variants[precision]
        for target, source in zip(variant.weights, model.weights):
            target.assign(source)
        return variant

    def function(self, precision, shape, jit_compile=False):
        """A concrete function (batch, H, W, C) float32 -> finest level; H and W are
        multiples of the model's size multiple."""
        key = (precision, tuple(shape), jit_compile)
        if key not in self._functions:
            variant = self.variant(precision)

            def forward(images):
                self.trace_count += 1
                return variant(images, training=False)[-1]

            traced = tf.function(forward, jit_compile=jit_compile, autograph=False)
            self._functions[key] = traced.get_concrete_function(
                tf.TensorSpec(shape, tf.float32))
        return self._functions[key]


def _runner(model):
    """The model's `_Runner`, kept on the model itself so that both die together.

    (A cache keyed on the model would keep it alive: its traced functions hold
    the model.) `object.__setattr__` keeps Keras from tracking the attribute.
    """
    runner = getattr(model, _RUNNER_ATTRIBUTE, None)
    if runner is None:
        runner = _Runner(model)
        object.__setattr__(model, _RUNNER_ATTRIBUTE, runner)
    return runner


def trace_count(model):
    """How many times `deblur_image` has traced `model` (all precisions and shapes)."""
    runner = getattr(model, _RUNNER_ATTRIBUTE, None)
    return runner.trace_count if runner is not None else 0


def forward_function(model, precision="float32", shape=(1, 720, 1280, 3), jit_compile=False):
    """The cached traced forward pass `deblur_image` uses, for benchmarks and servers.

    On the CPU the traced graph without XLA is the fastest path that needs no
    optional extra (`python -m benchmarks.cpu_paths`, docs/precision-and-speed.md:
    XLA and LiteRT were slower), so `deblur_image` runs it.

    Args:
        model: an `SRNDeblurNet`.
        precision: "float32", "bfloat16" or "float16".
        shape: (batch, height, width, model.channels), sides multiples of
            `model.size_multiple`.
        jit_compile: compile with XLA.

    Returns:
        A concrete function mapping a float32 tensor of `shape` in [0, 1] to the
        finest level's float32 output of the same shape.
    """
    if not _TENSORFLOW_BACKEND:
        raise RuntimeError("forward_function traces a tf.function: it needs "
                           f"KERAS_BACKEND=tensorflow (Keras runs on {keras.backend.backend()})")
    check_precision(precision)
    return _runner(model).function(precision, shape, jit_compile)


def _padded_run(model, precision):
    """A function running (batch, h, w, c) float32 arrays of any size through `model`.

    `model` is an `SRNDeblurNet`, or any callable on padded float32 batches with
    `channels` and `size_multiple` attributes (e.g. `SavedModelRunner`); one whose
    `pads_input` attribute is True pads them itself and gets them unpadded (e.g.
    `LiteRTRunner`, whose file takes one fixed size that it pads to). In "int8" an
    `SRNDeblurNet` runs as its quantized network (`srn_tf.inference.int8`).
    """
    multiple = model.size_multiple
    if not isinstance(model, SRNDeblurNet) and precision != "float32":
        raise ValueError(f"precision={precision!r} needs an srn_tf model; "
                         f"{type(model).__name__} runs as it was exported")
    if precision == INT8:
        from srn_tf.inference.int8.quantize import int8_network

        model = int8_network(model)
    if not isinstance(model, SRNDeblurNet):
        pads_input = getattr(model, "pads_input", False)

        def run_callable(images):
            height, width = images.shape[1:3]
            if not pads_input:
                images = pad_to_multiple(images, multiple)
            return np.asarray(model(images))[:, :height, :width]

        return run_callable

    runner = _runner(model)
    variant = runner.variant(precision)  # synchronises the variant's weights once per image

    if not _TENSORFLOW_BACKEND:
        def run_eagerly(images):
            height, width = images.shape[1:3]
            outputs = variant(pad_to_multiple(images, multiple), training=False)[-1]
            return keras.ops.convert_to_numpy(outputs)[:, :height, :width]

        return run_eagerly

    def run(images):
        height, width = images.shape[1:3]
        padded = pad_to_multiple(tf.constant(images), multiple)
        function = runner.function(precision, tuple(padded.shape))
        return function(padded).numpy()[:, :height, :width]

    return run


def _fits_one_tile(image, tile, multiple):
    """Whether `image`, padded to `multiple`, is one tile of side `tile` (it then runs
    whole, its memory bounded by the tile)."""
    return all(len(tile_spans(side + -side % multiple, tile, 0, multiple)) == 1
               for side in image.shape[:2])


def _check_image(image, model):
    if not isinstance(image, np.ndarray):
        raise TypeError(f"deblur_image takes a numpy array. Received: {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError("deblur_image takes a (height, width, channels) image with 1, 3 or "
                         f"4 channels. Received shape {image.shape}")
    if image.dtype not in SCALES:
        raise ValueError("deblur_image takes uint8, uint16 or float32 images. "
                         f"Received dtype {image.dtype}")
    check_min_size(image.shape[0], image.shape[1], model.size_multiple)


def _to_model_batch(model, planes):
    """(H, W, C) float32 planes -> (batch, H, W, model.channels) as the release runs them.

    Gray models take each plane as one image of a batch (the release's RGB
    handling); the color model takes a gray image replicated to RGB.
    """
    if model.channels == 1:
        return np.moveaxis(planes, -1, 0)[..., None]
    if planes.shape[-1] == 1:
        planes = np.repeat(planes, 3, axis=-1)
    return planes[None]


def _from_model_batch(model, outputs, channels):
    """Inverse of `_to_model_batch`: (H, W, channels) float32."""
    if model.channels == 1:
        return np.moveaxis(outputs[..., 0], 0, -1)
    if channels == 1:
        return outputs[0] @ _GRAY_WEIGHTS[:, None]
    return outputs[0]


def deblur_image(model, image, options=None, precision="auto", tile=None, tile_overlap=None):
    """Deblurs one image of any size, type and channel count.

    The image is edge-padded at the bottom and right to a multiple of the
    model's `size_multiple` (16 for the release's networks; as the
    release pads), run, and cropped back. Gray and lstm models run each plane of
    an RGB image separately (as the release); the color model runs a gray image
    replicated to RGB and returns the BT.601 luma of its result. An alpha channel
    is passed through unchanged. Integer outputs are `clip(x, 0, 1) * 255` (or
    65535) truncated to integers, as the release writes its results.

    Args:
        model: an `SRNDeblurNet` (e.g. from `srn_tf.load_model`), or a
            `SavedModelRunner` (an `srn-export` SavedModel; float32 only).
        image: (height, width, channels) numpy array, channels 1, 3 or 4, dtype
            uint8, uint16 or float32 in [0, 1]; at least 16 pixels a side.
        options: the `InferenceOptions` of the steps around the network, in this
            order: `flips` copies run and averaged (1: once, as the release; 2
            also flipped left to right, 4 also upside down and both, 8 also
            those 4 of the transpose; each tile's, when tiled), then
            `flat_level` (`postprocess.flat_level`), `kernel_refinement` where
            one kernel explains the whole image (`postprocess.kernel_refinement`,
            `postprocess.kernel_agreement`) and `denoise` (`postprocess.denoising`).
            None: the model's own (`model.inference_options`, from its folder's
            `srn_config.json`: the bundled model's is the "standard" quality of
            `inference_options.QUALITY_MODES`; a model without one runs once and
            returns the network's output, as the release).
            `srn_tf.quality_options("best")` names a quality mode's options;
            `options_of(model).override(flips=4)` changes one step of the model's.
        precision: "auto" (the processor's native precision,
            `srn_tf.processor.resolve_precision`: bfloat16 on CPUs with AMX, AMD's
            AVX512_BF16 or Arm's BF16, float16 on GPUs with tensor cores, else float32),
            "float32" (the release's arithmetic, bit for bit), "bfloat16",
            "float16" (docs/precision-and-speed.md) or "int8" (the network
            quantized by onnxruntime, made once per model and cached:
            `srn_tf.inference.int8`; needs the `onnx` extra, and refused with
            `Int8Refused`, a ValueError, for a model it deblurs worse). An export (e.g.
            `SavedModelRunner`) runs float32 only, which "auto" then is.
        tile: None to run the whole image at once, else the largest tile side in
            pixels (at least 4 size multiples, `tiling.smallest_tile`): an image
            larger than one tile runs every step in overlapping tiles, blended
            without seams, in memory that grows only by the input, the output and
            a uint16 copy of the network's output (`streamed`). Tiles only
            approximate the whole-image result (see docs/tiling.md).
        tile_overlap: least overlap of neighbouring tiles in pixels, below `tile`
            (default `tiling.default_overlap`: 64, at most half the tile).

    Returns:
        The deblurred image, same shape and dtype as `image`.
    """
    _check_image(image, model)
    precision = resolve_precision(precision,
                                  exported=not isinstance(model, SRNDeblurNet)).precision
    options = options_for(model, options)
    dtype = image.dtype
    channels = 3 if image.shape[2] == 4 else image.shape[2]
    run = flip_ensemble(_padded_run(model, precision), options.flips)
    if tile is not None:
        overlap = check_tiling(tile, tile_overlap, model.size_multiple)
        if not _fits_one_tile(image, tile, model.size_multiple):
            def network(planes):
                outputs = run(_to_model_batch(model, planes[0]))
                return _from_model_batch(model, outputs, channels)[None]

            return deblur_streamed(image, network, channels, model.size_multiple, options,
                                   tile, overlap)
    planes = to_float(image[:, :, :channels])
    result = _from_model_batch(model, run(_to_model_batch(model, planes)), channels)
    if options.flat_level:
        result = match_flat_level(planes, result)
    # Refinement and denoising both need the input's noise level: estimated once.
    noise = noise_level(planes) if options.kernel_refinement or options.denoise else None
    if options.kernel_refinement:
        result = refine_with_kernel(planes, result, noise)
    if options.denoise:
        result = denoise_output(planes, result, noise)
    result = from_float(result, dtype)
    if image.shape[2] == 4:
        result = np.concatenate([result, image[:, :, 3:]], axis=-1)
    return result
