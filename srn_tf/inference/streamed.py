"""The streamed plan: every step of `deblur_image` within memory that does not grow
with the image, beyond the input, the output and a compact copy of the network's.

`deblur_image` runs it when tiling (a tile given, or chosen by srn-deblur, srn-batch
and srn-serve for big images, `per_file.auto_tile`). The whole-image plan holds
about 610 bytes a pixel, network included (docs/tiling.md); this one holds, per
pixel, only the input (as decoded), the network's output (uint16 with headroom
beyond [0, 1], or float32 for a float32 input) and the result (in the input's
dtype), and otherwise bands and crops of bounded size (docs/tiling.md, "Memory"):

1. the network runs tile by tile (`tiling.stream_tiled`), each tile converted
   from the stored samples, finished rows stored compactly (`NetworkOutput`);
2. the flat-level offset is summed over the flat pixels band by band (exact);
3. the noise level is estimated on a mosaic of full-resolution crops spread over
   the image (the whole image when it is small enough);
4. the kernel agreement test runs on copies shrunk to a bounded number of pixels;
5. the kernels for refinement are estimated on the crop richest in edges (at most
   `REFINE_CROP` a side) by `kernel_refinement.kernel_plan`, the code a whole image
   runs, and applied tile by tile with a margin of real neighbouring pixels
   (`kernel_refinement.refine_with_plan`: deconvolution, share, local-range clip);
6. denoising runs on the same tiles (BayesShrink's thresholds per tile), and the
   tiles are feathered as the network's are.

NumPy, SciPy and OpenCV only; the network is a function handed in.
"""

import math

import cv2
import numpy as np

from srn_tf.inference.postprocess.denoising import denoise_output
from srn_tf.inference.postprocess.flat_level import banded_flat_offset
from srn_tf.inference.postprocess.kernel_agreement import (AGREEMENT_FACTOR,
                                                           shrunk_refinement_share)
from srn_tf.inference.postprocess.kernel_refinement import (kernel_plan, refine_with_plan,
                                                            refined_share)
from srn_tf.inference.postprocess.noise import noise_level
from srn_tf.inference.samples import SCALES, from_float
from srn_tf.inference.tiling import stream_tiled

# Rows per band of the passes that go pixel by pixel (flat level, shrinking, output).
BAND_ROWS = 512
# The network's output is stored as uint16 over [OUTPUT_LOW, OUTPUT_HIGH]: values
# beyond [0, 1] are kept for the steps after it, in steps of 2.3e-5 (a 16-bit
# sample is 1.5e-5, an 8-bit one 3.9e-3).
OUTPUT_LOW, OUTPUT_HIGH = -0.25, 1.25
# The noise level is estimated on at most this many pixels: crops of
# `NOISE_CROP` a side spread evenly over the image.
NOISE_PIXELS = 4_000_000
NOISE_CROP = 256
# The agreement test's shrunk copies hold at most this many pixels (the image is
# shrunk by an integer factor, at least `AGREEMENT_FACTOR`).
AGREEMENT_PIXELS = 2_000_000
# Largest side of the crop the refinement's kernels are estimated on.
REFINE_CROP = 2048
# Tiles of the steps after the network: side, overlap and the margin of real
# neighbouring pixels each tile is processed with. The deconvolution reaches
# beyond the kernel: on tiles of 256 its result came within 54 dB of the whole
# image's without a margin, 74 dB with 64 pixels (clean input; 125 dB with noise
# 0.01, whose larger weight holds it closer), 75 dB from 96 on; denoising's tiles,
# whose BayesShrink thresholds are their own, came within 54 dB with 32 pixels,
# 58 dB with 192 (docs/tiling.md).
POSTPROCESS_TILE = 1024
POSTPROCESS_OVERLAP = 32
REFINE_MARGIN = 64
DENOISE_MARGIN = 32


