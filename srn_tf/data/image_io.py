"""Reading and writing the image files srn-deblur handles, bit depth and alpha kept.

Images are numpy arrays (height, width, channels), channels 1 (gray), 3 (RGB) or
4 (RGBA), in RGB order, uint8 or uint16 as stored in the file. PNG, JPEG, BMP and
WebP go through OpenCV; TIFF through tifffile. EXIF orientation is applied, so an
image comes out the way a viewer shows it (and is written back that way, the
tag reset to 1). WebP is written lossless.

Reading is the one place every command decodes an image, and it refuses safely:
the header is read first (`image_header.read_header`) and an image of more than
`max_megapixels` is refused before any pixel is decoded; every failure of a
decoder (a corrupt, truncated, empty or mislabelled file, an animation, a layout
this package does not handle) is a one-line ValueError that starts with the path.

`read_image_with_metadata` also returns what an output should carry over
(`ImageMetadata`: the EXIF block, the ICC profile), and `write_image` writes it
where the format holds it: JPEG, PNG and WebP both (PNG as eXIf and iCCP chunks),
TIFF the ICC profile (tag 34675) and EXIF's descriptive IFD0 tags (make, model,
date, artist, copyright), BMP nothing. Pixels are encoded exactly as without
metadata (same encoder, same JPEG quality).
"""

import dataclasses
import glob
import os
import re
import struct
import zlib

import cv2
import numpy as np
import tifffile

from srn_tf.atomic_files import atomic_file, write_error
from srn_tf.write_safety import is_within
# ImageHeader and read_header are re-exported: image_io is where callers look for readers.
from srn_tf.data.image_header import (OPENCV_FORMATS, TIFF_EXTENSIONS,  # noqa: F401
                                      ImageHeader, one_line, read_header)
from srn_tf.data.image_header import (EXIF_PREFIX, exif_orientation, orientation_entry,
                                      strip_exif_prefix)

OPENCV_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
EXTENSIONS = OPENCV_EXTENSIONS + TIFF_EXTENSIONS
# Formats that store 16 bits per channel and an alpha channel.
SIXTEEN_BIT_EXTENSIONS = (".png",) + TIFF_EXTENSIONS
ALPHA_EXTENSIONS = (".png", ".bmp", ".webp") + TIFF_EXTENSIONS
JPEG_QUALITY = 95
# WebP is written lossless, the colour under fully transparent pixels kept too:
# an output loses nothing to its format.
WEBP_LOSSLESS = [cv2.IMWRITE_WEBP_LOSSLESS_MODE, cv2.IMWRITE_WEBP_LOSSLESS_PRESERVE_COLOR]
# Extensions of image types no reader here decodes (animations, HEIF, JPEG XL and
# 2000, AVIF, camera raw): a folder run lists such files as skipped, not silently.
UNSUPPORTED_IMAGE_EXTENSIONS = (
    ".gif", ".heic", ".heif", ".jxl", ".jp2", ".j2k", ".avif", ".raw", ".cr2", ".cr3",
    ".nef", ".arw", ".dng", ".orf", ".rw2", ".raf", ".pef", ".srw", ".psd", ".ico", ".svg",
    ".tga", ".pbm", ".pgm", ".ppm", ".exr", ".hdr")
# The most pixels `read_image_with_metadata` decodes unless told otherwise
# (--max_megapixels): room for a 108 MP phone photo (12000x9000) and a 150 MP
# medium-format one (14204x10652), while a header claiming more (a 69-byte PNG
# may claim 60000x60000, 3600 MP) is refused before decoding, not after
# allocating gigabytes. A raised limit needs the memory: about 3 bytes a pixel to
# decode, far more to deblur (docs/deblurring.md).
DEFAULT_MAX_MEGAPIXELS = 200
# OpenCV decodes at most 2**30 pixels (CV_IO_MAX_IMAGE_PIXELS, fixed from the
# environment's OPENCV_IO_MAX_IMAGE_PIXELS when cv2 loads, so it cannot be raised
# afterwards); tifffile has no such cap.
OPENCV_MAX_MEGAPIXELS = 2**30 / 1e6
MAX_MEGAPIXELS_FLAG = "--max_megapixels"

