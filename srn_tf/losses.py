"""The release's training loss: mean squared error at every level, summed."""

import tensorflow as tf

from srn_tf.resize import legacy_bilinear_resize, spatial_size


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
    sharp = tf.cast(sharp, tf.float32)
    per_level = []
    for output in outputs:
        target = legacy_bilinear_resize(sharp, spatial_size(output))
        per_level.append(tf.reduce_mean(tf.square(target - tf.cast(output, tf.float32))))
    return tf.add_n(per_level), per_level
