"""Precision and speed on this CPU: the original graph, float32, bfloat16, int8 and the
whole default path, each engine in its own process, timed in turns. Writes JSON.

    python -m benchmarks.precision_speed --output=benchmarks/results/precision_speed.json
    python -m benchmarks.precision_speed --sizes=352x640 --rounds=2     # quicker

Engines (`ENGINES`):
    original_graph       tests/tf1_reference.py's plain tf.nn implementation of the
                         release's graph (independent of srn_tf) with random release
                         weights: the baseline of every `ratio_to_original_graph`
    release_<precision>  the same release-size color network, the same weights, through
                         `deblur_image` with the network alone (quality "network") at
                         float32, bfloat16, int8 and auto (what `--precision=auto`
                         picks on this CPU)
    bundled_<precision>  the bundled model's network alone at float32, bfloat16, int8
    bundled_default      the bundled model as srn-deblur runs it by default: its preset
                         (the "standard" quality) at `--precision=auto`
    bundled_default_float32  the same at float32 (the distance auto adds end to end)

Each engine runs in a process of its own (so its peak RSS is its own: `peak_rss_gb`),
loads and warms up once (tracing, int8 quantization or cache: not timed), then runs
`--runs` times and exits. The engines take turns: round 1 runs every engine once, round
2 again in the reverse order, and so on, so that load from other processes spreads
over all of them. `seconds` holds every timed run; `ratio_to_original_graph` divides
each release engine's median by the original graph's, `ratio_to_bundled_float32` each
bundled engine's by the bundled float32 network's. `psnr_vs_float32_db` compares each
engine's output with its float32 counterpart's (the same model, options and image;
peak 1.0 on the [0, 1] float outputs): the release engines with release_float32, the
bundled network engines with bundled_float32, bundled_default with
bundled_default_float32. The input is a motion-blurred skimage.data photograph
(`benchmarks.common.blurred_photo`). An engine whose extra is missing (int8 without
onnxruntime) is listed under `skipped` with the reason.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks.machine import machine

# name: (model, precision, quality): quality None runs the model's own preset.
ENGINES = {
    "original_graph": ("release", None, "network"),
    "release_float32": ("release", "float32", "network"),
    "release_bfloat16": ("release", "bfloat16", "network"),
    "release_int8": ("release", "int8", "network"),
    "release_auto": ("release", "auto", "network"),
    "bundled_float32": ("bundled", "float32", "network"),
    "bundled_bfloat16": ("bundled", "bfloat16", "network"),
    "bundled_int8": ("bundled", "int8", "network"),
    "bundled_default": ("bundled", "auto", None),
    "bundled_default_float32": ("bundled", "float32", None),
}
# Each engine's output is compared with this engine's.
FLOAT32_COUNTERPART = {name: ("release_float32" if model == "release" else
                              "bundled_default_float32" if quality is None else
                              "bundled_float32")
                       for name, (model, _, quality) in ENGINES.items()}
SIZES = ("352x640", "720x1280")
# The CPU flags that decide these engines' speed: native bfloat16 (AVX512_BF16, AMX,
# Arm's BF16) and int8 dot products (VNNI).
PRECISION_FLAGS = {"avx512_bf16", "amx_bf16", "amx_tile", "amx_int8", "avx512_vnni",
                   "avx_vnni", "bf16"}


def _run_engine(name, height, width, runs, output_path):
    """In the engine's own process: set up, warm up, time `runs` runs, save the output.

    Returns the engine's JSON record (seconds, peak RSS, what auto resolved to).
    """
    import srn_tf
    from benchmarks.common import blurred_photo

    model_kind, precision, quality = ENGINES[name]
    image = blurred_photo(height=height, width=width)
    with tempfile.TemporaryDirectory() as folder:
        if model_kind == "release":
            from benchmarks.cpu_paths import release_size_model

            model, weights = release_size_model(folder)
        else:
            model, weights = srn_tf.load_model("default"), None
        if name == "original_graph":
            import tensorflow as tf

            from tests.tf1_reference import release_generator

            variables = {key: tf.Variable(value) for key, value in weights.items()}
            graph = tf.function(lambda images: release_generator(variables, images, "color")[-1])
            batch = tf.constant(image[None])
            function = graph.get_concrete_function(tf.TensorSpec(batch.shape, tf.float32))

            def run():
                return np.clip(function(batch).numpy()[0], 0.0, 1.0)
        else:
            options = None if quality is None else srn_tf.quality_options(quality)

            def run():
                return srn_tf.deblur_image(model, image, options, precision)

        try:
            output = run()  # warm-up: tracing, and int8's quantization or its cache
        except (ImportError, ValueError) as error:
            return {"skipped": str(error).splitlines()[0]}
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            output = run()
            seconds.append(round(time.perf_counter() - start, 3))
    np.save(output_path, output.astype(np.float32))
    record = {"seconds": seconds,
              "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    if precision == "auto":
        from srn_tf.processor import resolve_precision

        record["auto_resolves_to"] = str(resolve_precision("auto"))
    return record


def _psnr(image, reference):
    """PSNR in dB of two float images in [0, 1], or "identical"."""
    mse = float(np.mean((image.astype(np.float64) - reference.astype(np.float64)) ** 2))
    return "identical" if mse == 0 else round(10 * np.log10(1.0 / mse), 1)


def _size(text):
    height, width = (int(part) for part in text.split("x"))
    return height, width


def _measure_size(names, height, width, rounds, runs, folder):
    """Every engine of `names` at one size, `rounds` turns: the size's JSON record."""
    seconds = {name: [] for name in names}
    peak = {name: 0.0 for name in names}
    skipped, auto = {}, None
    order = list(names)
    for round_index in range(rounds):
        for name in order if round_index % 2 == 0 else order[::-1]:
            if name in skipped:
                continue
            output = os.path.join(folder, f"{name}_{height}x{width}.npy")
            result = subprocess.run(
                [sys.executable, "-m", "benchmarks.precision_speed", f"--worker={name}",
                 f"--sizes={height}x{width}", f"--runs={runs}", f"--worker_output={output}"],
                capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"{name} at {height}x{width} failed:\n{result.stderr[-3000:]}")
            record = json.loads(result.stdout.strip().splitlines()[-1])
            if "skipped" in record:
                skipped[name] = record["skipped"]
                continue
            seconds[name] += record["seconds"]
            peak[name] = max(peak[name], record["peak_rss_gb"])
            auto = record.get("auto_resolves_to", auto)
    done = [name for name in names if name not in skipped]
    medians = {name: statistics.median(seconds[name]) for name in done}
    outputs = {name: np.load(os.path.join(folder, f"{name}_{height}x{width}.npy"))
               for name in done}

    def ratios(baseline, prefix):
        if baseline not in medians:
            return {}
        return {name: round(medians[name] / medians[baseline], 3)
                for name in done if name.startswith(prefix) or name == baseline}

    return {
        "seconds": {name: seconds[name] for name in done},
        "median_seconds": medians,
        "ratio_to_original_graph": ratios("original_graph", "release_"),
        "ratio_to_bundled_float32": ratios("bundled_float32", "bundled_"),
        "psnr_vs_float32_db": {
            name: _psnr(outputs[name], outputs[FLOAT32_COUNTERPART[name]])
            for name in done if name != "original_graph"
            and FLOAT32_COUNTERPART[name] in outputs and name != FLOAT32_COUNTERPART[name]},
        "peak_rss_gb": {name: peak[name] for name in done},
        "auto_resolves_to": auto,
        "skipped": skipped,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES),
                        help="comma-separated HEIGHTxWIDTH sizes, multiples of 16")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated subset of {','.join(ENGINES)}")
    parser.add_argument("--rounds", type=int, default=3, help="turns over all engines")
    parser.add_argument("--runs", type=int, default=2, help="timed runs per engine per turn")
    parser.add_argument("--output", help="also write the JSON document to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker_output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [_size(text) for text in args.sizes.split(",")]
    if args.worker:
        print(json.dumps(_run_engine(args.worker, *sizes[0], args.runs, args.worker_output)))
        return
    names = args.engines.split(",")
    unknown = sorted(set(names) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engines {unknown}; choose from {','.join(ENGINES)}")
    from srn_tf.processor import cpu_flags, read_cpuinfo

    flags = sorted(cpu_flags(read_cpuinfo()) & PRECISION_FLAGS)
    result = {"command": "python -m benchmarks.precision_speed " + " ".join(sys.argv[1:]),
              "machine": {**machine(), "precision_flags": flags,
                          "load_average_at_start": [round(v, 2) for v in os.getloadavg()]},
              "rounds": args.rounds, "runs": args.runs, "sizes": {}}
    with tempfile.TemporaryDirectory() as folder:
        for height, width in sizes:
            result["sizes"][f"{height}x{width}"] = _measure_size(
                names, height, width, args.rounds, args.runs, folder)
    result["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(result, indent=2))
    if args.output:
        from srn_tf.atomic_files import write_json

        write_json(result, args.output)


if __name__ == "__main__":
    main()
