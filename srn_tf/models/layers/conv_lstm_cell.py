"""The convolutional LSTM cell between SRN-DeblurNet's encoder and decoder."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="srn_tf")
class ConvLSTMCell(keras.layers.Layer):
    """Steps one (c, h) ConvLSTM state, as the release's `BasicConvLSTMCell`.

    One conv over concat[inputs, h] gives 4 * filters channels, split in the order
    i, j, f, o:  c' = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j),
    h' = tanh(c') * sigmoid(o). Kernel init: truncated normal, stddev 1e-3.
    TF1 variable scope `convLSTM/LSTM_conv`.

    Args:
        filters: channels of the state and of the output (128 in the release).
        kernel_size: side of the conv kernel (3 in the release).
        forget_bias: added to the forget gate before the sigmoid (1.0).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        inputs: (batch, height, width, in_channels) tensor.
        state: tuple (c, h), each (batch, height, width, filters).

    Returns:
        (output, (c', h')): output is h', (batch, height, width, filters).
    """

    def __init__(self, filters=128, kernel_size=3, forget_bias=1.0, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.forget_bias = forget_bias
        self.conv = keras.layers.Conv2D(
            4 * filters, kernel_size, padding="same",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=1e-3),
            dtype=self.dtype_policy, name="conv")

    def build(self, input_shape):
        self.conv.build(tuple(input_shape[:-1]) + (input_shape[-1] + self.filters,))

    def call(self, inputs, state):
        c, h = state
        gates = self.conv(ops.concatenate([inputs, h], axis=-1))
        i, j, f, o = ops.split(gates, 4, axis=-1)
        new_c = c * ops.sigmoid(f + self.forget_bias) + ops.sigmoid(i) * ops.tanh(j)
        new_h = ops.tanh(new_c) * ops.sigmoid(o)
        return new_h, (new_c, new_h)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "forget_bias": self.forget_bias,
        })
        return config
