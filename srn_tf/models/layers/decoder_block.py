"""One decoder stage of SRN-DeblurNet."""

import keras

from srn_tf.models.layers.res_block import ResBlockStack


@keras.saving.register_keras_serializable(package="srn_tf")
class DBlock(ResBlockStack, keras.layers.Layer):
    """`num_res_blocks` ResBlocks followed by a 4x4 stride-2 transposed conv with ReLU.

    The release's decoder stages: `dec3_3, dec3_2, dec3_1` then `dec2_4` (the
    transposed conv), and likewise one stage down. The caller adds the encoder's
    skip to the upsampled output.

    Args:
        filters: channels of the input and of the ResBlocks.
        output_filters: channels after the transposed conv.
        num_res_blocks: ResBlocks before the transposed conv (3 in the release).
        kernel_size: side of the ResBlock kernels (5 in the release).
        upsample_kernel_size: side of the transposed-conv kernel (4 in the release).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        inputs: (batch, height, width, filters) tensor.

    Returns:
        (batch, 2 * height, 2 * width, output_filters) tensor.
    """

    def __init__(self, filters, output_filters, num_res_blocks=3, kernel_size=5,
                 upsample_kernel_size=4, **kwargs):
        super().__init__(**kwargs)
        if num_res_blocks < 0:
            raise ValueError(f"DBlock needs num_res_blocks >= 0. Received: {num_res_blocks}")
        self.filters = filters
        self.output_filters = output_filters
        self.num_res_blocks = num_res_blocks
        self.kernel_size = kernel_size
        self.upsample_kernel_size = upsample_kernel_size
        self._add_res_blocks(num_res_blocks, filters, kernel_size)
        self.upsample = keras.layers.Conv2DTranspose(
            output_filters, upsample_kernel_size, strides=2, padding="same",
            activation="relu", kernel_initializer="glorot_uniform",
            dtype=self.dtype_policy, name="upsample")

    def build(self, input_shape):
        self._build_res_blocks(input_shape)
        self.upsample.build(input_shape)

    def call(self, inputs):
        return self.upsample(self._run_res_blocks(inputs))

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "output_filters": self.output_filters,
            "num_res_blocks": self.num_res_blocks,
            "kernel_size": self.kernel_size,
            "upsample_kernel_size": self.upsample_kernel_size,
        })
        return config
