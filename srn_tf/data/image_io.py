"""Reading and writing the image files srn-deblur handles, bit depth and alpha kept.

Images are numpy arrays (height, width, channels), channels 1 (gray), 3 (RGB) or
4 (RGBA), in RGB order, uint8 or uint16 as stored in the file. PNG, JPEG and BMP
go through OpenCV; TIFF through tifffile. EXIF orientation is applied, so an
image comes out the way a viewer shows it (and is written back that way, without
the tag).
"""

import os
import struct
import uuid

import cv2
import numpy as np
import tifffile

TIFF_EXTENSIONS = (".tif", ".tiff")
OPENCV_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
EXTENSIONS = OPENCV_EXTENSIONS + TIFF_EXTENSIONS
# Formats that store 16 bits per channel and an alpha channel.
SIXTEEN_BIT_EXTENSIONS = (".png",) + TIFF_EXTENSIONS
ALPHA_EXTENSIONS = (".png", ".bmp") + TIFF_EXTENSIONS
JPEG_QUALITY = 95

_ORIENTATION_TAG = 274


def is_image_file(path):
    """True when `path` has an extension `read_image` reads."""
    return os.path.splitext(path)[1].lower() in EXTENSIONS


def _exif_orientation(exif):
    """Returns the Orientation value (1-8) of a raw EXIF block, 1 when absent.

    OpenCV hands EXIF over as the TIFF structure it is ("II*\\0" or "MM\\0*", the
    offset of the first IFD, then 12-byte entries); only IFD0's tag 274 matters.
    """
    if exif.startswith(b"Exif\x00\x00"):
        exif = exif[6:]
    if len(exif) < 8 or exif[:2] not in (b"II", b"MM"):
        return 1
    order = "<" if exif[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(order + "I", exif, 4)
        (count,) = struct.unpack_from(order + "H", exif, ifd)
        for entry in range(count):
            tag, kind, _, value = struct.unpack_from(order + "HHIH", exif, ifd + 2 + 12 * entry)
            if tag == _ORIENTATION_TAG and kind == 3:
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


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


def _read_tiff(path):
    try:
        with tifffile.TiffFile(path) as tiff:
            page = tiff.pages[0]
            image = page.asarray()
            tag = page.tags.get("Orientation")
            orientation = int(tag.value) if tag is not None else 1
            separate = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
    except (tifffile.TiffFileError, EOFError, struct.error, IndexError, KeyError,
            ValueError) as error:
        # tifffile meets corrupt data with any of these, depending on where it breaks.
        raise ValueError(f"{path}: cannot be decoded ({error})") from None
    if separate and image.ndim == 3:
        image = np.moveaxis(image, 0, -1)
    return apply_orientation(_as_channels_last(image, path), orientation)


def _read_with_opencv(path):
    image, kinds, blocks = cv2.imreadWithMetadata(path, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise ValueError(f"{path}: cannot be decoded (corrupt or not an image)")
    orientation = 1
    for kind, block in zip(kinds, blocks):
        if kind == cv2.IMAGE_METADATA_EXIF:
            orientation = _exif_orientation(bytes(np.asarray(block).ravel()))
    image = _as_channels_last(image, path)
    if image.shape[2] == 3:
        image = image[:, :, ::-1]  # OpenCV's BGR to RGB.
    elif image.shape[2] == 4:
        image = image[:, :, [2, 1, 0, 3]]
    return apply_orientation(image, orientation)


def read_image(path):
    """Reads an image file as it would be displayed.

    Args:
        path: a PNG, JPEG, BMP or TIFF file (8 or 16 bits, gray, RGB or RGBA).

    Returns:
        (height, width, channels) uint8 or uint16 array, channels 1, 3 or 4, RGB(A)
        order, EXIF orientation applied.

    Raises:
        OSError: the file does not exist or cannot be opened.
        ValueError: the file is corrupt, of an unknown type, or holds an image
            layout or sample type this package does not handle. Every message is
            one line that starts with the path.
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension not in EXTENSIONS:
        raise ValueError(f"{path}: unsupported file type {extension or '(none)'} "
                         f"(expected one of {', '.join(EXTENSIONS)})")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"{path}: not readable")
    if extension in TIFF_EXTENSIONS:
        return _read_tiff(path)
    return _read_with_opencv(path)


def _encode_with_opencv(path, image):
    if image.shape[2] == 3:
        image = image[:, :, ::-1]
    elif image.shape[2] == 4:
        image = image[:, :, [2, 1, 0, 3]]
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.lower().endswith(
        (".jpg", ".jpeg")) else []
    if not cv2.imwrite(path, np.ascontiguousarray(image), params):
        raise OSError(f"{path}: OpenCV could not write the image")


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


def write_image(path, image):
    """Writes `image` to `path` atomically: a temporary file, then a rename.

    The temporary file sits in the same folder and keeps the real extension (the
    encoder picks the format from it), so an interrupted run never leaves a
    partial file under the final name.

    Args:
        path: output file; its extension picks the format (PNG, JPEG, BMP, TIFF).
        image: (height, width, channels) uint8 or uint16 array, channels 1, 3 or 4,
            RGB(A) order.

    Raises:
        ValueError: the format cannot store this image (16 bits in JPEG or BMP,
            alpha in JPEG), or the array is not an image.
        OSError: the file cannot be written.
    """
    path = os.fspath(path)
    image = _as_channels_last(np.asarray(image), path)
    extension = os.path.splitext(path)[1].lower()
    try:
        check_writable(extension, image)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    folder = os.path.dirname(path) or "."
    # Named, not created, here: the encoder creates it with the usual permissions.
    temporary = os.path.join(
        folder, f".{os.path.basename(path)}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}{extension}")
    try:
        if extension in TIFF_EXTENSIONS:
            photometric = "minisblack" if image.shape[2] == 1 else "rgb"
            tifffile.imwrite(temporary, image[:, :, 0] if image.shape[2] == 1 else image,
                             photometric=photometric)
        else:
            _encode_with_opencv(temporary, image)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
