"""Writing a model as one `.keras` file, which every Keras 3 backend loads.

A `.keras` file is Keras's own archive: the model's config (`SRNDeblurNet` is
registered as "srn_tf>SRNDeblurNet", its config its constructor arguments) and
its weights. After `import srn_tf`, `keras.saving.load_model("model.keras")`
rebuilds the network on TensorFlow, JAX or PyTorch; no TensorFlow is needed to
read it. The file holds the network only, not a model folder's inference
defaults (`srn_config.json`'s "inference" section).
"""

import os

import keras

from srn_tf.atomic_files import atomic_file
from srn_tf.write_safety import check_destination

KERAS_SUFFIX = ".keras"


def export_keras_file(model, path, overwrite=False):
    """Writes `model` (an `SRNDeblurNet`) to the `.keras` file `path`, atomically.

    The file is written under a temporary name beside `path` and renamed onto it,
    so a failed or interrupted export never leaves a partial file at `path`.

    Args:
        model: a built `SRNDeblurNet`.
        path: the file to write; must end in ".keras" (Keras refuses other names).
        overwrite: replace a file already at `path`, which must then be a file this
            function wrote (`srn_tf.write_safety.is_keras_export`); any other is refused.

    Returns:
        `path`.

    Raises:
        ValueError: `path` does not end in ".keras".
        srn_tf.write_safety.OutputRefused: `path` is not an export to replace.
        FileExistsError: `path` is one and `overwrite` is False.
        OSError: the folder cannot be written ("<path>: cannot write (<reason>)").
    """
    path = os.fspath(path)
    if not path.endswith(KERAS_SUFFIX):
        raise ValueError(f"{path}: a Keras model file must end in {KERAS_SUFFIX}")
    check_destination(path, "keras", overwrite)
    with atomic_file(path) as temporary:
        keras.saving.save_model(model, temporary, overwrite=True)
    return path
