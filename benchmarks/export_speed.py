"""srn-export's SavedModel against deblur_image: same output, export and run times.

    python -m benchmarks.export_speed                    # color, 720x1280
    python -m benchmarks.export_speed --model_type=gray --height=360 --width=640

Exports the `image_like` stand-in of benchmarks/common.py (release size, random
weights; or --checkpoint), loads the export with tf.saved_model.load, and runs a
blurred photograph through both: deblur_image (traced Keras model) and the
export's `serving_default`, alternating, after one warm-up run each. Prints one
JSON document: export seconds, the run times, and the largest absolute
difference of the float32 outputs.
"""

import argparse
import json
import tempfile
import time

import numpy as np
import tensorflow as tf

import srn_tf
from benchmarks.common import blurred_photo, load_benchmark_model
from srn_tf.export.saved_model import export_saved_model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="srn_tf checkpoint folder (default: stand-in)")
    parser.add_argument("--model_type", default="color", choices=["color", "gray", "lstm"])
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    model = load_benchmark_model(args.checkpoint, model_type=args.model_type)
    image = blurred_photo(height=args.height, width=args.width)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        export_saved_model(model, f"{folder}/export")
        export_seconds = time.perf_counter() - start
        serve = tf.saved_model.load(f"{folder}/export").signatures["serving_default"]
        runs = {
            "deblur_image": lambda: srn_tf.deblur_image(model, image, precision="float32"),
            "saved_model": lambda: np.clip(
                serve(images=tf.constant(image[None]))["deblurred"].numpy()[0], 0, 1),
        }
        outputs = {name: run() for name, run in runs.items()}  # warm-up: tracing
        seconds = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                seconds[name].append(round(time.perf_counter() - start, 2))
    print(json.dumps({
        "model_type": args.model_type, "size": [args.height, args.width],
        "export_seconds": round(export_seconds, 1), "seconds": seconds,
        "max_abs_difference": float(np.abs(outputs["saved_model"] - outputs["deblur_image"]).max()),
    }, indent=2))


if __name__ == "__main__":
    main()
