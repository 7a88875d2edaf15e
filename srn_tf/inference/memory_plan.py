"""How much memory deblurring an image will take, and a one-line refusal before any
work when that is more than the machine has free.

Two plans (`srn_tf.inference.deblur.deblur_image`): an image that is one tile runs
whole, every step on float32 copies of it (`WHOLE_BYTES_PER_PIXEL`); a tiled image
runs the streamed plan (`srn_tf.inference.streamed`), where only the input, the
output and a compact copy of the network's output grow with the image and the
rest is bounded by the tiles and crops (docs/tiling.md, "Memory"). The figures
are peak RSS measured by `python -m benchmarks.peak_memory` with the bundled
model, rounded up. NumPy only, so a file can be checked before TensorFlow loads.
"""

import dataclasses
import resource

# The process with TensorFlow and the model, before any image (fitted to the
# whole-image plan's peaks at 2 and 3 MP: 1.58 and 2.18 GB).
BASE_BYTES = 400_000_000
# The whole-image plan at the default quality: the network's activations at full
# size and every post-processing step on float32 copies (0.61 GB a megapixel
# measured, docs/tiling.md, "Memory").
WHOLE_BYTES_PER_PIXEL = 620
# The streamed plan's bounded part: a row of network tiles (activations and the
# band they are feathered into), the post-processing tiles and the refinement's
# crop with its Fourier transforms (1.1 to 1.25 GB measured from 3 to 25 MP).
STREAMED_BOUNDED_BYTES = 1_300_000_000
# Per pixel and channel, the network's compact copy (uint16; float32 for float32
# inputs, see `streamed.NetworkOutput`).
COMPACT_BYTES = 2
# Per pixel, the decoded file's own data while it is decoded (a JPEG's or PNG's
# bytes are smaller than this).
DECODE_BYTES_PER_SAMPLE = 1


@dataclasses.dataclass(frozen=True)
class Plan:
    """How an image will run: `streamed` or whole, and the peak memory expected."""

    streamed: bool
    peak_bytes: int


def plan(height, width, channels, bytes_per_sample, tile):
    """The plan and peak memory of deblurring one image.

    Args:
        height, width, channels: the decoded image's shape (channels 1, 3 or 4).
        bytes_per_sample: 1 (8-bit), 2 (16-bit) or 4 (float32).
        tile: the tile side it runs with (None: whole), as `per_file.deblur_decoded`
            resolves it.

    Returns:
        A `Plan`.
    """
    pixels = height * width
    if tile is None or (height <= tile and width <= tile):
        return Plan(False, BASE_BYTES + WHOLE_BYTES_PER_PIXEL * pixels)
    samples = pixels * channels
    compact = COMPACT_BYTES if bytes_per_sample < 4 else 4
    per_pixel = samples * (2 * bytes_per_sample + DECODE_BYTES_PER_SAMPLE) + pixels * 3 * compact
    return Plan(True, BASE_BYTES + STREAMED_BOUNDED_BYTES + per_pixel)


def _read_number(path):
    try:
        with open(path) as handle:
            text = handle.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_bytes():
    """The memory free for this process: /proc/meminfo's MemAvailable, or less where
    a cgroup (v2) limits the process (memory.max minus memory.current) or an address
    space limit (`ulimit -v`) leaves less room above what the process has mapped;
    None when none can be read."""
    figures = []
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    mapped = _own_status_bytes("VmSize")
    if limit != resource.RLIM_INFINITY and mapped:
        figures.append(max(0, limit - mapped))
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    figures.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    limit = _read_number("/sys/fs/cgroup/memory.max")
    used = _read_number("/sys/fs/cgroup/memory.current")
    if limit is not None and used is not None:
        figures.append(max(0, limit - used))
    return min(figures) if figures else None


def _own_status_bytes(field):
    """A size of this process from /proc/self/status (`field` "VmRSS": resident,
    "VmSize": mapped), 0 when unknown."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def check_fits(path, height, width, plan_of_image, available=None):
    """Raises a one-line `MemoryError` naming `path` when `plan_of_image` needs more
    than the memory this process can reach.

    Args:
        path: the image file, for the message.
        height, width: its size.
        plan_of_image: its `Plan` (a peak that includes the process itself).
        available: bytes the process may reach in all (None: what it holds now,
            the model loaded, plus `available_bytes()`; nothing is checked when that
            cannot be read).
    """
    if available is None:
        free = available_bytes()
        available = None if free is None else free + _own_status_bytes("VmRSS")
    if available is None or plan_of_image.peak_bytes <= available:
        return
    advice = ("" if plan_of_image.streamed else
              "; run it in tiles (--tile, or leave --tile unset for automatic tiling)")
    raise MemoryError(
        f"{path}: a {width} x {height} photo needs about "
        f"{plan_of_image.peak_bytes / 1e9:.1f} GB with the "
        f"{'streamed (tiled)' if plan_of_image.streamed else 'whole-image'} plan, "
        f"{available / 1e9:.1f} GB are free{advice}")
