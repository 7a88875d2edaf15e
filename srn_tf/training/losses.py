"""Training losses over the model's levels: the release's (mean squared error at
every level, summed) and a per-image PSNR loss (`--loss=psnr`, not in the release)."""

import tensorflow as tf

from srn_tf.models.legacy_resize import legacy_bilinear_resize, spatial_size


# Added to each image's mean squared error before its log in `multiscale_psnr_loss`:
# caps a crop's contribution at 60 dB, so a flat crop the network already gets
# almost exactly right cannot take over the batch's gradient.
PSNR_LOSS_EPSILON = 1e-6


def _level_targets(sharp, outputs):
    """Pairs each level's output (float32) with the sharp image resized to its size."""
    sharp = tf.cast(sharp, tf.float32)
    return [(legacy_bilinear_resize(sharp, spatial_size(output)), tf.cast(output, tf.float32))
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
    per_level = [tf.reduce_mean(tf.square(target - output))
                 for target, output in _level_targets(sharp, outputs)]
    return tf.add_n(per_level), per_level


def multiscale_psnr_loss(sharp, outputs):
    """Sum over levels of minus the mean per-image PSNR (peak 1), in dB.

    The release's MSE lets the images with the largest errors (dense texture,
    long blur) set the gradient, while a score is a mean of per-image PSNRs, in
    which a smooth image made 0.5 dB worse counts as much as a textured one made
    0.5 dB better. This loss is that score: each image's level loss is
    10 * log10(its MSE + `PSNR_LOSS_EPSILON`). Not in the release.

    Args and returns: as `multiscale_loss`; each level's value is a mean over
    the batch of 10 * log10(mse), so it is negative (-30 for 30 dB).
    """
    per_level = []
    for target, output in _level_targets(sharp, outputs):
        image_mse = tf.reduce_mean(tf.square(target - output), axis=[1, 2, 3])
        per_level.append(tf.reduce_mean(
            10.0 * tf.math.log(image_mse + PSNR_LOSS_EPSILON) / tf.math.log(10.0)))
    return tf.add_n(per_level), per_level


# --loss: the release's "mse" and this project's "psnr".
LOSSES = {"mse": multiscale_loss, "psnr": multiscale_psnr_loss}


def loss_function(name):
    """The loss called `name` in `LOSSES`; ValueError naming the choices otherwise."""
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}. Received: {name!r}")
    return LOSSES[name]
