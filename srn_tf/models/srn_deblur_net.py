"""The scale-recurrent network: one encoder-decoder reused coarse to fine."""

import keras
from keras import ops

from srn_tf.models.layers import ConvLSTMCell, DBlock, EBlock, OutputBlock
from srn_tf.models.legacy_resize import legacy_bilinear_resize, scaled_length, spatial_size

RECURRENT_CELLS = (None, "conv_lstm")


def size_multiple(num_scales, scale_factor):
    """The multiple height and width must be of: the finest level subsamples by 4
    (two stride-2 encoder stages) and each coarser level by 1 / scale_factor more."""
    return int(round(4 / scale_factor ** (num_scales - 1)))


@keras.saving.register_keras_serializable(package="srn_tf")
class SRNDeblurNet(keras.Model):
    """SRN-DeblurNet (Tao et al., CVPR 2018) as the original release builds it.

    At each of `num_scales` levels, coarse to fine, the blurred input and the
    previous level's prediction are resized (TF1 legacy bilinear) to the level's
    size, concatenated and passed through the same encoder-decoder: one set of
    weights serves every level. The coarsest level's "previous prediction" is the
    blurred input itself, and predictions pass up without gradient, as in the
    release. With `recurrent_cell="conv_lstm"` a ConvLSTM state links the levels
    at the bottleneck.

    The defaults are the release's network; `residual_output` and
    `zero_init_output` are departures used to train a small model quickly.

    Args:
        channels: image channels in and out (3 for `color`, 1 for `gray`/`lstm`).
        num_scales: number of levels (3).
        scale_factor: size ratio between consecutive levels (0.5).
        base_filters: channels of the first stage; stages use 1x, 2x and 4x (32).
        blocks_per_stage: ResBlocks in each encoder and decoder stage (3).
        kernel_size: side of the conv kernels (5).
        recurrent_cell: None or "conv_lstm" (the `lstm` model type).
        residual_output: add each level's resized blurred input to its output.
        zero_init_output: start the output conv at zero (with `residual_output`,
            the model then starts as the identity).
        **kwargs: passed to `keras.Model` (`name`, `dtype`).

    Call arguments:
        inputs: (batch, height, width, channels) float tensor in [0, 1]; height and
            width multiples of `size_multiple` (16 for the defaults). Use
            `srn_tf.predict_any_size` or `srn_tf.deblur_image` for other sizes.
        training: unused (no dropout or normalisation); accepted for Keras.

    Returns:
        List of `num_scales` float32 tensors, coarse to fine; level i is
        (batch, round(height * s), round(width * s), channels) with
        s = scale_factor ** (num_scales - 1 - i). The last one is the result.
    """

    def __init__(self, channels=3, num_scales=3, scale_factor=0.5, base_filters=32,
                 blocks_per_stage=3, kernel_size=5, recurrent_cell=None,
                 residual_output=False, zero_init_output=False, **kwargs):
        super().__init__(**kwargs)
        if channels not in (1, 3):
            raise ValueError(f"SRNDeblurNet needs channels 1 or 3. Received: channels={channels}")
        if num_scales < 1 or not 0.0 < scale_factor <= 1.0:
            raise ValueError(
                "SRNDeblurNet needs num_scales >= 1 and 0 < scale_factor <= 1. "
                f"Received: num_scales={num_scales}, scale_factor={scale_factor}"
            )
        if recurrent_cell not in RECURRENT_CELLS:
            raise ValueError(
                f"recurrent_cell must be one of {RECURRENT_CELLS}. "
                f"Received: recurrent_cell={recurrent_cell!r}"
            )
        self.channels = channels
        self.num_scales = num_scales
        self.scale_factor = scale_factor
        self.base_filters = base_filters
        self.blocks_per_stage = blocks_per_stage
        self.kernel_size = kernel_size
        self.recurrent_cell = recurrent_cell
        self.residual_output = residual_output
        self.zero_init_output = zero_init_output

        widths = [base_filters, 2 * base_filters, 4 * base_filters]
        policy = self.dtype_policy
        # Stages are attributes, not lists: Keras 3 lists are not tracked by
        # tf.train.Checkpoint, and checkpoints must hold every weight.
        self.encoder_1, self.encoder_2, self.encoder_3 = (
            EBlock(width, strides=1 if stage == 0 else 2, num_res_blocks=blocks_per_stage,
                   kernel_size=kernel_size, dtype=policy, name=f"encoder_{stage + 1}")
            for stage, width in enumerate(widths)
        )
        self.cell = (
            ConvLSTMCell(widths[2], kernel_size=3, dtype=policy, name="conv_lstm")
            if recurrent_cell == "conv_lstm" else None
        )
        self.decoder_3 = DBlock(widths[2], widths[1], num_res_blocks=blocks_per_stage,
                                kernel_size=kernel_size, dtype=policy, name="decoder_3")
        self.decoder_2 = DBlock(widths[1], widths[0], num_res_blocks=blocks_per_stage,
                                kernel_size=kernel_size, dtype=policy, name="decoder_2")
        self.output_block = OutputBlock(
            widths[0], channels, num_res_blocks=blocks_per_stage, kernel_size=kernel_size,
            zero_init=zero_init_output, dtype=policy, name="decoder_1")

    @property
    def encoder_stages(self):
        """The three encoder stages, finest first."""
        return [self.encoder_1, self.encoder_2, self.encoder_3]

    @property
    def decoder_stages(self):
        """The two upsampling decoder stages, coarsest first (before `output_block`)."""
        return [self.decoder_3, self.decoder_2]

    @property
    def size_multiple(self):
        """Height and width must be multiples of this (16 for the release)."""
        return size_multiple(self.num_scales, self.scale_factor)

    def build(self, input_shape=None):
        """Creates every weight; spatial size is irrelevant, so none is needed."""
        widths = [self.base_filters, 2 * self.base_filters, 4 * self.base_filters]
        self.encoder_stages[0].build((None, None, None, 2 * self.channels))
        self.encoder_stages[1].build((None, None, None, widths[0]))
        self.encoder_stages[2].build((None, None, None, widths[1]))
        if self.cell is not None:
            self.cell.build((None, None, None, widths[2]))
        self.decoder_stages[0].build((None, None, None, widths[2]))
        self.decoder_stages[1].build((None, None, None, widths[1]))
        self.output_block.build((None, None, None, widths[0]))
        self.built = True

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        if len(shape) != 4:
            raise ValueError(
                f"SRNDeblurNet expects (batch, height, width, {self.channels}) input. "
                f"Received shape {tuple(shape)}"
            )
        if shape[-1] is not None and shape[-1] != self.channels:
            raise ValueError(
                f"This SRNDeblurNet takes {self.channels}-channel images. Received "
                f"{shape[-1]} channels (use srn_tf.deblur_image for per-channel runs)"
            )
        for axis, name in ((1, "height"), (2, "width")):
            if shape[axis] is not None and shape[axis] % self.size_multiple:
                raise ValueError(
                    f"SRNDeblurNet needs {name} a multiple of {self.size_multiple}. "
                    f"Received {name}={shape[axis]} (srn_tf.predict_any_size pads any size)"
                )

    def call(self, inputs, training=False):
        inputs = ops.convert_to_tensor(inputs)
        self._check_input(inputs)
        blurred_full = ops.cast(inputs, self.compute_dtype)
        height, width = spatial_size(blurred_full)
        prediction = blurred_full
        state = None
        outputs = []
        for level in range(self.num_scales):
            scale = self.scale_factor ** (self.num_scales - 1 - level)
            size = (scaled_length(height, scale), scaled_length(width, scale))
            blurred = legacy_bilinear_resize(blurred_full, size)
            prediction = ops.stop_gradient(legacy_bilinear_resize(prediction, size))
            x = ops.concatenate([blurred, prediction], axis=-1)

            skip_1 = self.encoder_stages[0](x)
            skip_2 = self.encoder_stages[1](skip_1)
            x = self.encoder_stages[2](skip_2)
            if self.cell is not None:
                state = self._level_state(state, x, (size[0] // 4, size[1] // 4))
                x, state = self.cell(x, state)
            x = self.decoder_stages[0](x) + skip_2
            x = self.decoder_stages[1](x) + skip_1
            prediction = self.output_block(x)
            if self.residual_output:
                prediction = prediction + blurred
            outputs.append(ops.cast(prediction, "float32"))
        return outputs

    @staticmethod
    def _level_state(state, bottleneck, size):
        """The ConvLSTM (c, h) for a level: zeros at first, then resized."""
        if state is None:
            zeros = ops.zeros_like(bottleneck)
            return zeros, zeros
        return tuple(legacy_bilinear_resize(part, size) for part in state)

    def get_config(self):
        """The constructor arguments: name, dtype policy and `architecture()`; with the
        class registered as "srn_tf>SRNDeblurNet", what a `.keras` file stores."""
        return {"name": self.name, "dtype": keras.dtype_policies.serialize(self.dtype_policy),
                **self.architecture()}

    @classmethod
    def from_config(cls, config):
        """The model `get_config` describes, unbuilt (`keras.saving.load_model` builds
        it from the file's build config before loading its weights)."""
        return cls(**config)

    def architecture(self):
        """The constructor arguments that fix the network (its config without the
        name): what `srn_config.json` stores and what two models must share for
        weights to pass between them."""
        return {
            "channels": self.channels,
            "num_scales": self.num_scales,
            "scale_factor": self.scale_factor,
            "base_filters": self.base_filters,
            "blocks_per_stage": self.blocks_per_stage,
            "kernel_size": self.kernel_size,
            "recurrent_cell": self.recurrent_cell,
            "residual_output": self.residual_output,
            "zero_init_output": self.zero_init_output,
        }