_ICC_TAG = 34675
# EXIF IFD0 tags a TIFF carries in its own IFD0 (ASCII): Make, Model, DateTime,
# Artist, Copyright. The EXIF sub-IFD and the rest are not written to TIFF.
TIFF_EXIF_TAGS = (271, 272, 306, 315, 33432)


@dataclasses.dataclass(frozen=True)
class ImageMetadata:
    """Metadata `write_image` carries from an input file to its output.

    Attributes:
        exif: the EXIF block as a TIFF structure ("II*\\0..." or "MM\\0*...", no
            "Exif\\0\\0" prefix), Orientation already reset to 1; None when absent.
        icc_profile: the ICC profile's bytes; None when absent.
    """

    exif: bytes = None
    icc_profile: bytes = None


def is_image_file(path):
    """True when `path` has an extension `read_image` reads."""
    return os.path.splitext(path)[1].lower() in EXTENSIONS


def is_unsupported_image_file(path):
    """True when `path` looks like an image of a type `read_image` does not read (.gif, .heic...)."""
    return os.path.splitext(path)[1].lower() in UNSUPPORTED_IMAGE_EXTENSIONS


def _glob_root(pattern):
    """The folder a glob's matches are taken relative to: its parts before any wildcard."""
    parts = []
    for part in os.path.normpath(pattern).split(os.sep):
        if glob.has_magic(part):
            break
        parts.append(part)
    return os.sep.join(parts) or "."


def list_images(input_path, exclude=()):
    """Lists the image files `input_path` names, each with its path relative to the input root.

    Only files `read_image` reads count (`is_image_file`); in folders, hidden
    files are left out too.

    Args:
        input_path: an image file, a folder (searched recursively), or a glob
            pattern (`**` matches subfolders).
        exclude: folders whose files are left out (a run's output folder inside
            its input folder, so a rerun never takes its own outputs as inputs);
            one that holds the whole input root excludes nothing.

    Returns:
        Sorted list of (path, relative path) pairs; empty when nothing matches
        (`no_images_message` says so).

    Raises:
        FileNotFoundError: `input_path` is neither a file, a folder nor a glob.
    """
    return list_files(input_path, is_image_file, exclude)


def list_unsupported_images(input_path, exclude=()):
    """The files `input_path` names that look like images `read_image` does not read.

    Same search as `list_images` (`exclude` too), for `is_unsupported_image_file` (.gif, .heic,
    camera raw...): a folder run reports them as skipped instead of ignoring them.

    Returns:
        Sorted list of paths.
    """
    return [path for path, _ in list_files(input_path, is_unsupported_image_file, exclude)]


def list_files(input_path, wanted, exclude=()):
    """`list_images`'s search for the files whose name `wanted(name)` accepts, leaving
    out the files inside the `exclude` folders that lie within the input root."""
    input_path = os.fspath(input_path)
    if os.path.isfile(input_path):
        return [(input_path, os.path.basename(input_path))] if wanted(input_path) else []
    if os.path.isdir(input_path):
        skipped = [folder for folder in map(os.fspath, exclude)
                   if not is_within(input_path, folder)]
        found = []
        for folder, subfolders, files in os.walk(input_path):
            subfolders[:] = sorted(
                name for name in subfolders
                if not any(is_within(os.path.join(folder, name), out) for out in skipped))
            found += [os.path.join(folder, name) for name in files
                      if wanted(name) and not name.startswith(".")]
        return sorted((path, os.path.relpath(path, input_path)) for path in found)
    if glob.has_magic(input_path):
        root = _glob_root(input_path)
        skipped = [folder for folder in map(os.fspath, exclude) if not is_within(root, folder)]
        return sorted((path, os.path.relpath(path, root))
                      for path in glob.glob(input_path, recursive=True)
                      if os.path.isfile(path) and wanted(path)
                      and not any(is_within(path, out) for out in skipped))
    raise FileNotFoundError(f"{input_path}: no such file or folder")


