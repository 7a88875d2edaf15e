"""The release-size color network on the CPU through every runtime, as ratios to the
original graph measured in the same run. Prints one JSON document.

    python -m benchmarks.cpu_paths                      # 720x1280, 3 repeats
    python -m benchmarks.cpu_paths --repeats=5 --output=benchmarks/results/cpu_paths.json
    python -m benchmarks.cpu_paths --model=default      # the bundled model (no original graph)

Paths:
    original_graph  tests/tf1_reference.py's plain tf.nn implementation of the
                    release's graph (the stand-in for the release's own code:
                    independent of srn_tf), its weights tf.Variables, traced with
                    tf.function; the baseline of every ratio
    tf_graph        srn_tf's traced forward pass as deblur_image runs it
                    (`forward_function(..., jit_compile=False)`)
    xla             the same, compiled with XLA (`jit_compile=True`)
    onnxruntime     the `srn-export --format=onnx` file on onnxruntime's CPU provider
    litert          the `srn-export --format=litert` file (this size) on LiteRT/XNNPACK
    deblur_image    `srn_tf.deblur_image` as it runs by default (release options:
                    one run, no post-processing): tf_graph plus the padding, the
                    numpy conversions and the clip

Weights: tests/tf1_reference.py's random release weights, kernels scaled by 0.6 so
that outputs stay in an image's range (as benchmarks/common.py's `image_like`),
written as a TF1 checkpoint and loaded with `srn_tf.load_tf1_checkpoint`; the
original graph reads the same values. Input: a motion-blurred skimage.data
photograph. Exporting the ONNX and LiteRT files takes `setup_seconds`; after one
warm-up run each (tracing, compiling: `first_run_seconds`), the paths run `--repeats` times interleaved, so load
from other processes spreads over all of them; each path's median is divided by
the original graph's (`ratio_to_baseline`); `fastest_ratio_to_baseline` divides the
fastest runs instead, which other processes' load inflates least.
`max_abs_difference` is each path's largest difference from the float32 TF graph's
output (unclipped; clipped to [0, 1] for deblur_image, which clips). onnxruntime and
LiteRT are skipped, saying so, when their extras are not installed.
"""

import argparse
import importlib.util
import json
import os
import statistics
import tempfile
import time

import numpy as np

from benchmarks.machine import machine

PATHS = ("original_graph", "tf_graph", "xla", "onnxruntime", "litert", "deblur_image")
KERNEL_SCALE = 0.6


def _machine():
    return {**machine(), "load_average_at_start": [round(value, 2) for value in os.getloadavg()]}


def release_size_model(folder):
    """(model, TF1 weights): the release's color network with random release weights."""
    import srn_tf
    from tests.tf1_reference import random_release_weights, write_tf1_checkpoint

    weights = {name: value * KERNEL_SCALE if value.ndim == 4 else value
               for name, value in random_release_weights("color").items()}
    prefix = write_tf1_checkpoint(weights, folder)
    model = srn_tf.build_model("color")
    srn_tf.load_tf1_checkpoint(model, prefix)
    return model, weights


