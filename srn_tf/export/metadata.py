"""What an ONNX or LiteRT export says about itself, as string key/value pairs.

ONNX files carry them as `metadata_props`, LiteRT files as one JSON metadata
buffer named `srn_tf`. The runners (`OnnxRunner` and `LiteRTRunner` in
`srn_tf.checkpoints.export_runners`) read `srn_config` back: the architecture (for the size
multiple) and the post-processing defaults of the model exported, which the
file's graph does not run.

Keys:
    model_type    "color", "gray" or "lstm"
    preset        the preset's name when a preset was exported ("default"), else ""
    release_name  what the weights are (the bundled model, a release checkpoint, a folder)
    license       the weights' license, as far as srn-tf knows it
    producer      "srn-tf <version>"
    layout        "nhwc" or "nchw": the input's and output's axis order
    input_dtype   "float32" (in [0, 1]) or "uint8"
    srn_config    JSON: {"model_type", "model": architecture, "inference": options}
"""

import importlib.metadata
import json
import os

from srn_tf.models.inference_options import options_of
from srn_tf.models.model_types import model_type_of
from srn_tf.models.presets import PRESETS, resolve_model_path

PRODUCER = f"srn-tf {importlib.metadata.version('srn-tf')}"
LAYOUTS = ("nhwc", "nchw")
INPUT_DTYPES = ("float32", "uint8")
RELEASE_REPOSITORY = "github.com/jiangsutx/SRN-Deblur"


def describe_source(checkpoint):
    """(preset, release_name, license) of the model `checkpoint` names, for the metadata.

    Args:
        checkpoint: what `load_deblur_model` was given (None: the bundled model).
    """
    from srn_tf.checkpoints.tf1_checkpoint import is_tf1_checkpoint

    if checkpoint is None or (checkpoint in PRESETS and not os.path.exists(checkpoint)):
        name = checkpoint or "default"
        return (name, f"srn-tf bundled {name} model (trained on synthetic blur; not the "
                "paper's GOPRO model)", "as the srn-tf package")
    path = resolve_model_path(checkpoint)
    base = os.path.basename(os.path.normpath(path))
    if is_tf1_checkpoint(path):
        return ("", f"SRN-DeblurNet release checkpoint {base} (Tao et al., CVPR 2018, "
                f"{RELEASE_REPOSITORY})", f"not stated by the release ({RELEASE_REPOSITORY})")
    return "", f"srn-tf checkpoint {base}", "unspecified"


def export_metadata(model, layout, input_dtype, preset="", release_name="", license=""):
    """The metadata of an export of `model` (an `SRNDeblurNet`), as {str: str}."""
    config = {"model_type": model_type_of(model), "model": model.architecture(),
              "inference": options_of(model).to_config()}
    return {"model_type": model_type_of(model), "preset": preset,
            "release_name": release_name, "license": license, "producer": PRODUCER,
            "layout": layout, "input_dtype": input_dtype,
            "srn_config": json.dumps(config, sort_keys=True)}


def check_export_options(layout, input_dtype):
    """Raises ValueError unless `layout` and `input_dtype` are ones an export takes."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}. Received: layout={layout!r}")
    if input_dtype not in INPUT_DTYPES:
        raise ValueError(f"input_dtype must be one of {INPUT_DTYPES}. "
                         f"Received: input_dtype={input_dtype!r}")
