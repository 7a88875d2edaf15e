"""Grows a trained SRNDeblurNet to more channels without changing what it computes.

Every old weight is kept; the new channels get fresh Xavier-uniform weights from
every channel, and the weights from new channels into old ones are zero. The old
channels therefore see exactly what they saw before, the new ones feed nothing yet,
and the wide model's output equals the narrow one's (to float rounding). Training
then starts where the narrow model ended, with the extra capacity to use: the zero
weights get gradients as soon as the new channels carry anything, which they do
from the start (Chen et al., "Net2Net", 2016, grow a network the same way; their
wider copies replicate units, which needs the replicas split apart by noise before
they differ).
"""

import keras
import numpy as np

from srn_tf.model import SRNDeblurNet

# Keras stores a Conv2DTranspose kernel as (height, width, out, in), a Conv2D kernel as
# (height, width, in, out); SRNDeblurNet's only transposed convs are its DBlocks' `upsample`.
TRANSPOSED_KERNEL_PATH_END = "upsample/kernel"


def _path_in_model(variable):
    """The variable's path without the model's own (numbered) name: `encoder_1/conv/kernel`."""
    return variable.path.split("/", 1)[1]


def _widened_kernel(old, fresh, transposed):
    """`fresh` (the wide layer's random kernel) with `old` in its leading corner and
    zeros from new input channels into old output channels.

    Args:
        old: (k, k, in, out) array, or (k, k, out, in) if `transposed`.
        fresh: array of the same layout with at least as many ins and outs.
        transposed: whether the layout is a Conv2DTranspose kernel's.

    Returns:
        The wide kernel, an array shaped like `fresh`.
    """
    kernel = np.array(fresh)
    if transposed:  # axis 2 holds the outputs, axis 3 the inputs
        kernel[:, :, :old.shape[2], old.shape[3]:] = 0.0
    else:  # axis 2 holds the inputs, axis 3 the outputs
        kernel[:, :, old.shape[2]:, :old.shape[3]] = 0.0
    kernel[tuple(slice(0, size) for size in old.shape)] = old
    return kernel


def widen_model(model, base_filters, seed=0):
    """A copy of `model` with `base_filters` channels that computes the same outputs.

    Args:
        model: built `SRNDeblurNet` without a recurrent cell.
        base_filters: int, at least `model.base_filters`.
        seed: int, seed of the new channels' random weights.

    Returns:
        A new built `SRNDeblurNet`, float32, whose architecture differs from
        `model`'s only in `base_filters`.

    Raises:
        ValueError: `base_filters` is smaller, or the model has a recurrent cell (its
            gates are packed along the channel axis and do not widen by slicing).
    """
    if base_filters < model.base_filters:
        raise ValueError(f"base_filters must be at least the model's {model.base_filters}. "
                         f"Received: {base_filters}")
    if model.recurrent_cell is not None:
        raise ValueError(f"cannot widen a model with recurrent_cell={model.recurrent_cell!r}; "
                         "only models without one")
    keras.utils.set_random_seed(seed)
    wide = SRNDeblurNet(**{**model.architecture(), "base_filters": base_filters})
    wide.build()
    for old, new in zip(model.weights, wide.weights, strict=True):
        if _path_in_model(old) != _path_in_model(new) or len(old.shape) != len(new.shape):
            raise ValueError(f"weights do not pair up: {old.path} {old.shape} against "
                             f"{new.path} {new.shape}")
        old_value = np.asarray(old.numpy(), dtype=np.float32)
        if len(old.shape) == 4:
            transposed = new.path.endswith(TRANSPOSED_KERNEL_PATH_END)
            new.assign(_widened_kernel(old_value, new.numpy(), transposed))
        else:
            bias = np.zeros(new.shape, dtype=np.float32)
            bias[: old.shape[0]] = old_value
            new.assign(bias)
    return wide
