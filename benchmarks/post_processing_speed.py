"""The bundled model's post-processing, step by step: this checkout's code against a
baseline revision's, timed in turns in one process.

    python -m benchmarks.post_processing_speed --baseline=3b19bed \
        --output=benchmarks/results/post_processing_speed.json

The steps `deblur_image` runs after the network at the bundled model's `standard`
quality (docs/deblurring.md): the flat level, the noise estimate, the kernel
agreement test, kernel refinement (estimate and deconvolution, the share and the
local-range clip) and denoising, then the whole of them as `deblur_image` chains
them (`refine_with_kernel` includes the agreement test). Inputs: scikit-image's
coffee photograph resized to each `--sizes`, blurred by uniform camera shake (12
pixels, linear light, noise 1/255, seeded), and the bundled network's output for
it (quality=network, float32).

The baseline's `srn_tf/inference/postprocess/` is read from git (`git show`) into a
temporary package, so that both versions run on the same inputs in one process:
each call of the baseline is followed by the same call of this checkout's code
(A, B, A, B, ...), and the JSON gives the medians of both, their ratio
(baseline / current: above 1 is faster now), wall-clock and process CPU time (all
threads; the CPU time is the steadier figure on a machine others share), and the
largest difference of the two outputs. The current code's whole post-processing is
also timed with its independent pieces in turn (`postprocess.threads` given one CPU)
against the same at once on the process's CPUs ("threads": in turn / at once; the wait
it saves depends on the cores others leave free), and its wait on 2 and 4 free CPUs is
computed from per-thread CPU times (`critical_path`), against the baseline's CPU time
(the baseline runs on one thread). Writes one JSON file (`--output`), nothing else,
and prints a Markdown table.
"""

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
import skimage.data

from benchmarks.machine import machine
from srn_tf import deblur_image, load_model, quality_options
from srn_tf.atomic_files import write_json
from srn_tf.data.synth.render import CameraResponse, blur_along_path
from srn_tf.data.synth.trajectory import shake_poses
from srn_tf.processor import CPUINFO_PATH, cpu_flags

PACKAGE = "srn_tf.inference.postprocess"
MODULES = ("flat_level", "noise", "kernel_agreement", "kernel_refinement", "denoising",
           "blur_kernels")
# The free CPUs the whole post-processing's wait is computed for (`critical_path`).
FREE_CPUS = (2, 4)
# The flags that decide how fast these steps and the network run.
FLAGS_OF_NOTE = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")


def baseline_package(revision, folder):
    """The modules of `PACKAGE` at git `revision`, imported from `folder` as the
    package `baseline_postprocess`: every module the revision holds there is copied
    (the steps' helpers too, e.g. `threads`), their imports of each other rewritten."""
    package = os.path.join(folder, "baseline_postprocess")
    os.makedirs(package)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*arguments):
        return subprocess.run(["git", *arguments], cwd=root, check=True,
                              capture_output=True, text=True).stdout

    directory = PACKAGE.replace(".", "/")
    for path in git("ls-tree", "--name-only", f"{revision}:{directory}").split():
        if not path.endswith(".py"):
            continue
        source = git("show", f"{revision}:{directory}/{path}")
        with open(os.path.join(package, path), "w") as file:
            file.write(source.replace(f"{PACKAGE}.", "baseline_postprocess."))
    sys.path.insert(0, folder)
    return {name: importlib.import_module(f"baseline_postprocess.{name}") for name in MODULES}


def current_package():
    return {name: importlib.import_module(f"{PACKAGE}.{name}") for name in MODULES}


