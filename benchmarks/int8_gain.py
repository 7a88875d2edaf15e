"""int8's deblurring gain against float32's, and its network's time, for one model.

    PYTHONPATH=/tmp/benchdeps python -m benchmarks.int8_gain --output=/tmp/int8_gain.json

The quality gate of `--precision=int8` (docs/precision-and-speed.md, "int8"): on every
held-out set of `benchmarks.real_blur` (the same photographs, blur and seeds) and on
examples/ (pairs.txt), each blurred uint8 image is deblurred by `deblur_image` at
float32 and at int8, with the network alone (quality "network") and with the model's
own steps around it (its preset; the bundled model's is "standard"). Per set and
stage: the mean gain in dB (PSNR, peak 255, of the output against the sharp image,
minus the blurred input's) at each precision and int8's minus float32's; int8 passes
where that difference is at least -0.1 dB on every set.

Then the network alone at 1280x720: float32's traced TensorFlow graph
(`forward_function`, what `deblur_image` runs) and the int8 network (onnxruntime),
timed in turns in this process (A, B, A, B, ...; `--rounds` each, medians), as the
ratio int8 / float32: other processes on the machine load both alike. Writes one
JSON file (`--output`), nothing else; the int8 network comes from the cache folder
(made first when absent: not timed).
"""

import argparse
import os
import statistics
import time

import numpy as np

from benchmarks.machine import machine
from benchmarks.real_blur import DRAWS_PER_PHOTO, STRENGTHS, blur, held_out_sets, photographs
from srn_tf import deblur_image, load_model, psnr, quality_options
from srn_tf.atomic_files import write_json
from srn_tf.data import image_io

PRECISIONS = ("float32", "int8")
STAGES = ("network", "preset")
MAX_LOSS_DB = 0.1
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "examples")


def example_pairs():
    """(name, blurred uint8, sharp uint8) of examples/pairs.txt."""
    pairs = []
    with open(os.path.join(EXAMPLES, "pairs.txt"), encoding="utf-8") as handle:
        for line in handle:
            sharp, blurred = line.split()
            pairs.append((blurred, image_io.read_image(os.path.join(EXAMPLES, blurred)),
                          image_io.read_image(os.path.join(EXAMPLES, sharp))))
    return pairs


def held_out_images(seed):
    """set name -> [(blurred uint8, sharp uint8)], drawn as `benchmarks.real_blur` draws."""
    photos, images = photographs(), {}
    for set_index, (name, (kind, strength_name, noise, jpeg_quality)) in enumerate(
            held_out_sets().items()):
        images[name] = []
        for photo_index, sharp in enumerate(photos.values()):
            for draw in range(DRAWS_PER_PHOTO):
                rng = np.random.default_rng([seed, set_index, photo_index, draw])
                strength = float(rng.uniform(*STRENGTHS[strength_name]))
                blurred, target, _ = blur(sharp, kind, strength, noise, jpeg_quality, draw,
                                          rng)
                images[name].append((blurred, target))
    return images


def gains(model, pairs):
    """{stage: {precision: mean gain in dB}} over (blurred, sharp) `pairs`."""
    options = {"network": quality_options("network"), "preset": None}
    totals = {stage: {precision: [] for precision in PRECISIONS} for stage in STAGES}
    for blurred, sharp in pairs:
        before = psnr(blurred, sharp)
        for stage in STAGES:
            for precision in PRECISIONS:
                result = deblur_image(model, blurred, options[stage], precision=precision)
                totals[stage][precision].append(psnr(result, sharp) - before)
    summary = {}
    for stage, values in totals.items():
        entry = {precision: round(float(np.mean(gain)), 3) for precision, gain in values.items()}
        entry["int8_minus_float32"] = round(entry["int8"] - entry["float32"], 3)
        summary[stage] = entry
    return summary


def network_ratio(model, rounds, shape=(1, 720, 1280, 3)):
    """Median seconds of the int8 network over float32's traced graph at `shape`, timed
    in turns, and both medians."""
    import tensorflow as tf

    from srn_tf.inference.deblur import forward_function
    from srn_tf.inference.int8.quantize import int8_network

    images = np.random.default_rng(0).random(shape, np.float32)
    graph, network = forward_function(model, "float32", shape), int8_network(model)
    engines = {"float32": lambda: graph(tf.constant(images)).numpy(),
               "int8": lambda: network(images)}
    for run in engines.values():  # warm-up: tracing, session start
        run()
    seconds = {name: [] for name in engines}
    for index in range(rounds):
        order = list(engines) if index % 2 == 0 else list(reversed(engines))
        for name in order:
            began = time.perf_counter()
            engines[name]()
            seconds[name].append(time.perf_counter() - began)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    return {"shape": list(shape), "rounds": rounds, "median_seconds": medians,
            "int8_over_float32": round(medians["int8"] / medians["float32"], 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="JSON file to write")
    parser.add_argument("--checkpoint", default="default", help="model folder or preset")
    parser.add_argument("--seed", type=int, default=2606, help="real_blur's seed")
    parser.add_argument("--rounds", type=int, default=6, help="timed runs of each network")
    args = parser.parse_args()

    model = load_model(args.checkpoint)
    sets = {"examples/": [(blurred, sharp) for _, blurred, sharp in example_pairs()]}
    sets.update(held_out_images(args.seed))
    per_set = {}
    for name, pairs in sets.items():
        per_set[name] = gains(model, pairs)
        print(name, {stage: entry["int8_minus_float32"]
                     for stage, entry in per_set[name].items()}, flush=True)
    worst = {stage: min(entry[stage]["int8_minus_float32"] for entry in per_set.values())
             for stage in STAGES}
    write_json({"checkpoint": args.checkpoint, "machine": machine(), "sets": per_set,
                "worst_int8_minus_float32": worst,
                "passes": all(value >= -MAX_LOSS_DB for value in worst.values()),
                "network_time": network_ratio(model, args.rounds)}, args.output)


if __name__ == "__main__":
    main()
