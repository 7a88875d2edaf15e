"""The training losses: the per-image PSNR loss against its definition.

The release's MSE loss is checked against the TF1 training graph in
test_training_recipe.py.
"""

import numpy as np
import pytest
import tensorflow as tf

from srn_tf.evaluation import metrics
from srn_tf.training.losses import PSNR_LOSS_EPSILON, multiscale_loss, multiscale_psnr_loss
from srn_tf.models.legacy_resize import legacy_bilinear_resize
from srn_tf.training.train_step import make_optimizer, make_train_step
from srn_tf.training.trainer import TrainingConfig

import srn_tf

LEVEL_SIZES = (8, 16, 32)  # coarse to fine, as the model's three levels


def _levels_with_errors(sharp, errors):
    """The sharp batch resized to each level, image i offset by errors[i]."""
    offsets = np.asarray(errors, np.float32)[:, None, None, None]
    return [legacy_bilinear_resize(sharp, (size, size)) + offsets for size in LEVEL_SIZES]


@pytest.fixture
def sharp():
    return tf.constant(np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)), tf.float32)


def test_psnr_loss_is_minus_the_mean_per_image_psnr_at_every_level(sharp):
    # Images with errors 0.1 and 0.01 everywhere: PSNR 20 and 40 dB at every level.
    outputs = _levels_with_errors(sharp, [0.1, 0.01])
    total, per_level = multiscale_psnr_loss(sharp, outputs)
    fine = outputs[-1].numpy()
    psnrs = [metrics.psnr(fine[i], sharp.numpy()[i], data_range=1.0) for i in range(2)]
    assert psnrs == pytest.approx([20.0, 40.0], abs=1e-3)
    # MATLAB's PSNR with the epsilon added to each MSE (it lowers the 40 dB image
    # to 39.957 dB); 0.001 dB is float32 arithmetic's share.
    expected = np.mean([10 * np.log10(10 ** (-p / 10) + PSNR_LOSS_EPSILON) for p in psnrs])
    for value in per_level:
        assert float(value) == pytest.approx(expected, abs=1e-3)
    assert float(total) == pytest.approx(3 * expected, abs=3e-3)


def test_psnr_loss_counts_a_db_the_same_on_every_image_unlike_mse(sharp):
    # Halving one image's error gains 6.02 dB on it, whichever image it is: the
    # PSNR loss falls by the same 3.01 dB (mean of two) at each level; the MSE loss
    # falls (0.1 / 0.03)^2 = 11.1 times more when the halved error is the large one.
    base = [0.1, 0.03]
    psnr_drops, mse_drops = [], []
    for image in range(2):
        halved = list(base)
        halved[image] /= 2
        for loss, drops in ((multiscale_psnr_loss, psnr_drops), (multiscale_loss, mse_drops)):
            drops.append(float(loss(sharp, _levels_with_errors(sharp, base))[0])
                         - float(loss(sharp, _levels_with_errors(sharp, halved))[0]))
    # 0.03 dB: the epsilon takes 0.015 dB off the small error's gain (0.005 dB of
    # the large one's), at each of the three levels.
    assert psnr_drops == pytest.approx([3 * 3.0103] * 2, abs=0.03)
    assert mse_drops[0] / mse_drops[1] == pytest.approx(100 / 9, rel=1e-3)


def test_psnr_loss_of_a_perfect_output_is_capped_by_its_epsilon(sharp):
    total, _ = multiscale_psnr_loss(sharp, _levels_with_errors(sharp, [0.0, 0.0]))
    assert float(total) == pytest.approx(3 * 10 * np.log10(PSNR_LOSS_EPSILON), abs=1e-3)


def test_an_unknown_loss_is_refused_by_the_step_and_the_config():
    model = srn_tf.build_model("color", base_filters=4, blocks_per_stage=1)
    optimizer = make_optimizer(1e-3)
    optimizer.build(model.trainable_variables)
    with pytest.raises(ValueError, match="loss must be one of.*'l1'"):
        make_train_step(model, optimizer, tf.distribute.get_strategy(), 2,
                        tf.Variable(0, dtype=tf.int64), loss="l1")
    with pytest.raises(ValueError, match="loss must be one of.*'l1'"):
        TrainingConfig(datalist="list.txt", loss="l1").validate()
