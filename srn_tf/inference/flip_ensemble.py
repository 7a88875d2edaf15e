"""Flip ensembles: a model run on flipped (and transposed) copies of its input, averaged."""

import numpy as np

# The copies of a flip ensemble, per number of copies: for each, whether the
# (batch, height, width, channels) array is transposed (height and width swapped)
# and which axes it reverses: none, left-right, up-down, both. 8 is EDSR's full
# geometric self-ensemble: the 4 flips of the image and of its transpose.
_FOUR_FLIPS = ((), (2,), (1,), (1, 2))
_FLIP_COPIES = {1: ((False, ()),), 2: ((False, ()), (False, (2,))),
                4: tuple((False, axes) for axes in _FOUR_FLIPS),
                8: tuple((transposed, axes) for transposed in (False, True)
                         for axes in _FOUR_FLIPS)}

def _transpose(images):
    """Swaps height and width of a (batch, h, w, c) array."""
    return np.transpose(images, (0, 2, 1, 3))


def flip_ensemble(run, flips):
    """`run` averaged over `flips` flipped copies of its (batch, h, w, c) input.

    Each copy is transposed and/or flipped, run, and mapped back; the outputs are
    averaged before any clipping (a geometric self-ensemble, as EDSR's; its
    transposes only with 8 copies).
    """
    if flips == 1:
        return run

    def run_copy(images, transposed, axes):
        copy = _transpose(images) if transposed else images
        output = np.flip(run(np.flip(copy, axes)), axes)
        return _transpose(output) if transposed else output

    def run_flipped(images):
        total = sum(run_copy(images, transposed, axes)
                    for transposed, axes in _FLIP_COPIES[flips])
        return total / np.float32(flips)

    return run_flipped
