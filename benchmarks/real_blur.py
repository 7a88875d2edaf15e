"""The bundled model's network and every step of its inference path on blur like a photograph's.

    python -m benchmarks.real_blur --output=benchmarks/results/real_blur.json

Held-out sets, each made from photographs no training run used: scikit-learn's
`china` and `flower` and matplotlib's `grace_hopper`, their centre 384x512 (rows x
columns), seeded. Per set, each photograph is blurred twice:

- `uniform`: camera shake without rotation, one path for the whole image, drawn
  from the random walk of `srn_tf.data.synth.trajectory.shake_poses` (a model of
  shake no training stage used), once averaged in linear light and once on the 8-bit values;
- `object_motion`, `camera_roll`, `depth_varying`: blur that varies across the
  image (`srn_tf.data.synth.spatially_varying`), averaged in linear light;

each `light` (strength 4 to 10 pixels: path length for uniform shake, the largest
displacement of the burst otherwise) and `heavy` (12 to 30 pixels), with noise of
0.01, 1/255 and 0 (8-bit rounding only); and two JPEG sets (quality 85, noise
1/255): heavy uniform shake and heavy camera roll.

Every image runs through the network once alone (1 copy) and once with 4 flipped
copies (`deblur_image` on float32 input, so the network's output is clipped to
[0, 1] before the steps below, which `srn-deblur` applies to it unclipped; the network
computes in `--precision`, float32 by default, the precision the pinned examples use,
where `srn-deblur`'s `auto` may pick bfloat16), and the
post-processing steps are applied to those outputs in `deblur_image`'s order, so
that each stage is scored on the same network output:

| stage | flips | flat level | kernel refinement | denoise |
|---|---|---|---|---|
| `network` | 1 | | | |
| `flat` | 1 | yes | | |
| `flat_refine` | 1 | yes | where one kernel explains the image | |
| `flat_denoise` | 1 | yes | | yes |
| `standard` (quality=standard, the default) | 1 | yes | where one kernel explains the image | yes |
| `standard_one_kernel` | 1 | yes | always, one kernel, in full | yes |
| `flips4` | 4 | | | |
| `best` (quality=best) | 4 | yes | where one kernel explains the image | yes |
| `best_one_kernel` | 4 | yes | always, one kernel, in full | yes |

"Where one kernel explains the image" is `refine_with_kernel` (its agreement test and
share); "always, one kernel, in full" is `refine_with_one_kernel`, the whole-image
refinement alone. PSNR (peak 255, `srn_tf.psnr`) against the sharp photograph on the 8-bit outputs
(clipped and truncated as `deblur_image` converts them). Per set: the mean PSNR of
each stage, its mean gain over the blurred input and over the network alone, and
the lowest per-image gain over the network. Per mode (network, standard, best) the
mean seconds an image (network runs plus post-processing, timed in this process),
and the ratio to the network alone. Writes one JSON file (`--output`), nothing else.
"""

import argparse
import os
import time

import cv2
import numpy as np

try:  # the held-out photographs ship with these two, which srn-tf does not need
    import matplotlib
    import sklearn.datasets
except ImportError as error:
    raise SystemExit(f"benchmarks.real_blur: {error.name} is missing; its photographs "
                     "come with scikit-learn and matplotlib: pip install scikit-learn "
                     "matplotlib") from None

from benchmarks.common import centre_crop
from benchmarks.machine import machine
from srn_tf import InferenceOptions, deblur_image, load_model, psnr
from srn_tf.atomic_files import write_json
from srn_tf.data.synth.render import CameraResponse, blur_along_path, compress_jpeg
from srn_tf.data.synth.spatially_varying import SPATIAL_KINDS, render_spatially_varying
from srn_tf.data.synth.trajectory import shake_poses
from srn_tf.inference.postprocess.denoising import denoise_output
from srn_tf.inference.postprocess.flat_level import match_flat_level
from srn_tf.inference.postprocess.kernel_agreement import disagreement
from srn_tf.inference.postprocess.kernel_refinement import (refine_with_kernel,
                                                            refine_with_one_kernel)
from srn_tf.precision import PRECISIONS

