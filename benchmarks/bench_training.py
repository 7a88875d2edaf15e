"""Training speed on this machine, as ratios measured in one run. Prints JSON.

    python benchmarks/bench_training.py --output=benchmarks/results/training.json

Measures, for the release's `color` model at batch 4, crop 256:
  * conv_peak: what TensorFlow's 5x5 conv2d reaches forward + backward on the
    model's own shapes (32 channels at 256x256, 64 at 128x128, 128 at 64x64), in
    float32 and bfloat16: the ceiling any training step can approach on a CPU;
  * steps: one training update run eagerly, as a tf.function, and XLA-compiled,
    in float32 and bfloat16 (Keras' mixed_bfloat16), each also as a fraction of the conv peak
    (FLOPs counted layer by layer);
  * pipeline: pairs/s of the tf.data input (720x1280 PNG pairs, crop 256), and
    its ratio to the pairs/s the float32 step consumes;
  * memory: peak RSS of one batch-16, crop-256 float32 step (in a subprocess).
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import srn_tf  # noqa: E402
from srn_tf.data.pairs import read_datalist  # noqa: E402
from srn_tf.data.input_pipeline import training_dataset  # noqa: E402
from srn_tf.precision import keras_policy  # noqa: E402
from srn_tf.training.train_step import make_optimizer, make_train_step  # noqa: E402
from synthetic_pairs import write_pairs  # noqa: E402


def conv_flops(height, width, kernel, in_channels, out_channels):
    """Multiply-adds x 2 of a 'SAME' conv producing height x width."""
    return 2 * height * width * kernel * kernel * in_channels * out_channels


def forward_flops(model, height, width):
    """FLOPs of one image's forward pass through every level (convs only)."""
    widths = [model.base_filters * m for m in (1, 2, 4)]
    k, n, c = model.kernel_size, model.blocks_per_stage, model.channels
    total = 0
    for level in range(model.num_scales):
        scale = model.scale_factor ** (model.num_scales - 1 - level)
        h, w = round(height * scale), round(width * scale)
        sizes = [(h, w), (h // 2, w // 2), (h // 4, w // 4)]
        total += conv_flops(*sizes[0], k, 2 * c, widths[0])
        total += conv_flops(*sizes[1], k, widths[0], widths[1])
        total += conv_flops(*sizes[2], k, widths[1], widths[2])
        for (sh, sw), width_s in zip(sizes, widths):
            total += 2 * 2 * n * conv_flops(sh, sw, k, width_s, width_s)  # encoder + decoder
        total += conv_flops(*sizes[1], 4 // 2, widths[2], widths[1])  # 4x4 stride-2 transposed
        total += conv_flops(*sizes[0], 4 // 2, widths[1], widths[0])
        total += conv_flops(*sizes[0], k, widths[0], c)
    return total


def timed(function, repeats):
    """Median seconds of `repeats` calls after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) if times else None


def conv_peak(dtype, batch, crop, repeats):
    """GFLOP/s of 5x5 conv2d forward + backward over the model's three stage shapes."""
    total_flops, total_seconds = 0, 0.0
    for channels, side in ((32, crop), (64, crop // 2), (128, crop // 4)):
        x = tf.random.uniform((batch, side, side, channels), dtype=tf.float32)
        kernel = tf.Variable(tf.random.normal((5, 5, channels, channels), stddev=0.02))
        x = tf.cast(x, dtype)

        @tf.function
        def forward_backward():
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.nn.conv2d(x, tf.cast(kernel, dtype), 1, "SAME")
                loss = tf.reduce_sum(tf.cast(y, tf.float32))
            return tape.gradient(loss, [x, kernel])

        total_seconds += timed(lambda: [g.numpy() for g in forward_backward()], repeats)
        total_flops += 3 * conv_flops(side, side, 5, channels, channels) * batch
    return total_flops / total_seconds / 1e9


def step_seconds(precision, mode, batch, crop, repeats):
    """Median seconds of one update of the release's color model in `precision`."""
    model = srn_tf.build_model("color", dtype=keras_policy(precision))
    optimizer = make_optimizer(1e-4)
    optimizer.build(model.trainable_variables)
    counter = tf.Variable(0, dtype=tf.int64)
    step = make_train_step(model, optimizer, tf.distribute.get_strategy(), batch, counter,
                           jit_compile=mode == "jit_compile", eager=mode == "eager")
    rng = np.random.default_rng(0)
    blur = tf.constant(rng.uniform(0, 1, (batch, crop, crop, 3)).astype(np.float32))
    sharp = tf.constant(rng.uniform(0, 1, (batch, crop, crop, 3)).astype(np.float32))
    return timed(lambda: float(step(blur, sharp)[0]), repeats)


def pipeline_pairs_per_second(folder, batch, crop, batches):
    pairs = read_datalist(os.path.join(folder, "list.txt"))
    dataset = training_dataset(pairs, batch_size=batch, crop_size=crop, channels=3,
                               start_step=0, end_step=batches + 2, seed=0, shuffle=True)
    iterator = iter(dataset)
    next(iterator), next(iterator)  # warm up: thread pools, file cache
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch / (time.perf_counter() - start)


def peak_rss_of_one_step(batch, crop):
    """Peak RSS (MiB) of a fresh process that makes one float32 update."""
    # VmHWM, not getrusage: ru_maxrss survives fork and exec, so a child would
    # report its parent's peak.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import bench_training as b;"
        f"b.step_seconds('float32', 'function', {batch}, {crop}, 0);"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])")
    out = subprocess.run([sys.executable, "-c", code, os.path.dirname(os.path.abspath(__file__))],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2, help="timed steps per setting")
    parser.add_argument("--modes", default="eager,function,jit_compile",
                        help="float32 step modes")
    parser.add_argument("--bf16_modes", default="jit_compile",
                        help="bfloat16 step modes; TF 2.21 has no fast CPU kernel for "
                             "bf16 conv backprop (Eigen fallback, ~1.5 GFLOP/s here), so "
                             "eager/function bf16 steps take minutes at full size")
    parser.add_argument("--pipeline_pairs", type=int, default=8, help="720x1280 pairs written")
    parser.add_argument("--memory_batch", type=int, default=16, help="0 skips the RSS run")
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args()
    # As srn-train runs by default (--deterministic, --seed=0).
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(0)

    model = srn_tf.build_model("color")
    step_flops = 3 * forward_flops(model, args.crop, args.crop) * args.batch
    result = {
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor(),
                    "load_average_at_start": os.getloadavg()},
        "tensorflow": tf.__version__,
        "batch": args.batch, "crop": args.crop,
        "forward_tflop_per_720x1280_image": forward_flops(model, 720, 1280) / 1e12,
        "step_gflop": step_flops / 1e9,
        "conv_peak_gflops": {"float32": conv_peak(tf.float32, args.batch, args.crop, 3),
                             "bfloat16": conv_peak(tf.bfloat16, args.batch, args.crop, 1)},
        "steps": {},
    }
    for precision, modes in (("float32", args.modes), ("bfloat16", args.bf16_modes)):
        peak = result["conv_peak_gflops"][precision]
        for mode in modes.split(","):
            seconds = step_seconds(precision, mode, args.batch, args.crop, args.repeats)
            result["steps"][f"{precision}/{mode}"] = {
                "seconds_per_step": seconds, "steps_per_second": 1 / seconds,
                "gflops": step_flops / seconds / 1e9,
                "fraction_of_float32_conv_peak":
                    step_flops / seconds / 1e9 / result["conv_peak_gflops"]["float32"],
                "fraction_of_own_dtype_conv_peak": step_flops / seconds / 1e9 / peak}
    f32 = result["steps"]["float32/function"]["seconds_per_step"]
    result["bfloat16_speedup_over_float32_function"] = {
        key.split("/")[1]: f32 / value["seconds_per_step"]
        for key, value in result["steps"].items() if key.startswith("bfloat16")}

    with tempfile.TemporaryDirectory() as folder:
        write_pairs(folder, args.pipeline_pairs, 720, 1280)
        pairs_per_second = pipeline_pairs_per_second(folder, args.batch, args.crop, 12)
    result["pipeline"] = {"pairs_per_second": pairs_per_second,
                          "times_the_float32_step_consumption":
                              pairs_per_second / (args.batch / f32)}
    if args.memory_batch:
        result["memory"] = {"batch": args.memory_batch, "crop": args.crop,
                            "peak_rss_mib": peak_rss_of_one_step(args.memory_batch, args.crop)}
    result["machine"]["load_average_at_end"] = os.getloadavg()
    result["machine"]["this_process_peak_rss_mib"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