def build_paths(model, weights, image, folder, names):
    """{name: function returning the (1, height, width, 3) float32 output} for `names`."""
    import tensorflow as tf

    import srn_tf
    from srn_tf.inference.deblur import forward_function

    batch = image[None]
    shape = batch.shape
    paths, skipped = {}, {}
    if "original_graph" in names and weights is not None:
        from tests.tf1_reference import release_generator

        variables = {name: tf.Variable(value) for name, value in weights.items()}
        original = tf.function(lambda images: release_generator(variables, images, "color")[-1])
        original_function = original.get_concrete_function(tf.TensorSpec(shape, tf.float32))
        paths["original_graph"] = lambda: original_function(tf.constant(batch)).numpy()
    if "tf_graph" in names:
        traced = forward_function(model, shape=shape, jit_compile=False)
        paths["tf_graph"] = lambda: traced(tf.constant(batch)).numpy()
    if "xla" in names:
        compiled = forward_function(model, shape=shape, jit_compile=True)
        paths["xla"] = lambda: compiled(tf.constant(batch)).numpy()
    if "onnxruntime" in names:
        if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("tf2onnx"):
            from srn_tf.checkpoints.export_runners import OnnxRunner
            from srn_tf.export.onnx_file import export_onnx

            onnx_runner = OnnxRunner(export_onnx(model, os.path.join(folder, "model.onnx")))
            paths["onnxruntime"] = lambda: onnx_runner(batch)
        else:
            skipped["onnxruntime"] = "pip install 'srn-tf[onnx]'"
    if "litert" in names:
        if importlib.util.find_spec("ai_edge_litert"):
            from srn_tf.checkpoints.export_runners import LiteRTRunner
            from srn_tf.export.litert_file import export_litert

            litert_runner = LiteRTRunner(export_litert(
                model, os.path.join(folder, "model.tflite"), shape[1], shape[2]))
            paths["litert"] = lambda: litert_runner(batch)
        else:
            skipped["litert"] = "pip install 'srn-tf[litert]'"
    if "deblur_image" in names:
        paths["deblur_image"] = lambda: srn_tf.deblur_image(
            model, image, srn_tf.quality_options("network"))[None]
    return paths, skipped


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="release", choices=["release", "default"],
                        help="release: the release-size color network (random release "
                        "weights); default: the bundled model (no original graph to compare)")
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"comma-separated subset of {','.join(PATHS)}")
    parser.add_argument("--output", help="also write the JSON document to this file")
    args = parser.parse_args()
    names = args.paths.split(",")
    unknown = sorted(set(names) - set(PATHS))
    if unknown:
        parser.error(f"unknown paths {unknown}; choose from {','.join(PATHS)}")

    import srn_tf
    from benchmarks.common import blurred_photo

    machine = _machine()
    image = blurred_photo(height=args.height, width=args.width)
    with tempfile.TemporaryDirectory() as folder:
        if args.model == "release":
            model, weights = release_size_model(folder)
        else:
            model, weights = srn_tf.load_model("default"), None
        setup_start = time.perf_counter()
        paths, skipped = build_paths(model, weights, image, folder, names)
        setup_seconds = time.perf_counter() - setup_start
        first_run_seconds, outputs = {}, {}
        for name, run in paths.items():
            start = time.perf_counter()
            outputs[name] = run()
            first_run_seconds[name] = round(time.perf_counter() - start, 2)
        seconds = {name: [] for name in paths}
        for _ in range(args.repeats):
            for name, run in paths.items():
                start = time.perf_counter()
                run()
                seconds[name].append(round(time.perf_counter() - start, 2))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    fastest = {name: min(values) for name, values in seconds.items()}
    baseline = "original_graph" if "original_graph" in medians else "tf_graph"
    reference = outputs.get("tf_graph")
    result = {
        "model": args.model, "size": [args.height, args.width], "repeats": args.repeats,
        "machine": {**machine, "load_average_at_end": [round(value, 2)
                                                       for value in os.getloadavg()]},
        "baseline": baseline, "setup_seconds": round(setup_seconds, 1),
        "first_run_seconds": first_run_seconds, "seconds": seconds,
        "median_seconds": medians, "fastest_seconds": fastest,
        "ratio_to_baseline": {name: round(value / medians[baseline], 3)
                              for name, value in medians.items()} if baseline in medians else {},
        "fastest_ratio_to_baseline": {name: round(value / fastest[baseline], 3)
                                      for name, value in fastest.items()}
        if baseline in fastest else {},
        # deblur_image clips its result to [0, 1], as the release writes it.
        "max_abs_difference": {
            name: float(np.abs(output - (np.clip(reference, 0, 1) if name == "deblur_image"
                                         else reference)).max())
            for name, output in outputs.items()} if reference is not None else {},
        "skipped": skipped,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        from srn_tf.atomic_files import atomic_file

        with atomic_file(args.output) as temporary, open(temporary, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
