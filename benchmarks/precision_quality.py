"""How far the lower precisions' outputs are from float32's (PSNR), and auto's speed.

    python -m benchmarks.precision_quality --height=288 --width=432
    python -m benchmarks.precision_quality --checkpoint=default --quality=network \
        --image=examples/blurred/coffee_0.png --height=720 --width=1280 --repeats=5

Deblurs one photograph in each precision with the same model (a checkpoint or preset
name, or the `image_like` stand-in of benchmarks/common.py) and prints JSON: the PSNR
of each other precision's output against float32's (peak 1.0 on the [0, 1] float
outputs), and what `precision="auto"` picks on this machine and why. The photograph is
a motion-blurred skimage.data one, or with --image a real blurred photograph, resized
(bicubic) to --height x --width. With --repeats, float32, bfloat16 and auto run that
many times each in turns (float32, bfloat16, auto, float32, ...; after one untimed run
each), and float16 too where the CPU computes it natively (x86's `avx512_fp16`, which
oneDNN uses; elsewhere float16 is emulated and not timed); the JSON gives every time,
the medians and each median over float32's: ratios, valid on a machine other processes
share, where absolute seconds are not.
"""

import argparse
import json
import statistics
import time

import cv2
import numpy as np

from srn_tf import deblur_image, quality_options
from srn_tf.data import image_io
from srn_tf.evaluation.metrics import psnr
from srn_tf.models.inference_options import QUALITY_MODES
from srn_tf.models.presets import resolve_model_path
from srn_tf.processor import cpu_flags, read_cpuinfo, resolve_precision

from benchmarks.common import PROXIES, blurred_photo, load_benchmark_model

# x86's float16 arithmetic (Sapphire Rapids and later): oneDNN runs float16
# convolutions with it (its `avx10_1_512` kernels) instead of emulating them.
NATIVE_FLOAT16_FLAG = "avx512_fp16"


def _photograph(path, height, width):
    """The image at `path` as (height, width, 3) float32 in [0, 1], resized (bicubic)."""
    image = image_io.read_image(path)[..., :3]
    image = image.astype(np.float32) / np.iinfo(image.dtype).max
    return np.clip(cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1)


def _timed_in_turns(run, precisions, repeats):
    """{precision: [seconds of each of `repeats` runs]}, the precisions taking turns."""
    seconds = {precision: [] for precision in precisions}
    for _ in range(repeats):
        for precision in precisions:
            start = time.perf_counter()
            run(precision)
            seconds[precision].append(round(time.perf_counter() - start, 3))
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="srn_tf checkpoint folder or preset name "
                        "('default': the bundled model); default: a stand-in")
    parser.add_argument("--proxy", choices=PROXIES, default="image_like")
    parser.add_argument("--photo", default="coffee", help="skimage.data photograph")
    parser.add_argument("--image", help="a blurred photograph to use instead of --photo")
    parser.add_argument("--quality", choices=QUALITY_MODES,
                        help="what runs around the network (default: the model's own)")
    parser.add_argument("--height", type=int, default=288)
    parser.add_argument("--width", type=int, default=432)
    parser.add_argument("--repeats", type=int, default=0,
                        help="time float32, bfloat16 and auto (and float16 on a CPU with "
                        "avx512_fp16) this many times each, in turns")
    args = parser.parse_args()
    checkpoint = resolve_model_path(args.checkpoint) if args.checkpoint else None
    model = load_benchmark_model(checkpoint, args.proxy)
    image = (_photograph(args.image, args.height, args.width) if args.image
             else blurred_photo(args.photo, args.height, args.width))
    options = quality_options(args.quality) if args.quality else None
    flags = cpu_flags(read_cpuinfo())
    result = {"model": args.checkpoint or f"proxy:{args.proxy}",
              "image": args.image or f"skimage.data.{args.photo}", "size": [args.height,
                                                                            args.width],
              "quality": args.quality or "the model's own",
              "cpu_bfloat16_flags": sorted(flag for flag in flags if "bf16" in flag),
              "cpu_float16_flags": sorted(flag for flag in flags if "fp16" in flag),
              "auto": str(resolve_precision("auto"))}

    def run(precision):
        return deblur_image(model, image, options, precision=precision)

    reference = run("float32")
    for precision in ("bfloat16", "float16", "auto"):
        output = run(precision)
        result[f"{precision}_psnr_vs_float32_db"] = (
            "identical" if np.array_equal(output, reference)
            else round(psnr(output, reference, data_range=1.0), 1))
    if args.repeats:
        timed = ("float32", "bfloat16", "auto") + (
            ("float16",) if NATIVE_FLOAT16_FLAG in flags else ())
        seconds = _timed_in_turns(run, timed, args.repeats)
        medians = {precision: statistics.median(times) for precision, times in seconds.items()}
        result.update(seconds=seconds, median_seconds=medians, time_over_float32={
            precision: round(median / medians["float32"], 3)
            for precision, median in medians.items()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
