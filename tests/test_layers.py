"""Each public layer on its own: shapes, behaviour, config round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from srn_tf.models.layers import ConvLSTMCell, DBlock, EBlock, OutputBlock, ResBlock

LAYERS = [
    (ResBlock, {"filters": 4, "kernel_size": 3}, (1, 8, 8, 4), (1, 8, 8, 4)),
    (EBlock, {"filters": 6, "strides": 2, "num_res_blocks": 2, "kernel_size": 3},
     (1, 8, 10, 3), (1, 4, 5, 6)),
    (DBlock, {"filters": 4, "output_filters": 2, "num_res_blocks": 1, "kernel_size": 3},
     (1, 4, 5, 4), (1, 8, 10, 2)),
    (OutputBlock, {"filters": 4, "channels": 3, "num_res_blocks": 1, "kernel_size": 3},
     (1, 8, 8, 4), (1, 8, 8, 3)),
]


@pytest.mark.parametrize("layer_class, kwargs, input_shape, output_shape", LAYERS)
def test_layer_output_shape(layer_class, kwargs, input_shape, output_shape):
    layer = layer_class(**kwargs)
    assert tuple(layer(tf.zeros(input_shape)).shape) == output_shape


@pytest.mark.parametrize("layer_class, kwargs, input_shape, output_shape",
                         LAYERS + [(ConvLSTMCell, {"filters": 4, "kernel_size": 3,
                                                   "forget_bias": 0.5}, None, None)])
def test_layer_config_round_trips(layer_class, kwargs, input_shape, output_shape):
    layer = layer_class(**kwargs, name="probe")
    config = layer.get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is layer_class
    assert clone.get_config() == config


def test_res_block_adds_its_input_without_a_final_relu():
    block = ResBlock(2, kernel_size=3)
    block.build((None, None, None, 2))
    block.conv2.kernel.assign(tf.zeros_like(block.conv2.kernel))
    block.conv2.bias.assign([-5.0, 1.0])
    x = tf.random.uniform((1, 4, 4, 2))
    expected = x + tf.constant([-5.0, 1.0])  # negative values survive: no ReLU
    np.testing.assert_allclose(block(x).numpy(), expected.numpy(), atol=1e-6)


def test_res_block_convs_start_with_different_weights():
    """One shared initializer object would start both convs identical."""
    block = ResBlock(4, kernel_size=3)
    block.build((None, None, None, 4))
    assert not np.allclose(block.conv1.kernel.numpy(), block.conv2.kernel.numpy())


def test_conv_lstm_cell_follows_the_release_gate_equations():
    cell = ConvLSTMCell(filters=2, kernel_size=3)
    cell.build((None, None, None, 3))
    kernel = np.random.default_rng(0).normal(0, 0.3, cell.conv.kernel.shape).astype("float32")
    bias = np.random.default_rng(1).normal(0, 0.3, cell.conv.bias.shape).astype("float32")
    cell.conv.kernel.assign(kernel)
    cell.conv.bias.assign(bias)
    x = tf.random.uniform((1, 5, 6, 3))
    c = tf.random.uniform((1, 5, 6, 2))
    h = tf.random.uniform((1, 5, 6, 2))
    output, (new_c, new_h) = cell(x, (c, h))

    gates = tf.nn.conv2d(tf.concat([x, h], -1), kernel, 1, "SAME") + bias
    i, j, f, o = tf.split(gates, 4, axis=-1)
    want_c = c * tf.sigmoid(f + 1.0) + tf.sigmoid(i) * tf.tanh(j)
    want_h = tf.tanh(want_c) * tf.sigmoid(o)
    # Same ops in the same order; 1e-6 covers float32 conv reduction order.
    np.testing.assert_allclose(new_c.numpy(), want_c.numpy(), atol=1e-6)
    np.testing.assert_allclose(new_h.numpy(), want_h.numpy(), atol=1e-6)
    np.testing.assert_array_equal(output.numpy(), new_h.numpy())


def test_conv_lstm_kernel_starts_small():
    cell = ConvLSTMCell(filters=8)
    cell.build((None, None, None, 8))
    # Truncated normal with stddev 1e-3 never exceeds two standard deviations.
    assert np.abs(cell.conv.kernel.numpy()).max() <= 2e-3
    assert np.abs(cell.conv.kernel.numpy()).std() > 1e-4


def test_invalid_layer_arguments_echo_what_was_received():
    with pytest.raises(ValueError, match="Received: strides=3"):
        EBlock(8, strides=3)
    with pytest.raises(ValueError, match="Received: filters=0"):
        ResBlock(0)
