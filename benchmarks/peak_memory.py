"""Peak RSS of srn-deblur against megapixels: the streamed plan (automatic tiling) and,
where it fits, the whole-image plan (--tile=0).

Each size runs srn-deblur on one synthetic JPEG (skimage's astronaut resized to the
size, motion-blurred, with noise) in a child process, with the bundled model and
its default quality, and reads the child's peak RSS (`resource.getrusage`'s
RUSAGE_CHILDREN ru_maxrss, in a fresh parent per run).

    python -m benchmarks.peak_memory --megapixels=2,12 --whole_megapixels=2 \
        --output=benchmarks/results/peak_memory.json

Large sizes take minutes each on 2 cores; the whole-image plan needs about 240
bytes a pixel (24 GB at 100 MP): give it only sizes that fit.
"""

import json
import os
import sys
import tempfile

from absl import app, flags

from benchmarks.machine import machine
from tests.peak_memory_support import peak_rss_of_run, write_photo

FLAGS = flags.FLAGS
flags.DEFINE_list("megapixels", ["2", "12", "25", "50", "100"],
                  "Sizes run with the streamed plan (automatic tiling).")
flags.DEFINE_list("whole_megapixels", ["2"], "Sizes also run with --tile=0 (whole image).")
flags.DEFINE_string("output", "benchmarks/results/peak_memory.json", "JSON file written.")


def main(argv):
    del argv
    runs = []
    plans = [(float(size), "streamed", []) for size in FLAGS.megapixels]
    plans += [(float(size), "whole", ["--tile=0"]) for size in FLAGS.whole_megapixels]
    for megapixels, plan, tile_flags in sorted(plans):
        with tempfile.TemporaryDirectory() as folder:
            photo = os.path.join(folder, "photo.jpg")
            height, width = write_photo(photo, megapixels)
            peak, seconds, status = peak_rss_of_run(photo, os.path.join(folder, "out"),
                                                    tile_flags)
        run = {"megapixels": round(height * width / 1e6, 2), "height": height, "width": width,
               "plan": plan, "peak_rss_gb": round(peak / 1e9, 3), "seconds": round(seconds, 1),
               "exit_status": status}
        print(json.dumps(run), flush=True)
        runs.append(run)
    report = {"command": "python -m benchmarks.peak_memory " + " ".join(sys.argv[1:]),
              "machine": machine(), "model": "bundled default, its default quality",
              "runs": runs}
    os.makedirs(os.path.dirname(FLAGS.output) or ".", exist_ok=True)
    with open(FLAGS.output, "w") as handle:
        json.dump(report, handle, indent=1)


if __name__ == "__main__":
    app.run(main)
