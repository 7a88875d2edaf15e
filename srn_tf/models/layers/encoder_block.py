"""One encoder stage of SRN-DeblurNet."""

import keras

from srn_tf.models.layers.res_block import ResBlockStack


@keras.saving.register_keras_serializable(package="srn_tf")
class EBlock(ResBlockStack, keras.layers.Layer):
    """A (possibly strided) conv with ReLU followed by `num_res_blocks` ResBlocks.

    The release's encoder stages `enc<s>_1` (the conv) and `enc<s>_2..` (the
    ResBlocks). The first stage, with `strides=1`, is the network's input conv.

    Args:
        filters: output channels.
        strides: stride of the conv (1 for the first stage, 2 after).
        num_res_blocks: ResBlocks after the conv (3 in the release).
        kernel_size: side of every kernel (5 in the release).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        inputs: (batch, height, width, in_channels) tensor.

    Returns:
        (batch, ceil(height / strides), ceil(width / strides), filters) tensor.
    """

    def __init__(self, filters, strides=1, num_res_blocks=3, kernel_size=5, **kwargs):
        super().__init__(**kwargs)
        if strides not in (1, 2) or num_res_blocks < 0:
            raise ValueError(
                "EBlock needs strides 1 or 2 and num_res_blocks >= 0. Received: "
                f"strides={strides}, num_res_blocks={num_res_blocks}"
            )
        self.filters = filters
        self.strides = strides
        self.num_res_blocks = num_res_blocks
        self.kernel_size = kernel_size
        self.conv = keras.layers.Conv2D(
            filters, kernel_size, strides=strides, padding="same", activation="relu",
            kernel_initializer="glorot_uniform", dtype=self.dtype_policy, name="conv")
        self._add_res_blocks(num_res_blocks, filters, kernel_size)

    def build(self, input_shape):
        self.conv.build(input_shape)
        self._build_res_blocks((None, None, None, self.filters))

    def call(self, inputs):
        return self._run_res_blocks(self.conv(inputs))

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "strides": self.strides,
            "num_res_blocks": self.num_res_blocks,
            "kernel_size": self.kernel_size,
        })
        return config