def no_images_message(input_path):
    """The one-line error for an input that names no image `read_image` reads."""
    return f"no images found in {os.fspath(input_path)} (reads {', '.join(EXTENSIONS)})"


def exif_with_orientation_reset(exif):
    """The EXIF block with IFD0's Orientation set to 1, every other byte as it was."""
    exif = strip_exif_prefix(exif)
    entry = orientation_entry(exif)
    if entry is None or entry[2] == 1:
        return exif
    offset, order, _ = entry
    return exif[:offset] + struct.pack(order + "H", 1) + exif[offset + 2:]


def apply_orientation(image, orientation):
    """Turns a stored (height, width, channels) image into the way EXIF says to show it.

    Orientation values are EXIF's: 1 as stored, 2 mirrored, 3 rotated 180, 4 flipped,
    5 transposed, 6 rotated 90 clockwise, 7 transversed, 8 rotated 90 anticlockwise.
    """
    if orientation in (5, 6, 7, 8):
        image = np.swapaxes(image, 0, 1)  # 5: transpose; 6, 7, 8 build on it.
        orientation = {5: 1, 6: 2, 7: 3, 8: 4}[orientation]
    if orientation == 2:
        image = image[:, ::-1]
    elif orientation == 3:
        image = image[::-1, ::-1]
    elif orientation == 4:
        image = image[::-1]
    return np.ascontiguousarray(image)


def _as_channels_last(image, path):
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"{path}: unsupported image layout {image.shape} "
                         "(expected gray, RGB or RGBA)")
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{path}: unsupported sample type {image.dtype} "
                         "(expected 8- or 16-bit integers)")
    return image


def _exif_from_tiff_tags(tags):
    """An EXIF block holding a TIFF page's descriptive ASCII tags (`TIFF_EXIF_TAGS`), or None."""
    values = {code: tags[code].value for code in TIFF_EXIF_TAGS
              if code in tags and isinstance(tags[code].value, str) and tags[code].value}
    if not values:
        return None
    from PIL import Image  # only for TIFFs with such tags

    exif = Image.Exif()
    for code, value in values.items():
        exif[code] = value
    return strip_exif_prefix(exif.tobytes())


def _read_tiff(path):
    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages.first
        image = page.asarray()
        tag = page.tags.get("Orientation")
        orientation = int(tag.value) if tag is not None else 1
        separate = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
        icc = page.tags.get(_ICC_TAG)
        icc = bytes(icc.value) if icc is not None and icc.value else None
        exif = _exif_from_tiff_tags(page.tags)
    if separate and image.ndim == 3:
        image = np.moveaxis(image, 0, -1)
    image = apply_orientation(_as_channels_last(image, path), orientation)
    return image, ImageMetadata(exif=exif, icc_profile=icc)


# In a JPEG's entropy-coded data a 0xFF byte is followed by 0x00 (a stuffed byte) or
# a restart marker (0xD0-0xD7); anything else is the next marker.
_JPEG_NEXT_MARKER = re.compile(rb"\xff(?!\x00|[\xd0-\xd7]|\xff)")


def _jpeg_is_complete(data):
    """True when the first JPEG in `data` reaches its end-of-image marker.

    libjpeg decodes a truncated JPEG, printing "Premature end of JPEG file" and
    filling the rest gray, and OpenCV returns that as an image; walking the
    markers finds the truncation instead. Bytes after the end marker (a second
    picture in an MPO file, a phone's embedded video) do not matter.
    """
    position = 2  # after SOI
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return False
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
        elif marker == 0xD9:  # EOI
            return True
        elif 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            position += 2
        else:
            if position + 4 > len(data):
                return False
            (length,) = struct.unpack_from(">H", data, position + 2)
            position += 2 + length
            if marker == 0xDA:  # SOS: entropy-coded data up to the next marker
                found = _JPEG_NEXT_MARKER.search(data, min(position, len(data)))
                if found is None:
                    return False
                position = found.start()