CROP = (384, 512)
STRENGTHS = {"light": (4.0, 10.0), "heavy": (12.0, 30.0)}
NOISES = {"noise 0.01": 0.01, "noise 1/255": 1 / 255, "noise-free": 0.0}
JPEG_QUALITY = 85
DRAWS_PER_PHOTO = 2
RESPONSES = (CameraResponse("gamma"), CameraResponse("linear"))
STAGES = ("network", "flat", "flat_refine", "flat_denoise", "standard", "standard_one_kernel",
          "flips4", "best", "best_one_kernel")
# The quality modes and the stages (and their steps) each runs, for the timing.
MODES = {"network": ("network",), "standard": ("network", "flat", "refine", "denoise"),
         "best": ("flips4", "flat", "refine", "denoise")}


def photographs():
    """name -> uint8 (384, 512, 3): the centre crops of the three unseen photographs."""
    samples = sklearn.datasets.load_sample_images()
    photos = {os.path.splitext(os.path.basename(path))[0]: image
              for path, image in zip(samples.filenames, samples.images)}
    hopper = cv2.imread(os.path.join(matplotlib.get_data_path(), "sample_data",
                                     "grace_hopper.jpg"))
    photos["grace_hopper"] = cv2.cvtColor(hopper, cv2.COLOR_BGR2RGB)
    return {name: centre_crop(photos[name], CROP) for name in ("china", "flower", "grace_hopper")}


def held_out_sets():
    """name -> (kind, strength name, noise sigma, JPEG quality or None), in order."""
    sets = {}
    for kind in ("uniform",) + SPATIAL_KINDS:
        for strength in STRENGTHS:
            for noise_name, noise in NOISES.items():
                sets[f"{kind} {strength}, {noise_name}"] = (kind, strength, noise, None)
    for kind in ("uniform", "camera_roll"):
        sets[f"{kind} heavy, noise 1/255, JPEG {JPEG_QUALITY}"] = (kind, "heavy", 1 / 255,
                                                                   JPEG_QUALITY)
    return sets


def blur(sharp, kind, strength, noise, jpeg_quality, draw, rng):
    """(blurred uint8, sharp uint8, description) for one image of a set."""
    if kind == "uniform":
        response = RESPONSES[draw % len(RESPONSES)]
        blurred = blur_along_path(sharp, shake_poses(rng, strength), response, rng, noise)
        if jpeg_quality is not None:
            blurred = compress_jpeg(blurred, jpeg_quality)
        averaging = "linear light" if response.kind == "gamma" else "8-bit"
        return blurred, sharp, averaging
    blurred, sharp = render_spatially_varying(sharp, kind, rng, strength, noise_sigma=noise,
                                              jpeg_quality=jpeg_quality)
    return blurred, sharp, "linear light"


