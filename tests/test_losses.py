"""The training loss: the release's MSE at every level, and the one --loss choice.

The loss's effect on training is checked against the TF1 training graph in
test_training_recipe.py.
"""

import numpy as np
import pytest
import tensorflow as tf

import srn_tf
from srn_tf.models.legacy_resize import legacy_bilinear_resize
from srn_tf.training.losses import LOSSES, loss_function, multiscale_loss
from srn_tf.training.train_step import make_optimizer, make_train_step
from srn_tf.training.trainer import TrainingConfig

LEVEL_SIZES = (8, 16, 32)  # coarse to fine, as the model's three levels


def test_the_loss_is_the_mean_squared_error_of_each_level_summed():
    sharp = tf.constant(np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)), tf.float32)
    # Every level off by 0.1 on the first image and 0.01 on the second.
    offsets = tf.constant([0.1, 0.01], tf.float32)[:, None, None, None]
    outputs = [legacy_bilinear_resize(sharp, (size, size)) + offsets for size in LEVEL_SIZES]
    total, per_level = multiscale_loss(sharp, outputs)
    expected = (0.1 ** 2 + 0.01 ** 2) / 2
    assert [float(value) for value in per_level] == pytest.approx([expected] * 3, rel=1e-4)
    assert float(total) == pytest.approx(3 * expected, rel=1e-4)


def test_mse_is_the_only_loss_and_the_flag_offers_only_it():
    assert LOSSES == {"mse": multiscale_loss} and loss_function("mse") is multiscale_loss
    from srn_tf.cli import train as train_cli  # defines the flags

    assert train_cli.FLAGS["loss"].parser.enum_values == ["mse"]


def test_an_unknown_loss_is_refused_by_the_step_and_the_config():
    model = srn_tf.build_model("color", base_filters=4, blocks_per_stage=1)
    optimizer = make_optimizer(1e-3)
    optimizer.build(model.trainable_variables)
    for name in ("l1", "psnr"):
        with pytest.raises(ValueError, match=f"loss must be one of \\['mse'\\]. Received: '{name}'"):
            make_train_step(model, optimizer, tf.distribute.get_strategy(), 2,
                            tf.Variable(0, dtype=tf.int64), loss=name)
        with pytest.raises(ValueError, match=f"loss must be one of.*'{name}'"):
            TrainingConfig(datalist="list.txt", loss=name).validate()