def _png_problem(data):
    """What is wrong with a PNG's chunks (a truncation, a bad CRC), or None.

    libpng prints its own "libpng error" line to stderr for these before OpenCV
    returns None; checking the chunks first (a CRC-32 over the file's bytes,
    milliseconds) gives one line saying which.
    """
    position = 8  # after the signature
    while position < len(data):
        if position + 12 > len(data):
            return "truncated PNG (the file ends inside a chunk)"
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 8 + length
        if end + 4 > len(data):
            return "truncated PNG (the file ends inside a chunk)"
        (stored,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(data[position + 4:end]) & 0xFFFFFFFF != stored:
            return f"bad CRC in its {kind.decode('latin-1')} chunk (corrupt file)"
        if kind == b"IEND":
            return None
        position = end + 4
    return "truncated PNG (no IEND chunk)"


def _read_with_opencv(path, header):
    with open(path, "rb") as file:
        data = file.read()
    if header.format in ("JPEG", "MPO") and not _jpeg_is_complete(data):
        raise ValueError(f"{path}: truncated JPEG (the file ends before the image does)")
    problem = _png_problem(data) if header.format == "PNG" else None
    if problem:
        raise ValueError(f"{path}: {problem}")
    previous = cv2.utils.logging.getLogLevel()
    # libpng and libjpeg log their complaints before OpenCV returns None; the
    # one-line error below says it better.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        image, kinds, blocks = cv2.imdecodeWithMetadata(np.frombuffer(data, np.uint8),
                                                        cv2.IMREAD_UNCHANGED)
    finally:
        cv2.utils.logging.setLogLevel(previous)
    del data
    if image is None or image.size == 0:
        raise ValueError(f"{path}: cannot be decoded (corrupt or truncated {header.format} data)")
    orientation, exif, icc = 1, None, None
    for kind, block in zip(kinds, blocks):
        data = bytes(np.asarray(block).ravel())
        if kind == cv2.IMAGE_METADATA_EXIF and data:
            orientation = exif_orientation(data)
            exif = exif_with_orientation_reset(data)
        elif kind == cv2.IMAGE_METADATA_ICCP and data:
            icc = data
    image = _as_channels_last(image, path)
    if image.shape[2] == 3:
        image = image[:, :, ::-1]  # OpenCV's BGR to RGB.
    elif image.shape[2] == 4:
        image = image[:, :, [2, 1, 0, 3]]
    return apply_orientation(image, orientation), ImageMetadata(exif=exif, icc_profile=icc)


def read_image(path, max_megapixels=DEFAULT_MAX_MEGAPIXELS):
    """Reads an image file as it would be displayed.

    Args:
        path: a PNG, JPEG, BMP, WebP or TIFF file (8 or 16 bits, gray, RGB or RGBA).
        max_megapixels: refuse images of more pixels (millions), from the header.

    Returns:
        (height, width, channels) uint8 or uint16 array, channels 1, 3 or 4, RGB(A)
        order, EXIF orientation applied.

    Raises:
        As `read_image_with_metadata`.
    """
    return read_image_with_metadata(path, max_megapixels)[0]


def pixel_limit_error(path, header, max_megapixels):
    """The one-line reason `header`'s image is too big to decode, or None when it is not.

    Above `max_megapixels` it names the flag that raises the limit; above what
    OpenCV decodes (`OPENCV_MAX_MEGAPIXELS`, not TIFF) it says no flag helps.
    """
    size = f"{header.width}x{header.height} ({header.megapixels:.1f} megapixels)"
    if max_megapixels is not None and header.megapixels > max_megapixels:
        return (f"{path}: {size} is above the limit of {max_megapixels:g} megapixels "
                f"(raise it with {MAX_MEGAPIXELS_FLAG})")
    if header.format != "TIFF" and header.megapixels > OPENCV_MAX_MEGAPIXELS:
        return (f"{path}: {size} is above the {OPENCV_MAX_MEGAPIXELS:.2f} megapixels OpenCV "
                f"decodes ({header.format}; save it as TIFF to read it)")
    return None


