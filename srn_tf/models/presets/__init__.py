"""Presets: named model folders shipped inside the package.

A preset is an srn_tf checkpoint folder (`srn_config.json` and weights) whose
config also holds its inference defaults (the "inference" section, see
`srn_tf.models.inference_options`). `default` is the bundled default model, run when no
checkpoint is given. Paths only, no TensorFlow: the console scripts resolve
`--checkpoint` before TensorFlow loads.
"""

import os

from srn_tf.config_file import CONFIG_FILE

_FOLDER = os.path.dirname(__file__)
DEFAULT_PRESET = "default"
PRESETS = {DEFAULT_PRESET: os.path.join(_FOLDER, DEFAULT_PRESET)}


def preset_path(name=DEFAULT_PRESET):
    """The folder of the preset called `name`.

    Raises:
        ValueError: no preset has that name.
        FileNotFoundError: this install does not ship the preset's files.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}")
    folder = PRESETS[name]
    if not os.path.isfile(os.path.join(folder, CONFIG_FILE)):
        raise FileNotFoundError(f"no bundled {name} model in this install; pass --checkpoint")
    return folder


def default_model_path():
    """The folder of the bundled default model (`preset_path("default")`)."""
    return preset_path(DEFAULT_PRESET)


def resolve_model_path(checkpoint):
    """The path a `--checkpoint` value names: a preset's folder, or the path itself.

    None names the default preset; a preset's name names that preset unless a
    file or folder of that name exists (a path wins).
    """
    if checkpoint is None:
        return default_model_path()
    checkpoint = os.fspath(checkpoint)
    if checkpoint in PRESETS and not os.path.exists(checkpoint) \
            and not os.path.exists(checkpoint + ".index"):
        return preset_path(checkpoint)
    return checkpoint
