"""Evaluating a model on paired blurred/sharp test images: PSNR and SSIM as the paper.

A test set is a list of `srn_tf.data.pairs.ImagePair`s, from the release's
data list format or GOPRO_Large's test folders (checked before anything runs).
`evaluate` deblurs each blurred image with `deblur_image` (as srn-deblur
would), converts the result as the release does (clip to [0, 1], * 255,
truncate to uint8), and scores it and the blurred input against the sharp
image with `srn_tf.evaluation.metrics`.
"""

import csv
import heapq
import math
import os
import statistics
import time

import numpy as np

from srn_tf.atomic_files import atomic_file
from srn_tf.data.contact_sheet import contact_sheet
from srn_tf.data.image_io import DEFAULT_MAX_MEGAPIXELS, as_rgb8, read_image, write_image
from srn_tf.inference.deblur import deblur_image
from srn_tf.models.inference_options import options_for
from srn_tf.evaluation.metrics import psnr, ssim
from srn_tf.atomic_files import write_json

PER_IMAGE_FILE = "per_image.csv"
SUMMARY_FILE = "summary.json"
IMAGES_FOLDER = "images"
PER_IMAGE_COLUMNS = ("name", "blur_path", "sharp_path", "height", "width", "input_psnr",
                     "input_ssim", "psnr", "ssim", "psnr_gain", "seconds")


def _output_image_path(output_dir, name):
    """`output_dir/images/<name>`, with any leading '/' or '..' of `name` dropped."""
    parts = [part for part in os.path.normpath(name).split(os.sep) if part not in ("", "..")]
    return os.path.join(output_dir, IMAGES_FOLDER, *parts)


def _write_csv_atomically(rows, path):
    with atomic_file(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=PER_IMAGE_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)


def _mean(values):
    return float(np.mean(values)) if values else None


