"""The default model shipped inside the package (an srn_tf checkpoint folder)."""

import os

DEFAULT_MODEL_FOLDER = os.path.join(os.path.dirname(__file__), "default")
# Flipped copies srn-deblur and srn-eval average by default with the bundled
# model (`deblur_image`'s `flips`): 0.1 to 0.2 dB more for 4 times the time
# (README.md, "Flip ensemble"). Other models run once by default, as the release.
DEFAULT_MODEL_FLIPS = 4
# Whether srn-deblur and srn-eval match the bundled model's output level to the
# input's over flat areas by default (`deblur_image`'s `flat_level`): 0.1 to
# 0.17 dB more on unseen camera shake (README.md, "Flat-level matching"). Other
# models are left as they are, as the release.
DEFAULT_MODEL_FLAT_LEVEL = True
# Whether they then denoise its output by default (`deblur_image`'s `denoise`):
# it passes the input's sensor noise through (README.md, "Output denoising").
DEFAULT_MODEL_DENOISE = True
# Whether they refine its output by the blur kernel estimated from it, before
# denoising (`deblur_image`'s `kernel_refinement`): the small network's output is
# rough, but good enough to measure the blur (README.md, "Kernel refinement").
DEFAULT_MODEL_KERNEL_REFINEMENT = True


def run_options(checkpoint, flips=None, flat_level=None, denoise=None, kernel_refinement=None):
    """`deblur_image`'s `flips`, `flat_level`, `denoise` and `kernel_refinement`, each
    None replaced by its default for the model in `checkpoint`.

    The bundled model (`checkpoint` None) runs as the `DEFAULT_MODEL_*` constants
    say; any other once, as its network's output, as the release.

    Returns:
        (flips, flat_level, denoise, kernel_refinement); given values are kept as
        they are.
    """
    bundled = checkpoint is None
    defaults = ((DEFAULT_MODEL_FLIPS, DEFAULT_MODEL_FLAT_LEVEL, DEFAULT_MODEL_DENOISE,
                 DEFAULT_MODEL_KERNEL_REFINEMENT) if bundled else (1, False, False, False))
    return tuple(default if value is None else value
                 for value, default in zip((flips, flat_level, denoise, kernel_refinement),
                                           defaults))


def default_model_path():
    """Returns the folder of the bundled default model.

    Raises:
        FileNotFoundError: this install ships no default model.
    """
    if not os.path.isfile(os.path.join(DEFAULT_MODEL_FOLDER, "srn_config.json")):
        raise FileNotFoundError("no bundled default model in this install; pass --checkpoint")
    return DEFAULT_MODEL_FOLDER
