"""The release's three model types and the `build_model` entry point."""

from srn_tf.models.srn_deblur_net import SRNDeblurNet

MODEL_TYPES = {
    "color": {"channels": 3, "recurrent_cell": None},
    "gray": {"channels": 1, "recurrent_cell": None},
    "lstm": {"channels": 1, "recurrent_cell": "conv_lstm"},
}


def build_model(model_type="color", **config):
    """Builds an SRNDeblurNet of one of the release's types, weights created.

    Args:
        model_type: "color" (RGB in/out), "gray" (one plane) or "lstm" (one plane,
            ConvLSTM at the bottleneck: the paper's structure).
        **config: any other `SRNDeblurNet` argument (`num_scales`, `base_filters`,
            `dtype`, ...), to build the paper's ablations or smaller models.

    Returns:
        A built `SRNDeblurNet`.
    """
    if model_type not in MODEL_TYPES:
        raise ValueError(
            f"Unknown model type {model_type!r}; choose one of {sorted(MODEL_TYPES)}")
    fixed = MODEL_TYPES[model_type]
    clashes = {k: v for k, v in config.items() if k in fixed and v != fixed[k]}
    if clashes:
        raise ValueError(f"Model type {model_type!r} fixes {fixed}. Received: {clashes}")
    model = SRNDeblurNet(**{**config, **fixed})
    model.build()
    return model


def model_type_of(model):
    """Returns the model type ("color", "gray" or "lstm") an SRNDeblurNet has."""
    if model.channels == 3:
        return "color"
    return "lstm" if model.recurrent_cell == "conv_lstm" else "gray"
