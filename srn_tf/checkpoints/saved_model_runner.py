"""Running a SavedModel written by `srn-export` where an SRNDeblurNet is expected.

The export's `serving_default` signature maps float32 (batch, height, width, 3)
images in [0, 1] to a one-entry dict holding the deblurred float32 images of the
same shape (padding and gray models' per-channel runs happen inside its graph).
"""

import json
import os

import tensorflow as tf

from srn_tf.checkpoints.export_runners import apply_exported_config
from srn_tf.config_file import CONFIG_FILE

SAVED_MODEL_FILE = "saved_model.pb"
SIGNATURE = "serving_default"


def is_saved_model(path):
    """True when `path` is a folder holding a SavedModel."""
    return os.path.isfile(os.path.join(os.fspath(path), SAVED_MODEL_FILE))


class SavedModelRunner:
    """A loaded `srn-export` SavedModel, callable on batches of RGB images.

    `srn_tf.deblur_image` accepts it in place of a model: it has `channels` (3:
    gray images are replicated to RGB, as for the color model) and
    `size_multiple` (inputs are padded to it; the export pads too, so any value
    works, and the exported network's own, read from its config, keeps the
    shapes its graph sees few). The export holds the
    network alone; the post-processing defaults of the model it came from are
    read from the `srn_config.json` beside `saved_model.pb` into
    `inference_options`, so `deblur_image` runs them around it.

    Args:
        path: the SavedModel folder.

    Call arguments:
        images: (batch, height, width, 3) float32 array in [0, 1].

    Returns:
        (batch, height, width, 3) float32 numpy array.
    """

    channels = 3

    def __init__(self, path):
        self.path = os.fspath(path)
        self._saved_model = tf.saved_model.load(self.path)
        if SIGNATURE not in self._saved_model.signatures:
            raise ValueError(f"{self.path}: SavedModel has no '{SIGNATURE}' signature")
        self._function = self._saved_model.signatures[SIGNATURE]
        outputs = self._function.structured_outputs
        if len(outputs) != 1:
            raise ValueError(f"{self.path}: '{SIGNATURE}' should return one tensor, "
                             f"returns {sorted(outputs)}")
        self._output_key = next(iter(outputs))
        (self._input_key,) = self._function.structured_input_signature[1]
        try:
            apply_exported_config(self, _exported_config(self.path))
        except ValueError as error:
            raise ValueError(f"{os.path.join(self.path, CONFIG_FILE)}: {error}") from None

    def __call__(self, images):
        inputs = {self._input_key: tf.constant(images, tf.float32)}
        result = self._function(**inputs)[self._output_key]
        return result.numpy()


def _exported_config(path):
    """The `srn_config.json` an export carries beside `saved_model.pb` ({} if none)."""
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(config_path):
        return {}
    with open(config_path) as handle:
        return json.load(handle)