def _to_uint8(image):
    """As `deblur_image` converts a float result: clipped, scaled, truncated."""
    return (np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def _timed(function, *arguments):
    start = time.perf_counter()
    result = function(*arguments)
    return result, time.perf_counter() - start


def run_stages(model, blurred, precision):
    """stage -> float32 output, and step -> seconds, for one uint8 blurred image."""
    planes = blurred.astype(np.float32) / 255.0
    seconds = {}

    def network(flips):
        return deblur_image(model, planes, InferenceOptions(flips=flips), precision=precision)

    out = {}
    out["network"], seconds["network"] = _timed(network, 1)
    out["flips4"], seconds["flips4"] = _timed(network, 4)
    out["flat"], seconds["flat"] = _timed(match_flat_level, planes, out["network"])
    out["flat_refine"], seconds["refine"] = _timed(refine_with_kernel, planes, out["flat"])
    out["flat_denoise"] = denoise_output(planes, out["flat"])
    out["standard"], seconds["denoise"] = _timed(denoise_output, planes, out["flat_refine"])
    one_kernel = refine_with_one_kernel(planes, out["flat"])
    out["standard_one_kernel"] = denoise_output(planes, one_kernel)
    flat4 = match_flat_level(planes, out["flips4"])
    out["best"] = denoise_output(planes, refine_with_kernel(planes, flat4))
    out["best_one_kernel"] = denoise_output(planes, refine_with_one_kernel(planes, flat4))
    return out, seconds, disagreement(planes, out["flat"])


def _mean(values):
    return round(float(np.mean(values)), 3)


def summarise(rows):
    """Per-set means of every stage's PSNR and gains."""
    summary = {}
    for name in dict.fromkeys(row["set"] for row in rows):
        chosen = [row for row in rows if row["set"] == name]
        entry = {"images": len(chosen), "input_psnr": _mean([r["input_psnr"] for r in chosen])}
        for stage in STAGES:
            psnrs = [r["psnr"][stage] for r in chosen]
            over_network = [r["psnr"][stage] - r["psnr"]["network"] for r in chosen]
            entry[stage] = {"psnr": _mean(psnrs),
                            "gain_over_input": _mean([p - r["input_psnr"]
                                                      for p, r in zip(psnrs, chosen)]),
                            "gain_over_network": _mean(over_network),
                            "worst_over_network": round(float(np.min(over_network)), 3)}
        summary[name] = entry
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="JSON file to write")
    parser.add_argument("--seed", type=int, default=2606, help="seeds every path and noise")
    parser.add_argument("--checkpoint", default="default",
                        help="model folder to score (default: the bundled model), e.g. a "
                             "fine-tuned run's folder; the stages are the same for any model")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS,
                        help="the network's arithmetic (default float32, the pinned "
                             "examples' precision)")
    parser.add_argument("--sets", default=None,
                        help="comma-separated substrings: run only the sets whose name "
                             "contains one (default: all)")
    args = parser.parse_args()

    model = load_model(args.checkpoint)
    photos = photographs()
    sets = held_out_sets()
    if args.sets:
        wanted = args.sets.split(",")
        sets = {name: spec for name, spec in sets.items() if any(w in name for w in wanted)}
    rows, step_seconds = [], []
    for set_index, (name, (kind, strength_name, noise, jpeg_quality)) in enumerate(
            held_out_sets().items()):
        if name not in sets:
            continue
        for photo_index, (photo, sharp) in enumerate(photos.items()):
            for draw in range(DRAWS_PER_PHOTO):
                rng = np.random.default_rng([args.seed, set_index, photo_index, draw])
                strength = float(rng.uniform(*STRENGTHS[strength_name]))
                blurred, target, averaging = blur(sharp, kind, strength, noise, jpeg_quality,
                                                  draw, rng)
                outputs, seconds, ratio = run_stages(model, blurred, args.precision)
                step_seconds.append(seconds)
                row = {"set": name, "photo": photo, "draw": draw, "averaging": averaging,
                       "strength_px": round(strength, 1), "disagreement": round(ratio, 3),
                       "input_psnr": round(psnr(blurred, target), 3),
                       "psnr": {stage: round(psnr(_to_uint8(outputs[stage]), target), 3)
                                for stage in STAGES}}
                rows.append(row)
                print(name, photo, draw, f"disagreement {ratio:.2f}",
                      " ".join(f"{stage} {row['psnr'][stage] - row['psnr']['network']:+.2f}"
                               for stage in ("standard", "standard_one_kernel", "best",
                                             "best_one_kernel")), flush=True)
    # The first image's network runs include tracing; left out of the timing.
    timed = step_seconds[1:] or step_seconds
    mode_seconds = {mode: float(np.mean([sum(s[step] for step in steps) for s in timed]))
                    for mode, steps in MODES.items()}
    timing = {"image": f"{CROP[0]}x{CROP[1]}", "images": len(timed),
              "seconds_per_image": {mode: round(value, 3) for mode, value in mode_seconds.items()},
              "ratio_to_network": {mode: round(value / mode_seconds["network"], 2)
                                   for mode, value in mode_seconds.items()},
              "steps_seconds_per_image": {step: round(float(np.mean([s[step] for s in timed])), 3)
                                          for step in timed[0]}}
    result = {"command": "python -m benchmarks.real_blur " + " ".join(
                  f"--{key}={value}" for key, value in vars(args).items() if value is not None),
              "machine": machine(),
              "photographs": list(photos), "crop": list(CROP), "seed": args.seed,
              "stages": list(STAGES), "timing": timing, "sets": summarise(rows), "rows": rows}
    write_json(result, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
