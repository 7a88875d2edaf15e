"""The bundled model on camera shake it never saw, on photographs it never saw.

    python -m benchmarks.unseen_shake --paths_per_image=4 --seed=777

`srn-synth` draws its camera paths from smooth arcs, hand shake and straight lines;
this benchmark draws them from another model, so that no trained stage has seen
their shape (`srn_tf.data.synth.trajectory.shake_poses`): a random walk with inertia,
a pull back towards its start and occasional jerks (after Boracchi and Foi, "Modeling
the performance of image restoration from motion blur", IEEE TIP 2012), no rotation,
resampled to 31 frames and scaled to a path length drawn from --min_length to
--max_length pixels. Each photograph is blurred by each path twice: averaged in
gamma-2.2 linear light (as GOPRO and `srn-synth` by default) and on the 8-bit values
(as a blur kernel convolved with a photograph), plus noise (`--noise`, default 0.01), with
`srn_tf.data.synth.render`, and deblurs it as `srn-deblur` would: the bundled model's
`standard` quality, the network once with its flat level matched, refined by the kernel
estimated from it where one kernel explains the image, and denoised (`--flips`,
`--no-flat_level`, `--no-kernel_refinement`, `--no-denoise` to change that), with the
network in float32 (`--precision`; `srn-deblur`'s `auto` may pick bfloat16).

Photographs: `coffee` and `rocket`, the two that every stage held out, and three
scikit-image pictures no stage used (`immunohistochemistry`, and the centre 512x512
of `hubble_deep_field` and of `retina`). Prints one JSON line per blurred image and
then the mean PSNR gain over the blurred input per averaging and per photograph.
"""

import argparse
import json

import numpy as np
import skimage.data

from benchmarks.common import centre_crop
from srn_tf import deblur_image, load_model, psnr
from srn_tf.data.synth.render import CameraResponse, blur_along_path
from srn_tf.data.synth.trajectory import shake_poses
from srn_tf.models.inference_options import options_of
from srn_tf.precision import PRECISIONS

NOISE_SIGMA = 0.01
RESPONSES = {"linear_light": CameraResponse("gamma"), "8bit": CameraResponse("linear")}


def photographs():
    """name -> uint8 (height, width, 3) sharp photograph."""
    return {"coffee": skimage.data.coffee(), "rocket": skimage.data.rocket(),
            "immunohistochemistry": skimage.data.immunohistochemistry(),
            "hubble_deep_field": centre_crop(skimage.data.hubble_deep_field()),
            "retina": centre_crop(skimage.data.retina())}


def _means(rows, key):
    return round(float(np.mean([row[key] for row in rows])), 3)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="srn_tf checkpoint folder (default: the bundled model)")
    parser.add_argument("--flips", type=int, default=None,
                        help="flipped copies averaged (default: the model folder's own, "
                             "1 for the bundled model)")
    parser.add_argument("--flat_level", action=argparse.BooleanOptionalAction, default=None,
                        help="match the output's level to the input's over flat areas "
                             "(default: the model folder's own)")
    parser.add_argument("--kernel_refinement", action=argparse.BooleanOptionalAction,
                        default=None,
                        help="refine the output by the blur kernel estimated from it "
                             "(default: the model folder's own)")
    parser.add_argument("--denoise", action=argparse.BooleanOptionalAction, default=None,
                        help="remove the input's noise level from the output "
                             "(default: the model folder's own)")
    parser.add_argument("--noise", type=float, default=NOISE_SIGMA,
                        help="standard deviation of the noise added to each blurred image")
    parser.add_argument("--paths_per_image", type=int, default=4,
                        help="random-walk paths per photograph (each blurred both ways)")
    parser.add_argument("--min_length", type=float, default=10.0, help="shortest path, pixels")
    parser.add_argument("--max_length", type=float, default=30.0, help="longest path, pixels")
    parser.add_argument("--seed", type=int, default=777, help="seeds the paths and the noise")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS,
                        help="the network's arithmetic (default float32, the pinned "
                             "examples' precision)")
    args = parser.parse_args()

    model = load_model(args.checkpoint or "default")
    try:
        options = options_of(model).override(
            flips=args.flips, flat_level=args.flat_level, denoise=args.denoise,
            kernel_refinement=args.kernel_refinement)
    except ValueError as error:
        parser.error(str(error))
    rng = np.random.default_rng(args.seed)
    photos = photographs()
    rows = []
    for name, sharp in photos.items():
        for _ in range(args.paths_per_image):
            length = rng.uniform(args.min_length, args.max_length)
            poses = shake_poses(rng, length)
            for averaging, response in RESPONSES.items():
                blurred = blur_along_path(sharp, poses, response, rng, args.noise)
                output = deblur_image(model, blurred, options, precision=args.precision)
                input_psnr = psnr(blurred, sharp)
                rows.append({"photo": name, "averaging": averaging, "path_px": round(length, 1),
                             "input_psnr": round(input_psnr, 3),
                             "psnr_gain": round(psnr(output, sharp) - input_psnr, 3)})
                print(json.dumps(rows[-1]), flush=True)
    summary = {"model": args.checkpoint or "bundled", **options.to_config(),
               "precision": args.precision, "noise": args.noise,
               "seed": args.seed}
    for averaging in RESPONSES:
        kind = [row for row in rows if row["averaging"] == averaging]
        summary[averaging] = {"images": len(kind), "input_psnr": _means(kind, "input_psnr"),
                              "psnr_gain": _means(kind, "psnr_gain"),
                              "per_photo": {name: _means([r for r in kind if r["photo"] == name],
                                                         "psnr_gain")
                                            for name in photos}}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
