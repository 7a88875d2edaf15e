"""An image file's size, channels and sample depth, read from its header without decoding pixels.

`read_header` tells what `image_io.read_image` would return (its height, width
and channels, EXIF orientation applied, and 1 or 2 bytes a sample) before any
pixel is decoded, so a caller can refuse a file whose header claims more pixels
than it allows (a "decompression bomb": a 69-byte PNG may claim 60000x60000) or
plan memory for a big photo. PNG, JPEG, BMP and WebP headers are read by
Pillow's lazy `Image.open` with Pillow's own bomb check off (the callers apply
their own limit, `image_io.DEFAULT_MAX_MEGAPIXELS`); TIFF by tifffile's first
page.
"""

import dataclasses
import os
import struct
import threading

import tifffile

TIFF_EXTENSIONS = (".tif", ".tiff")
# Pillow's names for what OpenCV decodes under a non-TIFF extension. MPO is a
# JPEG holding a second picture (many cameras write them); OpenCV reads the first.
OPENCV_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "WEBP")
# Headers read: those, and GIF for the training pipeline's decoder (tf.io.decode_image).
_HEADER_FORMATS = OPENCV_FORMATS + ("GIF",)
_ORIENTATION_TAG = 274
EXIF_PREFIX = b"Exif\x00\x00"
# EXIF orientations that turn an image by 90 degrees (read_image applies them).
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)
# Pillow's bomb check reads a module-wide setting; it is switched off only while
# this module opens a file, one thread at a time.
_PILLOW_SETTING_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    """What an image file's header says about the array `read_image` returns for it.

    Attributes:
        height: rows, EXIF orientation applied (as `read_image` returns them).
        width: columns, EXIF orientation applied.
        channels: 1 (gray), 3 (RGB) or 4 (RGBA), as `read_image` returns them.
        bytes_per_sample: 1 (uint8) or 2 (uint16).
        format: the container, as Pillow names it ("PNG", "JPEG", "MPO", "BMP",
            "WEBP", "GIF") or "TIFF".
        frames: pictures the file holds (more than one: an animation).
        orientation: the EXIF orientation (1-8) already applied to height and
            width (5-8 swap them).
    """

    height: int
    width: int
    channels: int
    bytes_per_sample: int
    format: str = ""
    frames: int = 1
    orientation: int = 1

    @property
    def stored_size(self):
        """(height, width) as stored, before EXIF orientation (as `tf.io.decode_image` returns)."""
        return _oriented(self.height, self.width, self.orientation)

    @property
    def megapixels(self):
        """height * width / 1e6."""
        return self.height * self.width / 1e6


