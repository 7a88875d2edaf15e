"""Exporting a model as a TensorFlow SavedModel that serves images of any size.

The SavedModel needs nothing but TensorFlow to run: padding to the model's size
multiple, cropping back, and the release's per-channel handling of RGB by gray
models all happen inside the graph. Its signatures:

    serving_default  images: float32 (batch, height, width, 3) in [0, 1]
                     -> {"deblurred": float32 (batch, height, width, 3)}
    serving_uint8    images: uint8 (batch, height, width, 3)
                     -> {"deblurred": uint8, clip(x, 0, 1) * 255 truncated, as the release}
    levels           images: float32 (batch, height, width, 3) in [0, 1]
                     -> {"level_0": coarsest, ..., "level_<n-1>": finest}, each float32
                        (batch, round(height * s), round(width * s), 3)

Height and width must be at least the model's size multiple (16 for the
release's networks); smaller images fail with an
InvalidArgumentError that says so.
"""

import os

import tensorflow as tf

from srn_tf.atomic_files import atomic_folder
from srn_tf.write_safety import check_destination

from srn_tf.export.graph import deblur_graph, deblur_levels_graph, deblur_uint8_graph
from srn_tf.checkpoints.model_folder import write_model_config

SIGNATURE_NAMES = ("serving_default", "serving_uint8", "levels")
_FLOAT_IMAGES = tf.TensorSpec([None, None, None, 3], tf.float32, name="images")
_UINT8_IMAGES = tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")


class DeblurModule(tf.Module):
    """The serving functions and the variables they read, as saved into the SavedModel.

    Only the model's variables are tracked, not the Keras model: saving a Keras
    model also serialises every layer's Keras metadata, which takes seconds and
    which a TensorFlow-only user cannot use.

    Args:
        model: an `SRNDeblurNet`.

    Attributes:
        deblur: float32 (batch, height, width, 3) in [0, 1] -> {"deblurred": same shape}.
        deblur_uint8: uint8 (batch, height, width, 3) -> {"deblurred": uint8}, as the
            release converts its results (clip, * 255, truncate).
        levels: float32 (batch, height, width, 3) -> {"level_i": ...}, coarse to fine.
    """

    def __init__(self, model):
        super().__init__(name="srn_deblur")
        self.model_variables = [weight.value for weight in model.weights]

        def deblur(images):
            return {"deblurred": deblur_graph(model, images)}

        def deblur_uint8(images):
            return {"deblurred": deblur_uint8_graph(model, images)}

        def levels(images):
            return {f"level_{i}": level
                    for i, level in enumerate(deblur_levels_graph(model, images))}

        self.deblur = tf.function(deblur, input_signature=[_FLOAT_IMAGES])
        self.deblur_uint8 = tf.function(deblur_uint8, input_signature=[_UINT8_IMAGES])
        self.levels = tf.function(levels, input_signature=[_FLOAT_IMAGES])


def export_saved_model(model, export_dir, overwrite=False):
    """Writes `model` as a SavedModel with the signatures listed in this module's docstring.

    The export is written to a hidden staging folder beside `export_dir` and
    renamed into place (`srn_tf.atomic_files.atomic_folder`), so `export_dir`
    never holds a partial export. `srn_config.json`
    (the model's config, as in checkpoint folders) is written beside
    `saved_model.pb` so the export says what it holds.

    Args:
        model: a built `SRNDeblurNet`.
        export_dir: folder to create (or fill, when empty).
        overwrite: replace an existing `export_dir`, which must then be an export
            this function wrote (`srn_tf.write_safety.is_saved_model_export`) or an
            empty folder: a folder of anything else is never replaced.

    Returns:
        `export_dir`.

    Raises:
        srn_tf.write_safety.OutputRefused: `export_dir` is not an export to replace.
        FileExistsError: `export_dir` is one and `overwrite` is False.
    """
    export_dir = os.path.normpath(os.fspath(export_dir))
    check_destination(export_dir, "saved_model", overwrite)
    parent = os.path.dirname(export_dir) or "."
    os.makedirs(parent, exist_ok=True)
    module = DeblurModule(model)
    with atomic_folder(export_dir, replace="saved_model") as staging:
        tf.saved_model.save(module, staging, signatures={
            "serving_default": module.deblur,
            "serving_uint8": module.deblur_uint8,
            "levels": module.levels,
        })
        write_model_config(model, staging)
    return export_dir
