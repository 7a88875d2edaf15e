"""Inference speed and memory of deblur_image, against the machine's conv2d peak.

    python -m benchmarks.bench_inference                      # everything (many minutes)
    python -m benchmarks.bench_inference --parts=peak,modes --quick

Parts (comma-separated with --parts):
    peak       tf.nn.conv2d 5x5 on the model's own ResBlock shapes at 720x1280
               (32, 64 and 128 channels at 1, 1/2, 1/4 resolution), float32 and
               bfloat16: the machine's peak for this network, in GFLOP/s
    models     color, gray and lstm through deblur_image at 720x1280 (RGB input;
               gray and lstm run three planes, as the release)
    modes      the color model eager (no tf.function), traced (deblur_image's
               default) and XLA-compiled (jit_compile=True)
    precision  the color model in bfloat16, and its PSNR against float32
    tiled      the color model on 2160x3840 with srn-deblur's automatic tile

Every configuration runs in its own subprocess, whose peak RSS is read with
os.wait4 (resource usage of that child alone). FLOPs are counted layer by layer
from the model (2 x multiply-adds of every convolution; bias, ReLU, resize and
adds are under 1% and left out). Input: a motion-blurred skimage.data photograph;
the model is the `image_like` stand-in of benchmarks/common.py (release size,
random weights) unless --checkpoint is given. Prints one JSON document.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

SIZE = (720, 1280)
BIG_SIZE = (2160, 3840)
PARTS = ("peak", "models", "modes", "precision", "tiled")


def count_conv_flops(model, shape):
    """FLOPs of one forward pass of `model` on a (batch, height, width, channels) input.

    Traces the model symbolically (nothing is computed) and records, for every
    Conv2D and Conv2DTranspose call, 2 * kh * kw * in * out per output pixel
    (per input pixel for transposed convolutions).
    """
    import keras
    import tensorflow as tf

    total = [0]
    patched = []
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            original = layer.call

            def counting(inputs, *args, _layer=layer, _original=original, **kwargs):
                outputs = _original(inputs, *args, **kwargs)
                kh, kw = _layer.kernel_size
                transposed = isinstance(_layer, keras.layers.Conv2DTranspose)
                spatial = inputs.shape if transposed else outputs.shape
                pixels = spatial[0] * spatial[1] * spatial[2]
                total[0] += 2 * kh * kw * inputs.shape[-1] * _layer.filters * pixels
                return outputs

            layer.call = counting
            patched.append(layer)
    try:
        tf.function(lambda x: model(x, training=False)).get_concrete_function(
            tf.TensorSpec(shape, tf.float32))
    finally:
        for layer in patched:
            del layer.call
    return total[0]


def _peak(repeats):
    """GFLOP/s of tf.nn.conv2d 5x5 on the model's ResBlock shapes, float32 and bfloat16."""
    import tensorflow as tf

    height, width = SIZE
    shapes = [(height, width, 32), (height // 2, width // 2, 64), (height // 4, width // 4, 128)]
    result = {}
    for dtype in (tf.float32, tf.bfloat16):
        flops = seconds = 0.0
        for h, w, c in shapes:
            x = tf.cast(tf.random.uniform((1, h, w, c)), dtype)
            k = tf.cast(tf.random.uniform((5, 5, c, c), -0.05, 0.05), dtype)
            conv = tf.function(lambda a, b: tf.nn.conv2d(a, b, 1, "SAME"))
            conv(x, k).numpy()
            start = time.perf_counter()
            for _ in range(repeats * 3):
                conv(x, k).numpy()
            seconds += (time.perf_counter() - start) / (repeats * 3)
            flops += 2 * 25 * c * c * h * w
        result[dtype.name] = {"gflops_per_s": round(flops / seconds / 1e9, 1),
                              "seconds_per_pass": round(seconds, 4)}
    return result


def _run_config(config):
    """Runs one configuration in this process; returns its measurements."""
    import tensorflow as tf

    import srn_tf
    from srn_tf.inference import deblur as inference
    from srn_tf.inference.per_file import auto_tile
    from srn_tf.inference.tiling import default_overlap, tile_spans

    from benchmarks.common import blurred_photo, load_benchmark_model

    if config["kind"] == "peak":
        return _peak(config["repeats"])
    model = load_benchmark_model(config.get("checkpoint"), model_type=config["model_type"])
    height, width = config["size"]
    image = blurred_photo("coffee", height, width)
    precision = config.get("precision", "float32")
    mode = config.get("mode", "function")
    tile = auto_tile(model, image.shape) if config.get("tiled") else None
    batch = 1 if model.channels == 3 else 3
    if tile:
        multiple = model.size_multiple
        spans = [tile_spans(n + -n % multiple, tile, default_overlap(tile, multiple), multiple)
                 for n in (height, width)]
        tile_shape = (spans[0][0][1], spans[1][0][1])
        flops = count_conv_flops(model, (batch, *tile_shape, model.channels)) * (
            len(spans[0]) * len(spans[1]))
    else:
        flops = count_conv_flops(model, (batch, height, width, model.channels))

    if mode == "function":
        def run():
            return srn_tf.deblur_image(model, image, precision=precision, tile=tile)
    else:
        planes = image[None] if model.channels == 3 else np.moveaxis(image, -1, 0)[..., None]
        if mode == "eager":
            def run():
                return model(tf.constant(planes), training=False)[-1].numpy()
        else:
            function = inference.forward_function(model, precision, planes.shape,
                                                   jit_compile=True)

            def run():
                return function(tf.constant(planes)).numpy()

    start = time.perf_counter()
    if tile and config["quick"]:
        srn_tf.deblur_image(model, image[:tile_shape[0], :tile_shape[1]], precision=precision)
    else:
        output = run()
    warmup = time.perf_counter() - start
    times = []
    for _ in range(config["repeats"]):
        start = time.perf_counter()
        output = run()
        times.append(time.perf_counter() - start)
    if config.get("save_output"):
        np.save(config["save_output"], np.asarray(output, np.float32))
    seconds = float(np.median(times))
    result = {"seconds_per_image": round(seconds, 2), "all_seconds": [round(t, 2) for t in times],
              "first_call_seconds": round(warmup, 2), "gflop": round(flops / 1e9, 1),
              "gflops_per_s": round(flops / seconds / 1e9, 1),
              "seconds_per_megapixel": round(seconds / (height * width / 1e6), 3)}
    if tile:
        result["tile"] = tile
        result["tile_shape"] = list(tile_shape)
        result["tiles"] = [len(spans[0]), len(spans[1])]
    return result


def _spawn(config):
    """Runs `config` in a subprocess; returns its result and that child's peak RSS."""
    command = [sys.executable, "-m", "benchmarks.bench_inference",
               "--run_config", json.dumps(config)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, cwd=os.path.dirname(os.path.dirname(
                                   os.path.abspath(__file__))))
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        return {"error": f"exit status {process.returncode}"}
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_gb"] = round(usage.ru_maxrss / 1024 ** 2, 2)  # ru_maxrss is in KiB
    return result


def _configurations(parts, base, scratch):
    configs = []
    if "peak" in parts:
        configs.append(("peak", {**base, "kind": "peak"}))
    model_run = {**base, "kind": "model", "size": list(SIZE)}
    if "models" in parts:
        for model_type in ("color", "gray", "lstm"):
            configs.append((f"{model_type}_float32_function",
                            {**model_run, "model_type": model_type}))
    if "modes" in parts:
        for mode in ("eager", "function", "jit"):
            name = f"color_float32_{mode}"
            if not any(name == existing for existing, _ in configs):
                configs.append((name, {**model_run, "model_type": "color", "mode": mode}))
    if "precision" in parts:
        for precision in ("float32", "bfloat16"):
            name = f"color_{precision}_function"
            config = {**model_run, "model_type": "color", "precision": precision,
                      "save_output": os.path.join(scratch, f"{precision}.npy")}
            configs = [(n, c) for n, c in configs if n != name]
            configs.append((name, config))
    if "tiled" in parts:
        configs.append(("color_float32_2160x3840_tiled",
                        {**base, "kind": "model", "model_type": "color",
                         "size": list(BIG_SIZE), "tiled": True}))
    return configs


def _summary(results, peak, scratch):
    """Fractions of peak and the ratios docs/precision-and-speed.md quotes."""
    if peak:
        for name, result in results.items():
            if "gflops_per_s" in result and name != "peak":
                result["fraction_of_float32_peak"] = round(
                    result["gflops_per_s"] / peak["float32"]["gflops_per_s"], 3)
                if "bfloat16" in name:
                    result["fraction_of_bfloat16_peak"] = round(
                        result["gflops_per_s"] / peak["bfloat16"]["gflops_per_s"], 3)
    ratios = {}
    full = results.get("color_float32_function", {})
    half = results.get("color_bfloat16_function", {})
    if "seconds_per_image" in full and "seconds_per_image" in half:
        ratios["bfloat16_speedup"] = round(full["seconds_per_image"] / half["seconds_per_image"], 2)
        from srn_tf.evaluation.metrics import psnr
        ratios["bfloat16_psnr_vs_float32_db"] = round(psnr(
            np.load(os.path.join(scratch, "bfloat16.npy")),
            np.load(os.path.join(scratch, "float32.npy")), data_range=1.0), 1)
    tiled = results.get("color_float32_2160x3840_tiled", {})
    if "seconds_per_megapixel" in full and "seconds_per_megapixel" in tiled:
        ratios["tiled_4k_per_pixel_time_vs_720p"] = round(
            tiled["seconds_per_megapixel"] / full["seconds_per_megapixel"], 3)
    return ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--quick", action="store_true",
                        help="one timed run per configuration (default 2), no warm-up "
                             "run of the 4K image (its tile is traced and run once instead)")
    parser.add_argument("--checkpoint", help="srn_tf checkpoint folder (default: stand-in)")
    parser.add_argument("--run_config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_config:
        print(json.dumps(_run_config(json.loads(args.run_config))))
        return
    parts = args.parts.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {','.join(PARTS)}")
    base = {"repeats": 1 if args.quick else 2, "quick": args.quick,
            "checkpoint": args.checkpoint}
    report = {"command": " ".join(["python -m benchmarks.bench_inference", *sys.argv[1:]]),
              "cpu_count": os.cpu_count(), "load_average_before": os.getloadavg()}
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, config in _configurations(parts, base, scratch):
            results[name] = _spawn(config)
            print(f"{name}: {json.dumps(results[name])}", file=sys.stderr, flush=True)
        peak = results.get("peak")
        report["ratios"] = _summary(results, peak, scratch)
    report["load_average_after"] = os.getloadavg()
    report["results"] = results
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
