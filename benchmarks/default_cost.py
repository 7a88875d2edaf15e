"""What the bundled model's default path costs end to end, against its network alone.

    python -m benchmarks.default_cost --output=benchmarks/results/default_cost.json

Writes --images photographs of 1280x720 (scikit-image's, motion-blurred by
`benchmarks.common.blurred_photo`: one kernel for the whole image, so that kernel
refinement runs in full, its most costly case) into a temporary folder, then times
whole `srn-deblur` runs on that folder, start-up included, side by side:

- `network`: `--flips=1 --noflat_level --nokernel_refinement --nodenoise`;
- `default`: no flags (the model folder's preset, `--quality=standard`);
- `best`: `--quality=best`.

The runs are interleaved (network, default, best, network, ...) --repeats times, so
that the load of a shared machine falls on all of them alike; each ratio is the
median wall time of a mode over the network's median. Writes one JSON file.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks.common import blurred_photo
from benchmarks.machine import machine
from srn_tf.atomic_files import write_json
from srn_tf.data import image_io

PHOTOS = ("coffee", "astronaut", "chelsea", "rocket", "hubble_deep_field", "retina", "cat",
          "immunohistochemistry")
MODES = {"network": ["--flips=1", "--noflat_level", "--nokernel_refinement", "--nodenoise"],
         "default": [], "best": ["--quality=best"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="JSON file to write")
    parser.add_argument("--images", type=int, default=4, help="photographs in the folder")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each mode")
    args = parser.parse_args()

    script = os.path.join(os.path.dirname(sys.executable), "srn-deblur")
    seconds = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as folder:
        inputs = os.path.join(folder, "blurred")
        os.makedirs(inputs)
        for name in PHOTOS[:args.images]:
            image = (blurred_photo(name) * 255.0 + 0.5).astype(np.uint8)
            image_io.write_image(os.path.join(inputs, f"{name}.png"), image)
        for repeat in range(args.repeats):
            for mode, flags in MODES.items():
                output = os.path.join(folder, f"{mode}_{repeat}")
                command = [script, f"--input_path={inputs}", f"--output_path={output}",
                           "--gpu=-1", *flags]
                start = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                seconds[mode].append(round(time.perf_counter() - start, 2))
                print(mode, repeat, seconds[mode][-1], flush=True)
    medians = {mode: float(np.median(values)) for mode, values in seconds.items()}
    result = {"command": f"python -m benchmarks.default_cost --output={args.output} "
                         f"--images={args.images} --repeats={args.repeats}",
              "machine": machine(),
              "images": list(PHOTOS[:args.images]), "size": "1280x720",
              "flags": {mode: " ".join(flags) for mode, flags in MODES.items()},
              "seconds": seconds, "median_seconds": medians,
              "ratio_to_network": {mode: round(value / medians["network"], 3)
                                   for mode, value in medians.items()}}
    write_json(result, args.output)
    print(result["ratio_to_network"])


if __name__ == "__main__":
    main()