def inputs(model, height, width, seed):
    """(blurred, network output): (height, width, 3) float32 in [0, 1]."""
    sharp = cv2.resize(skimage.data.coffee(), (width, height), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    blurred = blur_along_path(sharp, shake_poses(rng, 12.0), CameraResponse("gamma"), rng,
                              1 / 255)
    planes = blurred.astype(np.float32) / 255
    return planes, deblur_image(model, planes, quality_options("network"))


def steps(modules, blurred, network):
    """step -> function of no arguments running it as `deblur_image` does, on inputs
    the current code computes once (each version gets the same)."""
    flat = modules["flat_level"].match_flat_level(blurred, network)
    noise = modules["noise"].noise_level(blurred)
    refinement = modules["kernel_refinement"]
    share = modules["kernel_agreement"].refinement_share(blurred, flat)
    refined = refinement.refine_with_kernel(blurred, flat, noise)

    def whole():
        levelled = modules["flat_level"].match_flat_level(blurred, network)
        level = modules["noise"].noise_level(blurred)
        return modules["denoising"].denoise_output(
            blurred, refinement.refine_with_kernel(blurred, levelled, level), level)

    return {
        "flat level": lambda: modules["flat_level"].match_flat_level(blurred, network),
        "noise estimate": lambda: modules["noise"].noise_level(blurred),
        "kernel agreement": lambda: modules["kernel_agreement"].refinement_share(blurred, flat),
        # `refine_with_kernel` less its agreement test (timed above): the kernels,
        # the deconvolutions, the share and the local-range clip.
        "kernel refinement": lambda: refinement.keep_share(
            refinement._refine(blurred, flat, noise), flat,
            share * refinement.refined_share(noise)),
        "denoising": lambda: modules["denoising"].denoise_output(blurred, refined, noise),
        "whole post-processing": whole,
    }


def one_cpu(function):
    """`function` with the post-processing's pieces run in turn, as on one CPU."""
    threads = importlib.import_module(f"{PACKAGE}.threads")

    def in_turn():
        usable_cpus = threads.usable_cpus
        threads.usable_cpus = lambda: 1
        try:
            return function()
        finally:
            threads.usable_cpus = usable_cpus

    return in_turn


def critical_path(function, cpu_counts, rounds):
    """The CPU seconds `function` (the current whole post-processing) takes in turn, and
    {cpus: the seconds it would wait on `cpus` CPUs left free} for each of `cpu_counts`,
    from the same calls: its CPU time outside
    `map_in_threads`, plus, for each call of it, the busiest of `cpus` threads given
    the call's pieces longest first, each to the least busy. Both from the process's
    CPU time (the pieces run in turn here, so each piece's share is its own, OpenCV's
    helper threads included), which other processes' load does not stretch as it does
    wall-clock time; medians over `rounds` calls. Thread start and hand-over costs are
    left out, and a piece that OpenCV spreads over its own threads counts as waiting
    for all of its CPU time."""
    modules = [importlib.import_module(f"{PACKAGE}.{name}") for name in MODULES]
    modules = [module for module in modules if hasattr(module, "map_in_threads")]
    calls = []

    def timed_in_turn(piece, items):
        costs, results = [], []
        for item in items:
            start = time.process_time()
            results.append(piece(item))
            costs.append(time.process_time() - start)
        calls.append(costs)
        return results

    originals = [module.map_in_threads for module in modules]
    totals, waits = [], {cpus: [] for cpus in cpu_counts}
    try:
        for module in modules:
            module.map_in_threads = timed_in_turn
        for _ in range(rounds):
            calls.clear()
            start = time.process_time()
            function()
            total = time.process_time() - start
            totals.append(total)
            for cpus in cpu_counts:
                wait = total
                for costs in calls:
                    loads = [0.0] * cpus
                    for cost in sorted(costs, reverse=True):
                        loads[loads.index(min(loads))] += cost
                    wait += max(loads) - sum(costs)
                waits[cpus].append(wait)
    finally:
        for module, original in zip(modules, originals):
            module.map_in_threads = original
    return float(np.median(totals)), {cpus: float(np.median(times))
                                      for cpus, times in waits.items()}


def in_turns(baseline, current, rounds):
    """Medians of wall and CPU seconds of both, called alternately after a warm-up,
    and the largest difference of their results."""
    difference = float(np.max(np.abs(np.asarray(baseline(), np.float64)
                                      - np.asarray(current(), np.float64))))
    times = {"baseline": ([], []), "current": ([], [])}
    for _ in range(rounds):
        for name, function in (("baseline", baseline), ("current", current)):
            wall, cpu = time.perf_counter(), time.process_time()
            function()
            times[name][0].append(time.perf_counter() - wall)
            times[name][1].append(time.process_time() - cpu)
    medians = {name: (float(np.median(wall)), float(np.median(cpu)))
               for name, (wall, cpu) in times.items()}
    return {"baseline_wall_s": round(medians["baseline"][0], 4),
            "current_wall_s": round(medians["current"][0], 4),
            "wall_ratio": round(medians["baseline"][0] / medians["current"][0], 2),
            "baseline_cpu_s": round(medians["baseline"][1], 4),
            "current_cpu_s": round(medians["current"][1], 4),
            "cpu_ratio": round(medians["baseline"][1] / medians["current"][1], 2),
            "largest_difference": difference}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True,
                        help="git revision whose post-processing is the baseline")
    parser.add_argument("--output", required=True, help="JSON file to write")
    parser.add_argument("--sizes", default="720x1280,352x640",
                        help="comma-separated HEIGHTxWIDTH image sizes")
    parser.add_argument("--rounds", type=int, default=7, help="calls of each version per step")
    parser.add_argument("--seed", type=int, default=36, help="seeds the camera path and noise")
    args = parser.parse_args()
    sizes = [tuple(int(side) for side in size.split("x")) for size in args.sizes.split(",")]

    model = load_model("default")
    current = current_package()
    with tempfile.TemporaryDirectory() as folder:
        baseline = baseline_package(args.baseline, folder)
        results, thread_gains = {}, {}
        for height, width in sizes:
            blurred, network = inputs(model, height, width, args.seed)
            baseline_steps = steps(baseline, blurred, network)
            current_steps = steps(current, blurred, network)
            results[f"{height}x{width}"] = {
                step: in_turns(baseline_steps[step], current_steps[step], args.rounds)
                for step in current_steps}
            whole = current_steps["whole post-processing"]
            gain = in_turns(one_cpu(whole), whole, args.rounds)
            cpu_s, waits = critical_path(whole, FREE_CPUS, args.rounds)
            for cpus, wait_s in waits.items():
                gain[f"free_{cpus}_cpus"] = {
                    "cpu_s": round(cpu_s, 4), "wait_s": round(wait_s, 4),
                    "baseline_cpu_over_wait": round(
                        results[f"{height}x{width}"]["whole post-processing"]["baseline_cpu_s"]
                        / wait_s, 2)}
            thread_gains[f"{height}x{width}"] = gain
    with open(CPUINFO_PATH) as file:
        flags = cpu_flags(file.read())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    write_json({"command": "python -m benchmarks.post_processing_speed " + " ".join(
                    f"--{key}={value}" for key, value in vars(args).items()),
                "machine": {**machine(), "flags": [flag for flag in FLAGS_OF_NOTE
                                                   if flag in flags]},
                "baseline": args.baseline, "current": commit, "rounds": args.rounds,
                "results": results, "threads": thread_gains},
               args.output)
    print("| size | step | baseline / current, wall | CPU time | largest difference |")
    print("|---|---|---|---|---|")
    for size, entries in results.items():
        for step, entry in entries.items():
            print(f"| {size} | {step} | {entry['wall_ratio']:.2f} | {entry['cpu_ratio']:.2f} | "
                  f"{entry['largest_difference']:.1e} |")
    for size, entry in thread_gains.items():
        print(f"| {size} | whole, in turn / at once (threads) | {entry['wall_ratio']:.2f} | "
              f"{entry['cpu_ratio']:.2f} | {entry['largest_difference']:.1e} |")
        for cpus in FREE_CPUS:
            free = entry[f"free_{cpus}_cpus"]
            print(f"| {size} | whole, baseline's CPU time / wait on {cpus} free CPUs "
                  f"(critical path) | {free['baseline_cpu_over_wait']:.2f} | | |")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