class NetworkOutput:
    """The network's (height, width, channels) output for the whole image, stored
    compactly (uint16 over [OUTPUT_LOW, OUTPUT_HIGH], or float32 when `exact`), read
    back as float32 with the flat-level `offset` subtracted."""

    def __init__(self, shape, exact):
        self._exact = exact
        self._values = np.empty(shape, np.float32 if exact else np.uint16)
        self.offset = None

    def put(self, top, band):
        """Stores (rows, width', channels) float32 `band` from row `top` (rows and
        columns past the image, the network's padding, are dropped)."""
        height, width = self._values.shape[:2]
        band = band[:max(0, height - top), :width]
        if not self._exact:
            band = np.rint((np.clip(band, OUTPUT_LOW, OUTPUT_HIGH) - OUTPUT_LOW)
                           * (65535.0 / (OUTPUT_HIGH - OUTPUT_LOW)))
        self._values[top:top + band.shape[0]] = band

    def get(self, top, bottom, left=0, right=None):
        """(bottom - top, right - left, channels) float32 of those pixels."""
        values = self._values[top:bottom, left:right]
        if not self._exact:
            values = values.astype(np.float32) * np.float32(
                (OUTPUT_HIGH - OUTPUT_LOW) / 65535.0) + np.float32(OUTPUT_LOW)
        if self.offset is not None:
            values = values - self.offset
        return values.astype(np.float32, copy=False)


class _Input:
    """The input's first `channels` samples read as float32 in [0, 1], any rows and
    columns, edge-replicated past the image (the network's padding)."""

    def __init__(self, image, channels):
        self._samples = image[:, :, :channels]
        self._scale = np.float32(SCALES[image.dtype])

    def get(self, top, bottom, left=0, right=None):
        height, width = self._samples.shape[:2]
        right = width if right is None else right
        rows = np.minimum(np.arange(top, bottom), height - 1) if bottom > height else slice(
            top, bottom)
        columns = np.minimum(np.arange(left, right), width - 1) if right > width else slice(
            left, right)
        return self._samples[rows][:, columns].astype(np.float32) / self._scale