def evaluate(model, pairs, output_dir=None, options=None, ssim_definition="matlab",
             precision="float32", tile=None, tile_overlap=None, save_images=False,
             contact_sheet_path=None, contact_sheet_count=4, metadata=None, progress=print,
             max_megapixels=DEFAULT_MAX_MEGAPIXELS, listed=None):
    """Deblurs every pair's blurred image and scores input and output against the sharp one.

    A pair that fails at run time (a corrupt file) is reported through `progress`
    and in the summary's `failures`; the others go on.

    Args:
        model: an `SRNDeblurNet`, or a `SavedModelRunner` (an srn-export SavedModel).
        pairs: list of `ImagePair` (from `srn_tf.data.pairs.read_datalist` or `read_gopro`).
        output_dir: folder for `per_image.csv` (rewritten after every image) and
            `summary.json`, both written atomically; None writes no report.
        ssim_definition: "matlab" (the paper's) or "per_channel" (see metrics.py).
        options: the `InferenceOptions` run around the network (`deblur_image`);
            None: the model's own. The summary records the values that ran.
        precision, tile, tile_overlap: passed to `deblur_image`.
        save_images: also write each deblurred image to `output_dir/images/<name>`.
        contact_sheet_path: PNG to write blurred | deblurred | sharp strips of the
            `contact_sheet_count` images with the smallest PSNR gain into.
        metadata: dict of extra entries for the summary (checkpoint, data set).
        progress: called with one line of text per image.
        max_megapixels: images of more pixels (millions) fail before decoding.
        listed: how many pairs the test set lists, when bad ones were left out
            before (`srn_tf.data.pairs.usable_pairs`); None: `len(pairs)`.

    Returns:
        The summary dict: `psnr`, `ssim`, `input_psnr`, `input_ssim` (means over
        the images), `psnr_gain`, `ssim_gain`, `images` (how many were scored),
        `seconds_per_image` (mean time of `deblur_image`, the first image's graph
        tracing included), `seconds_per_image_median`, `seconds_first_image`,
        `failures` (one line each), `pairs_listed` (`listed`: the means are over
        `images` of them), the settings and `metadata`.
    """
    if save_images and output_dir is None:
        raise ValueError("save_images needs an output_dir")
    options = options_for(model, options)
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
    rows, failures, seconds = [], [], []
    worst = []  # heap of (-psnr_gain, index, label, [blur, output, sharp]); keeps the worst
    for index, pair in enumerate(pairs):
        prefix = f"[{index + 1}/{len(pairs)}] {pair.name}"
        try:
            blurred = as_rgb8(read_image(pair.blur_path, max_megapixels))
            sharp = as_rgb8(read_image(pair.sharp_path, max_megapixels))
            if blurred.shape != sharp.shape:
                raise ValueError(f"{pair.blur_path}: is {blurred.shape[1]}x{blurred.shape[0]} "
                                 f"but its sharp image is {sharp.shape[1]}x{sharp.shape[0]}")
            start = time.perf_counter()
            output = deblur_image(model, blurred, options, precision, tile=tile,
                                  tile_overlap=tile_overlap)
            elapsed = time.perf_counter() - start
            if save_images:
                path = _output_image_path(output_dir, pair.name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                write_image(path, output)
        except (OSError, ValueError) as error:
            failures.append(str(error))
            progress(f"{prefix}: FAILED: {error}")
            continue
        row = {
            "name": pair.name, "blur_path": pair.blur_path, "sharp_path": pair.sharp_path,
            "height": output.shape[0], "width": output.shape[1],
            "input_psnr": psnr(blurred, sharp),
            "input_ssim": ssim(blurred, sharp, ssim_definition),
            "psnr": psnr(output, sharp), "ssim": ssim(output, sharp, ssim_definition),
            "seconds": elapsed,
        }
        row["psnr_gain"] = row["psnr"] - row["input_psnr"]
        rows.append(row)
        seconds.append(elapsed)
        progress(f"{prefix}: input {row['input_psnr']:.2f} dB {row['input_ssim']:.4f} -> "
                 f"{row['psnr']:.2f} dB {row['ssim']:.4f}  ({elapsed:.2f} s)")
        if output_dir is not None:
            _write_csv_atomically(rows, os.path.join(output_dir, PER_IMAGE_FILE))
        if contact_sheet_path and contact_sheet_count > 0:
            label = (f"{pair.name}: {row['input_psnr']:.2f} -> {row['psnr']:.2f} dB "
                     "(blurred | deblurred | sharp)")
            heapq.heappush(worst, (-row["psnr_gain"], index, label, [blurred, output, sharp]))
            if len(worst) > contact_sheet_count:
                heapq.heappop(worst)

    summary = {
        "psnr": _mean([row["psnr"] for row in rows]),
        "ssim": _mean([row["ssim"] for row in rows]),
        "input_psnr": _mean([row["input_psnr"] for row in rows]),
        "input_ssim": _mean([row["input_ssim"] for row in rows]),
        "images": len(rows),
        "pairs_listed": len(pairs) if listed is None else listed,
        "seconds_per_image": _mean(seconds),
        "seconds_per_image_median": statistics.median(seconds) if seconds else None,
        "seconds_first_image": seconds[0] if seconds else None,
        "failures": failures,
        "ssim_definition": ssim_definition,
        "precision": precision,
        "tile": tile,
        "tile_overlap": tile_overlap,
        **options.to_config(),
        **(metadata or {}),
    }
    if rows:
        summary["psnr_gain"] = summary["psnr"] - summary["input_psnr"]
        summary["ssim_gain"] = summary["ssim"] - summary["input_ssim"]
    if output_dir is not None:
        write_json(summary, os.path.join(output_dir, SUMMARY_FILE))
    if contact_sheet_path and worst:
        os.makedirs(os.path.dirname(os.path.abspath(contact_sheet_path)), exist_ok=True)
        strips = [(label, images) for _, _, label, images in sorted(worst, reverse=True)]
        write_image(contact_sheet_path, contact_sheet(strips))
    return summary


def format_summary(summary):
    """One line: the averages of input and output, and the time per image; when some
    listed pairs were not scored, over how many of them the means are."""
    if not summary["images"]:
        return "no image was scored"

    def number(value, digits):
        return "inf" if math.isinf(value) else f"{value:.{digits}f}"

    part = summary.get("pairs_listed", summary["images"]) - summary["images"]
    count = (f"{summary['images']} of {summary['pairs_listed']} pairs ({part} not scored; "
             "the means are over these only)" if part else f"{summary['images']} images")
    return (f"{count}: input {number(summary['input_psnr'], 2)} dB "
            f"SSIM {summary['input_ssim']:.4f} -> output {number(summary['psnr'], 2)} dB "
            f"SSIM {summary['ssim']:.4f} ({summary['ssim_definition']} SSIM), "
            f"{summary['seconds_per_image']:.2f} s per image"
            + (f", {summary['flips']} flipped copies averaged" if summary["flips"] > 1 else "")
            + (", flat level matched" if summary.get("flat_level") else "")
            + (", kernel refined" if summary.get("kernel_refinement") else "")
            + (", denoised" if summary.get("denoise") else ""))
