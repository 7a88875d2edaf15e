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
from srn_tf.write_safety import check_replaceable

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
        FileExistsError: `path` exists and `overwrite` is False.
        srn_tf.write_safety.OutputRefused: `path` is not an export to replace.
        OSError: the folder cannot be written ("<path>: cannot write (<reason>)").
    """
    path = os.fspath(path)
    if not path.endswith(KERAS_SUFFIX):
        raise ValueError(f"{path}: a Keras model file must end in {KERAS_SUFFIX}")
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"{path}: already exists (pass overwrite to replace it)")
    check_replaceable(path, "keras")
    with atomic_file(path) as temporary:
        keras.saving.save_model(model, temporary, overwrite=True)
    return path