def read_header(path):
    """Reads an image file's header: its size, channels and sample depth, no pixels decoded.

    Args:
        path: a PNG, JPEG, BMP, WebP, GIF or TIFF file (by content; a TIFF is
            read as such when its name ends in .tif or .tiff). `read_image` does
            not decode GIF; its header is read for the training pipeline's check.

    Returns:
        `ImageHeader`.

    Raises:
        FileNotFoundError, PermissionError: the file is missing or unreadable.
        ValueError: "<path>: <what is wrong>", one line: an empty file, not an
            image, a corrupt header, or a layout `read_image` does not return.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"{path}: not readable")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path}: empty file (0 bytes)")
    if os.path.splitext(path)[1].lower() in TIFF_EXTENSIONS:
        return _tiff_header(path)
    return _pillow_header(path)


def _oriented(height, width, orientation):
    return (width, height) if orientation in _TRANSPOSING_ORIENTATIONS else (height, width)


def _tiff_header(path):
    try:
        with tifffile.TiffFile(path) as tiff:
            page = tiff.pages.first
            shape, dtype = page.shape, page.dtype
            channels = page.samplesperpixel
            height, width = page.imagelength, page.imagewidth
            tag = page.tags.get("Orientation")
            orientation = int(tag.value) if tag is not None else 1
            frames = len(tiff.pages)
    except Exception as error:  # tifffile meets a corrupt header with many kinds of error
        raise ValueError(f"{path}: not a readable TIFF ({one_line(error)})") from None
    if dtype is None or dtype.kind != "u" or dtype.itemsize not in (1, 2):
        raise ValueError(f"{path}: unsupported TIFF sample type "
                         f"{dtype if dtype is not None else 'unknown'} "
                         "(expected 8- or 16-bit unsigned integers)")
    if channels not in (1, 3, 4) or len(shape) > 3 + (page.planarconfig == 2):
        raise ValueError(f"{path}: unsupported TIFF layout {tuple(shape)}, {channels} samples "
                         "a pixel (expected gray, RGB or RGBA)")
    height, width = _oriented(height, width, orientation)
    return ImageHeader(height, width, channels, dtype.itemsize, "TIFF", frames, orientation)


def _pillow_header(path):
    from PIL import Image

    try:
        with _PILLOW_SETTING_LOCK:
            limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                image = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = limit
        with image:
            kind, mode, info = image.format, image.mode, dict(image.info)
            width, height = image.size
            frames = getattr(image, "n_frames", 1)
    except Image.UnidentifiedImageError:
        raise ValueError(f"{path}: not a PNG, JPEG, BMP, WebP or TIFF image "
                         "(unrecognised or corrupt header)") from None
    except Exception as error:  # Pillow's plugins raise OSError, SyntaxError, struct.error...
        raise ValueError(f"{path}: corrupt image header ({one_line(error)})") from None
    if kind not in _HEADER_FORMATS:
        raise ValueError(f"{path}: {kind} images are not supported "
                         "(reads PNG, JPEG, BMP, WebP and TIFF)")
    if width < 1 or height < 1:
        raise ValueError(f"{path}: header claims an empty {width}x{height} image")
    orientation = exif_orientation(info.get("exif"))
    height, width = _oriented(height, width, orientation)
    return ImageHeader(height, width, _opencv_channels(kind, mode, info),
                       _bytes_per_sample(path, kind, mode), kind, frames, orientation)


def _opencv_channels(kind, mode, info):
    """The channels OpenCV's IMREAD_UNCHANGED returns for a file Pillow opened as `mode`.

    OpenCV expands a palette to colour, turns gray with alpha into BGRA, and adds
    alpha for a PNG transparency chunk on colour or palette images (not on gray);
    a CMYK JPEG comes out as BGR.
    """
    if mode in ("1", "L", "I", "I;16", "I;16B", "I;16L"):
        return 1
    if mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        return 4
    if kind == "PNG" and mode in ("P", "RGB") and "transparency" in info:
        return 4
    return 3


def _bytes_per_sample(path, kind, mode):
    """2 for a 16-bit PNG or gray 16-bit image, else 1.

    Pillow opens a 16-bit colour PNG as 8-bit "RGB"/"RGBA", so the PNG's own bit
    depth (IHDR, byte 24 of the file) decides.
    """
    if kind == "PNG":
        with open(path, "rb") as file:
            start = file.read(25)
        return 2 if len(start) == 25 and start[24] == 16 else 1
    return 2 if mode.startswith("I;16") else 1


def orientation_entry(exif):
    """Finds IFD0's Orientation in a raw EXIF block: (byte offset of its value, byte order, value).

    OpenCV hands EXIF over as the TIFF structure it is ("II*\\0" or "MM\\0*", the
    offset of the first IFD, then 12-byte entries); only IFD0's tag 274 matters.
    Returns None when the block holds no (valid) Orientation.
    """
    if len(exif) < 8 or exif[:2] not in (b"II", b"MM"):
        return None
    order = "<" if exif[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(order + "I", exif, 4)
        (count,) = struct.unpack_from(order + "H", exif, ifd)
        for entry in range(count):
            offset = ifd + 2 + 12 * entry
            tag, kind, _, value = struct.unpack_from(order + "HHIH", exif, offset)
            if tag == _ORIENTATION_TAG and kind == 3:
                return offset + 8, order, value
    except struct.error:
        return None
    return None


def strip_exif_prefix(exif):
    """A raw EXIF block without the "Exif\\0\\0" prefix JPEG's APP1 segment puts before it."""
    return exif[len(EXIF_PREFIX):] if exif.startswith(EXIF_PREFIX) else exif


def exif_orientation(exif):
    """Returns the Orientation value (1-8) of a raw EXIF block, 1 when absent or invalid:
    the one reader of it, for the header (Pillow's block) and the decoded image
    (OpenCV's), so the two always agree."""
    if not exif:
        return 1
    entry = orientation_entry(strip_exif_prefix(exif))
    return entry[2] if entry is not None and 1 <= entry[2] <= 8 else 1


def one_line(error):
    """An exception's message on one line (decoders' messages sometimes span several)."""
    return " ".join(str(error).split()) or type(error).__name__
