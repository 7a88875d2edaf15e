"""Kernel refinement's local-range clip: before the share of the change is taken, or after.

    python -m benchmarks.range_clip_order --output=benchmarks/results/range_clip_order.json

`refine_with_kernel` keeps a share of the refinement's change that grows with the
input's noise up to 1.2 (`refined_share`, times the agreement's share) and clips
the result to the network output's local range (`within_local_range`). This scores
three orders of the two on the bundled model's `standard` path (network once, flat
level, kernel refinement, denoising), PSNR to the sharp image as
`benchmarks.real_blur` scores its stages:

- `clip_then_share`: the clip, then the share (a share above 1 leaves the range);
- `share_then_clip`: the share, then the clip (what the code does:
  `kernel_refinement.keep_share`);
- `clip_share_clip`: clip, share, clip (the first wherever the share is at most 1).

Sets: every held-out set of `benchmarks.real_blur` (the same images, same seeds;
`--sets` to choose) and the pinned examples (examples/pairs.txt). As in
`benchmarks.real_blur`, the network runs on float32 input, so its output is
clipped to [0, 1] before the steps. Writes one JSON file (`--output`) and prints
one Markdown table.
"""

import argparse
import os

import numpy as np

from benchmarks.machine import machine
from benchmarks.real_blur import DRAWS_PER_PHOTO, STRENGTHS, blur, held_out_sets, photographs
from srn_tf import deblur_image, load_model, psnr, quality_options
from srn_tf.atomic_files import write_json
from srn_tf.data import image_io
from srn_tf.inference.postprocess.denoising import denoise_output
from srn_tf.inference.postprocess.flat_level import match_flat_level
from srn_tf.inference.postprocess.kernel_agreement import refinement_share
from srn_tf.inference.postprocess.kernel_refinement import (refine_with_kernel,
                                                            refine_with_one_kernel, refined_share,
                                                            within_local_range)
from srn_tf.inference.postprocess.noise import noise_level

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
VARIANTS = ("clip_then_share", "share_then_clip", "clip_share_clip")


def refined_variants(planes, flat, noise):
    """variant -> refined float32 image, and the share of the change kept."""
    agreement = refinement_share(planes, flat)
    if agreement == 0.0:
        return {variant: flat for variant in VARIANTS}, 0.0
    refined = refine_with_one_kernel(planes, flat)
    share = np.float32(agreement * refined_share(noise))
    clipped = within_local_range(refined, flat)
    kept = (flat + share * (clipped - flat)).astype(np.float32)
    return {"clip_then_share": kept,
            "share_then_clip": within_local_range(
                (flat + share * (refined - flat)).astype(np.float32), flat),
            "clip_share_clip": within_local_range(kept, flat)}, float(share)


def score(model, blurred, sharp, check=False):
    """variant -> PSNR of the standard path's 8-bit output, and the share kept."""
    planes = blurred.astype(np.float32) / 255.0
    network = deblur_image(model, planes, quality_options("network"), precision="float32")
    flat = match_flat_level(planes, network)
    noise = noise_level(planes)
    variants, share = refined_variants(planes, flat, noise)
    if check and share > 0:  # what the code does
        np.testing.assert_array_equal(variants["share_then_clip"],
                                      refine_with_kernel(planes, flat, noise))
    psnrs = {}
    for variant, refined in variants.items():
        output = denoise_output(planes, refined, noise)
        psnrs[variant] = psnr((np.clip(output, 0.0, 1.0) * 255.0).astype(np.uint8), sharp)
    return psnrs, share


def images(seed, wanted):
    """(set name, blurred uint8, sharp uint8) of the held-out sets, then the examples."""
    photos = photographs()
    for set_index, (name, (kind, strength_name, noise, jpeg_quality)) in enumerate(
            held_out_sets().items()):
        if wanted and not any(w in name for w in wanted):
            continue
        for photo_index, sharp in enumerate(photos.values()):
            for draw in range(DRAWS_PER_PHOTO):
                rng = np.random.default_rng([seed, set_index, photo_index, draw])
                strength = float(rng.uniform(*STRENGTHS[strength_name]))
                blurred, target, _ = blur(sharp, kind, strength, noise, jpeg_quality, draw, rng)
                yield name, blurred, target
    if not wanted or any(w in "examples" for w in wanted):
        with open(os.path.join(EXAMPLES, "pairs.txt")) as handle:
            for sharp, blurred in (line.split() for line in handle if line.strip()):
                yield ("examples", image_io.read_image(os.path.join(EXAMPLES, blurred)),
                       image_io.read_image(os.path.join(EXAMPLES, sharp)))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="JSON file to write")
    parser.add_argument("--seed", type=int, default=2606, help="as benchmarks.real_blur's")
    parser.add_argument("--sets", default=None,
                        help="comma-separated substrings: only the sets whose name contains "
                             "one ('examples' for the examples; default: all)")
    args = parser.parse_args()
    model = load_model("default")
    wanted = args.sets.split(",") if args.sets else None
    rows = []
    for index, (name, blurred, sharp) in enumerate(images(args.seed, wanted)):
        psnrs, share = score(model, blurred, sharp, check=index < 3)
        rows.append({"set": name, "share": round(share, 3),
                     "psnr": {variant: round(value, 4) for variant, value in psnrs.items()}})
        print(name, f"share {share:.2f}", " ".join(f"{v} {p:.3f}" for v, p in psnrs.items()),
              flush=True)
    sets = {}
    for name in dict.fromkeys(row["set"] for row in rows):
        chosen = [row for row in rows if row["set"] == name]
        sets[name] = {"images": len(chosen), "largest_share": max(r["share"] for r in chosen),
                      **{variant: round(float(np.mean([r["psnr"][variant] for r in chosen])), 3)
                         for variant in VARIANTS}}
    result = {"command": "python -m benchmarks.range_clip_order " + " ".join(
                  f"--{key}={value}" for key, value in vars(args).items() if value is not None),
              "machine": machine(), "variants": list(VARIANTS), "sets": sets, "rows": rows}
    write_json(result, args.output)
    print("| set | images | largest share | " + " | ".join(VARIANTS) + " |")
    print("|---|---|---|" + "---|" * len(VARIANTS))
    for name, entry in sets.items():
        print(f"| {name} | {entry['images']} | {entry['largest_share']:.2f} | "
              + " | ".join(f"{entry[variant]:.3f}" for variant in VARIANTS) + " |")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