def checked_header(path, max_megapixels=DEFAULT_MAX_MEGAPIXELS):
    """`read_header`, refusing an image above `max_megapixels` (`pixel_limit_error`).

    Raises:
        OSError, ValueError: as `read_header`, or the image is too big; one line
            that starts with the path.
    """
    header = read_header(path)
    problem = pixel_limit_error(path, header, max_megapixels)
    if problem:
        raise ValueError(problem)
    return header


def read_image_with_metadata(path, max_megapixels=DEFAULT_MAX_MEGAPIXELS):
    """Reads an image file as `read_image` does, with the metadata an output should keep.

    The header is read first (`read_header`): a file claiming more than
    `max_megapixels` million pixels, or holding an animation, is refused before
    any pixel is decoded.

    Args:
        path: a PNG, JPEG, BMP, WebP or TIFF file.
        max_megapixels: the most pixels (millions) to decode; None: no limit of
            ours (OpenCV's own 1073 still holds for non-TIFF files).

    Returns:
        (image, ImageMetadata): the image as `read_image` returns it; the EXIF
        block (Orientation reset to 1, since the image is returned upright) and
        ICC profile the file holds, each None when absent.

    Raises:
        OSError: the file does not exist or cannot be opened.
        ValueError: the file is too big, corrupt, truncated, empty, of an unknown
            type, animated, or holds an image layout or sample type this package
            does not handle. Every message is one line that starts with the path.
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension not in EXTENSIONS:
        raise ValueError(f"{path}: unsupported file type {extension or '(none)'} "
                         f"(expected one of {', '.join(EXTENSIONS)})")
    header = checked_header(path, max_megapixels)
    if extension not in TIFF_EXTENSIONS and header.format not in OPENCV_FORMATS:
        raise ValueError(f"{path}: holds a {header.format} image, which is not read "
                         f"(expected one of {', '.join(EXTENSIONS)})")
    if header.frames > 1 and header.format != "TIFF":
        raise ValueError(f"{path}: an animation ({header.frames} frames); only still images "
                         "are read")
    try:
        if extension in TIFF_EXTENSIONS:
            return _read_tiff(path)
        return _read_with_opencv(path, header)
    except ValueError as error:
        message = one_line(error)
        raise ValueError(message if message.startswith(path)
                         else f"{path}: cannot be decoded ({message})") from None
    except MemoryError:
        raise ValueError(f"{path}: not enough memory to decode {header.width}x{header.height} "
                         f"({header.megapixels:.1f} megapixels)") from None
    except Exception as error:  # noqa: BLE001 - cv2.error, tifffile's, zlib's, OSError...
        raise ValueError(f"{path}: cannot be decoded ({one_line(error)})") from None


def _icc_fits(profile, image):
    """True when an ICC profile's colour space (header bytes 16-20) suits the image's channels.

    A gray image with an RGB profile (or the reverse) is invalid in PNG (libpng
    drops it with a warning) and misleading elsewhere, so such a profile is not
    written. Profiles of other colour spaces are left out too.
    """
    space = bytes(profile[16:20])
    return space == (b"GRAY" if image.shape[2] == 1 else b"RGB ")


def _encode_with_opencv(path, image, metadata, final_path):
    if image.shape[2] == 3:
        image = image[:, :, ::-1]
    elif image.shape[2] == 4:
        image = image[:, :, [2, 1, 0, 3]]
    image = np.ascontiguousarray(image)
    extension = os.path.splitext(path)[1].lower()
    params = {".jpg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
              ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
              ".webp": WEBP_LOSSLESS}.get(extension, [])
    kinds, blocks = [], []
    if metadata is not None and extension != ".bmp":
        if metadata.exif:
            kinds.append(cv2.IMAGE_METADATA_EXIF)
            blocks.append(np.frombuffer(exif_with_orientation_reset(metadata.exif), np.uint8))
        if metadata.icc_profile and _icc_fits(metadata.icc_profile, image):
            kinds.append(cv2.IMAGE_METADATA_ICCP)
            blocks.append(np.frombuffer(metadata.icc_profile, np.uint8))
    if kinds:
        written = cv2.imwriteWithMetadata(path, image, kinds, blocks, params)
    else:
        written = cv2.imwrite(path, image, params)
    if not written:
        raise write_error(final_path, "OpenCV could not encode the image")


def _tiff_exif_tags(exif):
    """tifffile extratags for the descriptive ASCII tags (`TIFF_EXIF_TAGS`) of an EXIF block."""
    from PIL import Image  # only when an EXIF block goes into a TIFF

    parsed = Image.Exif()
    try:
        parsed.load(EXIF_PREFIX + strip_exif_prefix(exif))
    except (SyntaxError, ValueError, struct.error, OSError):
        return []  # an unreadable block: the pixels matter more than its tags
    tags = []
    for code in TIFF_EXIF_TAGS:
        value = parsed.get(code)
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        if isinstance(value, str) and value.strip("\x00") and value.isascii():
            tags.append((code, "s", 0, value.strip("\x00"), True))
    return tags


def _encode_tiff(path, image, metadata):
    photometric = "minisblack" if image.shape[2] == 1 else "rgb"
    options = {}
    if metadata is not None:
        if metadata.icc_profile and _icc_fits(metadata.icc_profile, image):
            options["iccprofile"] = metadata.icc_profile
        if metadata.exif:
            options["extratags"] = _tiff_exif_tags(metadata.exif)
    tifffile.imwrite(path, image[:, :, 0] if image.shape[2] == 1 else image,
                     photometric=photometric, **options)


def check_writable(extension, image):
    """Raises ValueError when a file of `extension` cannot store `image` as it is."""
    extension = extension.lower()
    if extension not in EXTENSIONS:
        raise ValueError(f"unsupported output type {extension} "
                         f"(expected one of {', '.join(EXTENSIONS)})")
    if image.dtype == np.uint16 and extension not in SIXTEEN_BIT_EXTENSIONS:
        raise ValueError(f"{extension} cannot store 16-bit images")
    if image.shape[2] == 4 and extension not in ALPHA_EXTENSIONS:
        raise ValueError(f"{extension} cannot store an alpha channel")


def write_image(path, image, metadata=None):
    """Writes `image` to `path` atomically: a temporary file, then a rename.

    The temporary file sits in the same folder and keeps the real extension (the
    encoder picks the format from it), so an interrupted run never leaves a
    partial file under the final name (`srn_tf.atomic_files.atomic_file`).

    Args:
        path: output file; its extension picks the format (PNG, JPEG, BMP, WebP, TIFF).
        image: (height, width, channels) uint8 or uint16 array, channels 1, 3 or 4,
            RGB(A) order.
        metadata: an `ImageMetadata` (from `read_image_with_metadata`) to write
            where the format holds it (see the module docstring), or None. Its
            EXIF Orientation is written as 1: `image` is stored as it is shown.

    Raises:
        ValueError: the format cannot store this image (16 bits in JPEG or BMP,
            alpha in JPEG), or the array is not an image.
        OSError: the file cannot be written: "<path>: cannot write (<reason>)".
    """
    path = os.fspath(path)
    image = _as_channels_last(np.asarray(image), path)
    extension = os.path.splitext(path)[1].lower()
    try:
        check_writable(extension, image)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    with atomic_file(path) as temporary:
        if extension in TIFF_EXTENSIONS:
            _encode_tiff(temporary, image, metadata)
        else:
            _encode_with_opencv(temporary, image, metadata, path)


def as_rgb8(image):
    """The 8-bit RGB image the metrics compare: 16 bits rounded to 8, gray to RGB, alpha off.

    Args:
        image: (height, width, channels) uint8 or uint16 array from `read_image`.

    Returns:
        (height, width, 3) uint8 array.
    """
    if image.dtype == np.uint16:
        image = np.round(image / 257.0).astype(np.uint8)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])
