"""The residual block that makes up most of SRN-DeblurNet."""

import keras


@keras.saving.register_keras_serializable(package="srn_tf")
class ResBlock(keras.layers.Layer):
    """conv -> ReLU -> conv, added to the block's input (no ReLU after the add).

    This is the release's `ResnetBlock`: two 'SAME' convolutions with Xavier-uniform
    kernels and zero biases; TF1 variable scopes `<block>/conv1` and `<block>/conv2`.

    Args:
        filters: channels of the input and of both convolutions.
        kernel_size: side of the square kernels (5 in the release).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        inputs: (batch, height, width, filters) tensor.

    Returns:
        (batch, height, width, filters) tensor.
    """

    def __init__(self, filters, kernel_size=5, **kwargs):
        super().__init__(**kwargs)
        if filters < 1 or kernel_size < 1:
            raise ValueError(
                f"ResBlock needs positive sizes. Received: filters={filters}, "
                f"kernel_size={kernel_size}"
            )
        self.filters = filters
        self.kernel_size = kernel_size
        # A fresh initializer per conv: one Keras initializer object returns the
        # same values on every call, which would start both convs identical.
        self.conv1 = keras.layers.Conv2D(
            filters, kernel_size, padding="same", activation="relu",
            kernel_initializer="glorot_uniform", dtype=self.dtype_policy, name="conv1")
        self.conv2 = keras.layers.Conv2D(
            filters, kernel_size, padding="same",
            kernel_initializer="glorot_uniform", dtype=self.dtype_policy, name="conv2")

    def build(self, input_shape):
        self.conv1.build(input_shape)
        self.conv2.build(tuple(input_shape[:-1]) + (self.filters,))

    def call(self, inputs):
        return inputs + self.conv2(self.conv1(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "kernel_size": self.kernel_size})
        return config


class ResBlockStack:
    """Mixin for the stage layers (EBlock, DBlock, OutputBlock): a run of ResBlocks.

    The blocks are attributes `res_block_0 .. res_block_{n-1}`, not a list: Keras 3
    lists are not tracked by tf.train.Checkpoint, and checkpoints must hold every
    weight under the names the TF1 mapping expects.
    """

    def _add_res_blocks(self, count, filters, kernel_size):
        """Creates `count` ResBlocks of `filters` channels, in the layer's dtype policy."""
        for i in range(count):
            setattr(self, f"res_block_{i}",
                    ResBlock(filters, kernel_size, dtype=self.dtype_policy, name=f"res_block_{i}"))

    @property
    def res_blocks(self):
        """The ResBlocks in the order they run."""
        return [getattr(self, f"res_block_{i}") for i in range(self.num_res_blocks)]

    def _build_res_blocks(self, input_shape):
        """Builds every ResBlock for (batch, height, width, filters) inputs."""
        for block in self.res_blocks:
            block.build(input_shape)

    def _run_res_blocks(self, x):
        """x through every ResBlock; (batch, height, width, filters) in and out."""
        for block in self.res_blocks:
            x = block(x)
        return x
