"""The streamed plan (tiled network and post-processing) against the whole-image plan
on photos where both fit: PSNR between the two outputs, and of each to the sharp image.

skimage's photographs enlarged to --height x --width (about 3 MP by default, above
srn-deblur's automatic tiling threshold of 2 MP), blurred by camera shake (one
kernel, 8-bit or linear light) or by blur varying across the frame, noise-free and
with noise 0.01; the bundled model at its default quality, whole (`tile=None`) and
streamed with the tile srn-deblur picks (`per_file.auto_tile`).

    python -m benchmarks.streamed_quality --output=benchmarks/results/streamed_quality.json
"""

import json
import os
import time

import cv2
import numpy as np
import skimage.data
from absl import app, flags

from benchmarks.machine import machine
from srn_tf import deblur_image, load_deblur_model, psnr
from srn_tf.data.synth.render import CameraResponse, blur_along_path
from srn_tf.data.synth.spatially_varying import SPATIAL_KINDS, render_spatially_varying
from srn_tf.data.synth.trajectory import shake_poses
from srn_tf.inference.per_file import auto_tile

FLAGS = flags.FLAGS
flags.DEFINE_integer("height", 1536, "Rows of each photo.")
flags.DEFINE_integer("width", 2048, "Columns of each photo.")
flags.DEFINE_list("photos", ["astronaut", "coffee"], "skimage.data photographs.")
flags.DEFINE_string("output", "benchmarks/results/streamed_quality.json", "JSON file written.")

# (name, kind, strength in pixels at the photo's size, noise sigma)
BLURS = (("shake 8-bit, noise-free", "8-bit", 24.0, 0.0),
         ("shake linear light, noise 0.01", "linear light", 24.0, 0.01),
         (f"{SPATIAL_KINDS[0]}, noise-free", SPATIAL_KINDS[0], 24.0, 0.0),
         (f"{SPATIAL_KINDS[0]}, noise 0.01", SPATIAL_KINDS[0], 24.0, 0.01))


def blurred_pair(sharp, kind, strength, noise, rng):
    """(blurred uint8, sharp uint8) for one blur of `BLURS`."""
    if kind in ("8-bit", "linear light"):
        response = CameraResponse("linear" if kind == "8-bit" else "gamma")
        return blur_along_path(sharp, shake_poses(rng, strength), response, rng,
                               noise), sharp
    return render_spatially_varying(sharp, kind, rng, strength, noise_sigma=noise)


def main(argv):
    del argv
    model = load_deblur_model(None)
    rows = []
    for photo_name in FLAGS.photos:
        photo = getattr(skimage.data, photo_name)()
        photo = cv2.resize(photo, (FLAGS.width, FLAGS.height), interpolation=cv2.INTER_CUBIC)
        for index, (name, kind, strength, noise) in enumerate(BLURS):
            blurred, sharp = blurred_pair(photo, kind, strength, noise,
                                          np.random.default_rng(index))
            tile = auto_tile(model, blurred.shape)
            start = time.time()
            whole = deblur_image(model, blurred, precision="float32")
            whole_seconds, start = time.time() - start, time.time()
            streamed = deblur_image(model, blurred, precision="float32", tile=tile)
            streamed_seconds = time.time() - start
            row = {"photo": photo_name, "blur": name, "tile": tile,
                   "streamed_to_whole_db": round(psnr(streamed, whole), 2),
                   "whole_to_sharp_db": round(psnr(whole, sharp), 3),
                   "streamed_to_sharp_db": round(psnr(streamed, sharp), 3),
                   "blurred_to_sharp_db": round(psnr(blurred, sharp), 3),
                   "whole_seconds": round(whole_seconds, 1),
                   "streamed_seconds": round(streamed_seconds, 1)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    report = {"command": "python -m benchmarks.streamed_quality", "machine": machine(),
              "height": FLAGS.height, "width": FLAGS.width, "rows": rows}
    os.makedirs(os.path.dirname(FLAGS.output) or ".", exist_ok=True)
    with open(FLAGS.output, "w") as handle:
        json.dump(report, handle, indent=1)


if __name__ == "__main__":
    app.run(main)
