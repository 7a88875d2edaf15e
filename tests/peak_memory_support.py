"""Peak memory of one srn-deblur run on a synthetic photo of a given size.

Shared by the 25-megapixel test (tests/test_streamed.py) and the benchmark that
tabulates peak memory against size (`python -m benchmarks.peak_memory`): tests may
not import benchmarks/, so the measurement lives here and the benchmark imports it.
"""

import math
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import skimage.data


def write_photo(path, megapixels):
    """A 4:3 JPEG of about `megapixels` million pixels; returns (height, width)."""
    height = int(math.sqrt(megapixels * 1e6 * 3 / 4)) // 16 * 16
    width = height * 4 // 3
    image = cv2.resize(skimage.data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    kernel = np.zeros((15, 15), np.float32)
    kernel[7] = 1 / 15
    image = cv2.filter2D(image, -1, kernel)
    noise = np.random.default_rng(0).normal(0, 2.5, image.shape[:2] + (1,))
    image = np.clip(image + noise, 0, 255).astype(np.uint8)
    cv2.imwrite(path, image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    return height, width


# Runs one command and prints its peak RSS in KiB: a fresh parent per run, so that
# RUSAGE_CHILDREN holds that run's peak alone.
_MEASURE = ("import resource, subprocess, sys; "
            "status = subprocess.run(sys.argv[1:], capture_output=True).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, status)")


def peak_rss_of_run(photo, output, tile_flags):
    """(peak RSS in bytes, seconds, exit status) of one srn-deblur child."""
    script = os.path.join(os.path.dirname(sys.executable), "srn-deblur")
    start = time.time()
    result = subprocess.run([sys.executable, "-c", _MEASURE, script, f"--input_path={photo}",
                             f"--output_path={output}", "--gpu=-1", "--overwrite",
                             *tile_flags], capture_output=True, text=True, check=True)
    peak, status = result.stdout.split()
    return int(peak) * 1024, time.time() - start, int(status)