def _noise_level(blurred, height, width):
    """`noise_level` of the whole input, or of a mosaic of evenly spread crops of it
    when it has more than `NOISE_PIXELS` pixels."""
    if height * width <= NOISE_PIXELS:
        return noise_level(blurred.get(0, height))
    per_side = max(1, int(math.sqrt(NOISE_PIXELS)) // NOISE_CROP)
    tops = np.linspace(0, max(0, height - NOISE_CROP), per_side).round().astype(int)
    lefts = np.linspace(0, max(0, width - NOISE_CROP), per_side).round().astype(int)
    mosaic = np.concatenate([np.concatenate([blurred.get(top, top + NOISE_CROP, left,
                                                         left + NOISE_CROP) for left in lefts],
                                            axis=1) for top in tops], axis=0)
    return noise_level(mosaic)


def _shrunk(read, height, width, factor):
    """The image `read` gives, shrunk by the integer `factor` (block means; the last
    rows and columns that do not fill a block are left out)."""
    rows, columns = height // factor, width // factor
    band = BAND_ROWS // factor * factor
    parts = []
    for top in range(0, rows * factor, band):
        bottom = min(rows * factor, top + band)
        values = read(top, bottom, 0, columns * factor)
        parts.append(values.reshape((bottom - top) // factor, factor, columns, factor, -1)
                     .mean(axis=(1, 3), dtype=np.float32))
    return np.concatenate(parts, axis=0)


def _richest_crop(shrunk, factor, height, width):
    """(top, left, crop height, crop width) of the crop of at most `REFINE_CROP` a side
    whose shrunk copy has the most gradient (the kernel is estimated from edges)."""
    crop_height, crop_width = min(height, REFINE_CROP), min(width, REFINE_CROP)
    if (crop_height, crop_width) == (height, width):
        return 0, 0, height, width
    grey = shrunk.mean(axis=2)
    edges = np.zeros_like(grey)
    edges[:, 1:] += np.abs(np.diff(grey, axis=1))
    edges[1:] += np.abs(np.diff(grey, axis=0))
    window = (max(1, crop_width // factor), max(1, crop_height // factor))
    sums = cv2.boxFilter(edges, -1, window, anchor=(0, 0), normalize=False,
                         borderType=cv2.BORDER_CONSTANT)
    sums = sums[:max(1, grey.shape[0] - window[1] + 1), :max(1, grey.shape[1] - window[0] + 1)]
    row, column = np.unravel_index(int(np.argmax(sums)), sums.shape)
    top = min(int(row) * factor, height - crop_height)
    left = min(int(column) * factor, width - crop_width)
    return top, left, crop_height, crop_width


def _refinement(blurred, output, height, width, noise):
    """(kernel plan, share) of kernel refinement for the image, or None where one
    kernel does not explain it at all."""
    factor = max(int(AGREEMENT_FACTOR), math.ceil(math.sqrt(height * width / AGREEMENT_PIXELS)))
    shrunk_blurred = _shrunk(blurred.get, height, width, factor)
    shrunk_output = _shrunk(output.get, height, width, factor)
    agreement = shrunk_refinement_share(shrunk_blurred, shrunk_output, factor)
    if agreement == 0.0:
        return None
    top, left, crop_height, crop_width = _richest_crop(shrunk_output, factor, height, width)
    del shrunk_blurred, shrunk_output
    crop = (top, top + crop_height, left, left + crop_width)
    plan = kernel_plan(blurred.get(*crop), output.get(*crop), noise)
    return plan, agreement * refined_share(noise)


def deblur_streamed(image, network, channels, multiple, options, tile, overlap):
    """`deblur_image`'s steps on `image` in tiles, within bounded memory.

    Args:
        image: (height, width, channels') uint8, uint16 or float32 image as
            `deblur_image` takes it.
        network: maps (1, h, w, channels) float32 planes (h and w multiples of
            `multiple`) to the network's (1, h, w, channels) float32 output (flip
            ensemble included).
        channels: the channels run (3 for RGBA: alpha is passed through).
        multiple: the model's size multiple.
        options: the `InferenceOptions` to run.
        tile, overlap: the network's tiles (`tiling.check_tiling`).

    Returns:
        The deblurred image, `image`'s shape and dtype.
    """
    height, width = image.shape[:2]
    blurred = _Input(image, channels)
    output = NetworkOutput((height, width, channels), exact=image.dtype == np.float32)
    grid = (height + -height % multiple, width + -width % multiple)
    stream_tiled(network, lambda *window: blurred.get(*window)[None], grid, tile, overlap,
                 multiple, lambda top, band: output.put(top, band[0]))
    if options.flat_level:
        output.offset = banded_flat_offset(blurred.get, output.get, height, BAND_ROWS)
    noise = (_noise_level(blurred, height, width)
             if options.kernel_refinement or options.denoise else None)
    refinement = (_refinement(blurred, output, height, width, noise)
                  if options.kernel_refinement else None)
    result = np.empty(image.shape, image.dtype)

    def put(top, band):
        result[top:top + band.shape[0], :, :channels] = from_float(band, image.dtype)

    if refinement is None and not options.denoise:
        for top in range(0, height, BAND_ROWS):
            put(top, output.get(top, min(height, top + BAND_ROWS)))
    else:
        def postprocess(pair):
            pair_blurred, deblurred = pair[0, ..., :channels], pair[0, ..., channels:]
            if refinement is not None:
                deblurred = refine_with_plan(pair_blurred, deblurred, *refinement)
            if options.denoise:
                deblurred = denoise_output(pair_blurred, deblurred, noise)
            return deblurred[None]

        margin = REFINE_MARGIN if refinement is not None else DENOISE_MARGIN
        stream_tiled(postprocess,
                     lambda *window: np.concatenate([blurred.get(*window), output.get(*window)],
                                                    axis=-1)[None],
                     (height, width), POSTPROCESS_TILE, POSTPROCESS_OVERLAP, 1,
                     lambda top, band: put(top, band[0]), margin=margin)
    if image.shape[2] > channels:
        result[:, :, channels:] = image[:, :, channels:]
    return result
