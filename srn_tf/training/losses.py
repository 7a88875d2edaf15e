"""The training loss over the model's levels: the release's mean squared error at
every level, summed (`--loss=mse`).

In `keras.ops`, so that the TensorFlow step (`train_step.py`) and the JAX step
(`jax_train_step.py`) share it; under TensorFlow these are the same TF ops as before.
"""

from keras import ops

from srn_tf.models.legacy_resize import legacy_bilinear_resize, spatial_size


def _level_targets(sharp, outputs):
    """Pairs each level's output (float32) with the sharp image resized to its size."""
    sharp = ops.cast(sharp, "float32")
    return [(legacy_bilinear_resize(sharp, spatial_size(output)), ops.cast(output, "float32"))
            for output in outputs]


def multiscale_loss(sharp, outputs):
    """Sum over levels of the mean squared error against the resized sharp image.

    The sharp image is brought to each level's size with the model's own resize
    (TF1 legacy bilinear), and every level weighs 1, as in the release.

    Args:
        sharp: (batch, height, width, channels) float tensor in [0, 1].
        outputs: the model's levels, coarse to fine, each (batch, h_i, w_i, channels)
            float32.

    Returns:
        (total, per_level): float32 scalar and a list of float32 scalars, each a
        mean over every element of its level.
    """
    per_level = [ops.mean(ops.square(target - output))
                 for target, output in _level_targets(sharp, outputs)]
    return sum(per_level[1:], per_level[0]), per_level


# --loss: the release's mean squared error (the only choice; the flag stays so that
# scripts passing --loss=mse keep working).
LOSSES = {"mse": multiscale_loss}


def loss_function(name):
    """The loss called `name` in `LOSSES`; ValueError naming the choices otherwise."""
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}. Received: {name!r}")
    return LOSSES[name]
