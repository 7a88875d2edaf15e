"""srn-batch's throughput with 2 DirectRunner workers against 1, measured in one run.

    python benchmarks/batch_throughput.py --output=benchmarks/results/batch_throughput.json

Writes a folder of blurred photographs (skimage's coffee and rocket, resized and
motion-blurred), runs the srn-batch command on it with
--direct_running_mode=multi_processing and --direct_num_workers=1, then 2, each
into a fresh output folder, and reports as JSON:

- per run: wall seconds of the whole command (Beam start-up, worker start-up and
  the model load included), images per second over that wall time, and each
  worker's seconds per image (the deblurring alone, from summary.json);
- "ratio": images per second with 2 workers over 1 (wall time);
- "ratio_deblurring": the same from the workers' seconds per image alone
  (sum over workers of 1 / seconds per image), start-up left out;
- the machine (lscpu's model name, CPU count).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks.machine import machine

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def _write_photos(folder, count, height, width):
    from benchmarks.common import blurred_photo
    from srn_tf.data import image_io

    photos = [(blurred_photo(name, height, width) * 255).astype(np.uint8)
              for name in ("coffee", "rocket")]
    for index in range(count):
        subfolder = os.path.join(folder, f"set{index % 3}")
        os.makedirs(subfolder, exist_ok=True)
        image_io.write_image(os.path.join(subfolder, f"photo{index:03d}.png"),
                             photos[index % 2])


def _run(input_folder, output_folder, workers, extra):
    command = [sys.executable, "-m", "srn_tf.cli.batch", f"--input_pattern={input_folder}",
               f"--output_path={output_folder}", "--gpu=-1",
               "--direct_running_mode=multi_processing", f"--direct_num_workers={workers}",
               *extra]
    began = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"srn-batch failed ({result.returncode}):\n{result.stderr}")
    with open(os.path.join(output_folder, "summary.json")) as handle:
        summary = json.load(handle)
    per_worker = [figures["seconds_per_image"] for figures in summary["workers"].values()]
    return {
        "workers": workers,
        "images": summary["done"],
        "wall_seconds": round(seconds, 2),
        "images_per_second": round(summary["done"] / seconds, 4),
        "worker_seconds_per_image": [round(value, 4) for value in per_worker],
        "deblurring_images_per_second": round(sum(1.0 / value for value in per_worker), 4),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--checkpoint", default=None,
                        help="srn-batch's --checkpoint (default: the bundled model, with "
                             "its inference defaults)")
    parser.add_argument("--output", default=None, help="JSON file (default: stdout only)")
    arguments, extra = parser.parse_known_args()
    if arguments.checkpoint:
        extra.append(f"--checkpoint={arguments.checkpoint}")
    with tempfile.TemporaryDirectory() as scratch:
        photos = os.path.join(scratch, "photos")
        _write_photos(photos, arguments.images, arguments.height, arguments.width)
        runs = [_run(photos, os.path.join(scratch, f"out{workers}"), workers, extra)
                for workers in (1, 2)]
    one, two = runs
    report = {
        "command": " ".join(["srn-batch --input_pattern=PHOTOS --output_path=OUT --gpu=-1 "
                             "--direct_running_mode=multi_processing --direct_num_workers=N",
                             *extra]),
        "images": f"{arguments.images} PNG {arguments.width}x{arguments.height}",
        "runs": runs,
        "ratio": round(two["images_per_second"] / one["images_per_second"], 3),
        "ratio_deblurring": round(two["deblurring_images_per_second"]
                                  / one["deblurring_images_per_second"], 3),
        "machine": machine(),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if arguments.output:
        with open(arguments.output, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
