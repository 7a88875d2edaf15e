"""Blurred photographs to calibrate and check an int8 network on, made the same way each time.

int8 quantization (`srn_tf.inference.int8`) measures the range of every activation on
calibration images and then checks the quantized network's deblurring against
float32's on other images. Both sets are synthetic camera shake (`dataset.make_pair`,
"mixed" blur of 5 to 30 pixels, gamma or linear averaging, noise 0.01) on square crops
of scikit-image's photographs, never on an image the user deblurs. `coffee` and
`rocket` are left out: examples/ holds blurred copies of them, on which the int8
network's gain is measured (docs/precision-and-speed.md).
"""

import numpy as np

from srn_tf.data.synth import dataset, render, sources, trajectory

# Which photographs calibrate and which check: no photograph is in both.
CALIBRATION_PHOTOS = ("astronaut", "brick", "camera", "coins", "grass", "moon")
CHECK_PHOTOS = ("chelsea", "gravel", "motorcycle")
CROP = 256
PAIRS_PER_PHOTO = 2
NOISE = 0.01
SEED = 36


def blurred_pairs(names, seed=SEED, crop=CROP, pairs_per_photo=PAIRS_PER_PHOTO):
    """(sharp, blurred) uint8 (crop, crop, 3) pairs from the scikit-image photographs `names`.

    Args:
        names: scene names of `sources.SKIMAGE_PHOTOS`.
        seed: seeds every crop, path and noise draw (per photograph, `dataset.scene_rng`).
        crop: side of the square crops.
        pairs_per_photo: pairs drawn from each photograph.

    Returns:
        A list of `len(names) * pairs_per_photo` pairs, in the order of `names`.
    """
    photos = {source.name: source for source in sources.skimage_sources()}
    responses = tuple(render.CameraResponse(kind) for kind in dataset.DRAWN_RESPONSES)
    pairs = []
    for name in names:
        image, rng = photos[name].load(), dataset.scene_rng(seed, name)
        for _ in range(pairs_per_photo):
            sharp, blurred, _ = dataset.make_pair(
                image, rng, trajectory.PathParameters(), responses, NOISE, "mixed", crop,
                max_side=0, min_scale=1.0)
            pairs.append((sharp, blurred))
    return pairs


def calibration_batches(pairs):
    """The blurred images of `pairs` as float32 (1, crop, crop, 3) batches in [0, 1]."""
    return [(blurred.astype(np.float32) / 255.0)[None] for _, blurred in pairs]
