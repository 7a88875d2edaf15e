"""The last stage of SRN-DeblurNet: ResBlocks and the output conv."""

import keras

from srn_tf.models.layers.res_block import ResBlockStack


@keras.saving.register_keras_serializable(package="srn_tf")
class OutputBlock(ResBlockStack, keras.layers.Layer):
    """`num_res_blocks` ResBlocks followed by a linear conv to the image channels.

    The release's `dec1_3, dec1_2, dec1_1` and `dec1_0` (no activation).

    Args:
        filters: channels of the input and of the ResBlocks.
        channels: image channels produced (3 for `color`, 1 for `gray`/`lstm`).
        num_res_blocks: ResBlocks before the output conv (3 in the release).
        kernel_size: side of every kernel (5 in the release).
        zero_init: start the output conv at zero, so that a model with a residual
            output starts as the identity (off in the release).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        inputs: (batch, height, width, filters) tensor.

    Returns:
        (batch, height, width, channels) tensor, unbounded (not clipped).
    """

    def __init__(self, filters, channels, num_res_blocks=3, kernel_size=5,
                 zero_init=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.channels = channels
        self.num_res_blocks = num_res_blocks
        self.kernel_size = kernel_size
        self.zero_init = zero_init
        self._add_res_blocks(num_res_blocks, filters, kernel_size)
        self.conv = keras.layers.Conv2D(
            channels, kernel_size, padding="same",
            kernel_initializer="zeros" if zero_init else "glorot_uniform",
            dtype=self.dtype_policy, name="conv")

    def build(self, input_shape):
        self._build_res_blocks(input_shape)
        self.conv.build(input_shape)

    def call(self, inputs):
        return self.conv(self._run_res_blocks(inputs))

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "channels": self.channels,
            "num_res_blocks": self.num_res_blocks,
            "kernel_size": self.kernel_size,
            "zero_init": self.zero_init,
        })
        return config
