"""The default model shipped inside the package (an srn_tf checkpoint folder)."""

import os

DEFAULT_MODEL_FOLDER = os.path.join(os.path.dirname(__file__), "default")


def default_model_path():
    """Returns the folder of the bundled default model.

    Raises:
        FileNotFoundError: this install ships no default model.
    """
    if not os.path.isfile(os.path.join(DEFAULT_MODEL_FOLDER, "srn_config.json")):
        raise FileNotFoundError("no bundled default model in this install; pass --checkpoint")
    return DEFAULT_MODEL_FOLDER
