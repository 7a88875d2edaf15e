"""A corpus of bad (and a few odd but good) image files, written by the tests into a folder.

Every reader (srn-deblur, srn-eval, srn-synth, srn-batch, srn-serve) is given
every file: `BAD` ones must each fail alone with a one-line reason naming the
file, `GOOD` ones be read. Nothing here is checked in as a binary: each file is
made from a small crop of scikit-image's astronaut, then broken.
"""

import os
import struct
import zlib

import numpy as np
import tifffile
from PIL import Image

# A photo-like crop, small so every reader runs in seconds; 64 a side is a
# multiple of the networks' size multiple.
SIZE = 64


def photo(size=SIZE, offset=0):
    """(size, size, 3) uint8 crop of scikit-image's astronaut, `offset` pixels in."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[100 + offset:100 + offset + size,
                                                         180 + offset:180 + offset + size])


def _encoded(image, extension, **options):
    import io

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format={"jpg": "JPEG", "png": "PNG"}[extension],
                                **options)
    return buffer.getvalue()


def _png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def bomb_png(width=60000, height=60000):
    """The decompression-bomb header: PNG signature, IHDR claiming width x height RGB, IEND.

    57 bytes; nothing to decode, but a reader that trusts the header allocates
    width * height * 3 bytes (10.8 GB for 60000x60000).
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"")
            + _png_chunk(b"IEND", b""))


def _bad_crc_png(image):
    """A PNG whose IDAT chunk's CRC is wrong (one bit of the stored CRC flipped)."""
    data = bytearray(_encoded(image, "png"))
    start = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[start - 4:start])
    data[start + 4 + length] ^= 0x01
    return bytes(data)


def _tiff_bytes(image, **options):
    import io

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, image, **options)
    return buffer.getvalue()


def _truncated(data):
    return data[:len(data) // 2]


def _write_bytes(path, data):
    with open(path, "wb") as file:
        file.write(data)


def _write_animated_gif(path, image):
    frames = [Image.fromarray(image), Image.fromarray(255 - image)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)


def _write_animated_webp(path, image):
    frames = [Image.fromarray(image), Image.fromarray(255 - image)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, lossless=True)


def write_corpus(folder):
    """Writes the corpus into `folder` (created).

    Returns:
        (good, bad, unsupported): dicts of file name -> path. `good` files are
        images every reader reads (a WebP, a one-pixel PNG, a CMYK JPEG read as
        RGB); `bad` ones each fail with a one-line reason; `unsupported` ones
        (an animated GIF) have an extension no reader takes, so folder runs list
        them as skipped.
    """
    os.makedirs(folder, exist_ok=True)
    image = photo()
    sixteen = (image.astype(np.uint16) * 257)
    bad = {
        "truncated.png": _truncated(_encoded(image, "png")),
        "truncated.jpg": _truncated(_encoded(image, "jpg", quality=90)),
        "truncated.tif": _truncated(_tiff_bytes(image)),
        "bomb.png": bomb_png(),
        "empty.png": b"",
        "text.jpg": b"This is a text file, not a photograph.\n" * 4,
        "bad_crc.png": _bad_crc_png(image),
        # Two samples a pixel (gray + an extra sample, 16-bit, planes stored apart):
        # neither gray, RGB nor RGBA.
        "odd_layout_16bit.tif": _tiff_bytes(np.stack([sixteen[..., 0], sixteen[..., 1]]),
                                            planarconfig="separate", photometric="minisblack"),
    }
    good = {
        "fine.webp": None,
        "one_pixel.png": _encoded(image[:1, :1], "png"),
        "cmyk.jpg": None,
        "good.png": _encoded(image, "png"),
    }
    paths = {}
    for name, data in bad.items():
        paths[name] = os.path.join(folder, name)
        _write_bytes(paths[name], data)
    Image.fromarray(photo(offset=7)).save(os.path.join(folder, "fine.webp"), lossless=True)
    Image.fromarray(image).convert("CMYK").save(os.path.join(folder, "cmyk.jpg"), quality=95)
    for name in ("one_pixel.png", "good.png"):
        _write_bytes(os.path.join(folder, name), good[name])
    _write_animated_webp(os.path.join(folder, "animated.webp"), image)
    _write_animated_gif(os.path.join(folder, "animated.gif"), image)
    bad_paths = {name: os.path.join(folder, name) for name in list(bad) + ["animated.webp"]}
    good_paths = {name: os.path.join(folder, name) for name in good}
    return good_paths, bad_paths, {"animated.gif": os.path.join(folder, "animated.gif")}
