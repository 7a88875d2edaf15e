"""Reading and writing images: formats, bit depths, channel order, orientation, errors."""

import os
import struct

import cv2
import numpy as np
import pytest
import tifffile

from srn_tf.data import image_io


def _random_image(shape, dtype, seed=0):
    high = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, high, shape, dtype=dtype, endpoint=True)


def _exif_with_orientation(orientation):
    """A minimal EXIF block (TIFF structure, little endian) holding one Orientation tag."""
    entry = struct.pack("<HHIHH", 274, 3, 1, orientation, 0)
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + entry + b"\x00" * 4


LOSSLESS_CASES = [
    (".png", 1, np.uint8), (".png", 3, np.uint8), (".png", 4, np.uint8),
    (".png", 1, np.uint16), (".png", 3, np.uint16), (".png", 4, np.uint16),
    (".bmp", 1, np.uint8), (".bmp", 3, np.uint8),
    (".tif", 1, np.uint8), (".tif", 3, np.uint16), (".tiff", 4, np.uint16),
]


@pytest.mark.parametrize("extension,channels,dtype", LOSSLESS_CASES)
def test_lossless_formats_round_trip_exactly(tmp_path, extension, channels, dtype):
    image = _random_image((20, 30, channels), dtype)
    path = tmp_path / f"image{extension}"
    image_io.write_image(path, image)
    loaded = image_io.read_image(path)
    assert loaded.dtype == dtype
    np.testing.assert_array_equal(loaded, image)


def test_jpeg_round_trips_shape_and_type(tmp_path):
    image = np.full((24, 40, 3), 120, np.uint8)
    image_io.write_image(tmp_path / "flat.jpg", image)
    loaded = image_io.read_image(tmp_path / "flat.jpg")
    assert loaded.shape == image.shape and loaded.dtype == np.uint8
    # A flat image survives JPEG's quantisation within one or two levels.
    assert np.abs(loaded.astype(int) - 120).max() <= 2


def test_channels_come_out_in_rgb_order(tmp_path):
    bgr = np.zeros((8, 8, 3), np.uint8)
    bgr[..., 2] = 255  # pure red, as OpenCV stores it
    cv2.imwrite(str(tmp_path / "red.png"), bgr)
    image = image_io.read_image(tmp_path / "red.png")
    assert image[0, 0].tolist() == [255, 0, 0]
    image_io.write_image(tmp_path / "again.png", image)
    assert cv2.imread(str(tmp_path / "again.png"))[0, 0].tolist() == [0, 0, 255]


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_jpeg_exif_orientation_is_applied_as_opencv_does(tmp_path, orientation):
    stored = np.zeros((32, 48, 3), np.uint8)
    stored[:8, :16] = 255  # a white block in the top-left corner
    path = str(tmp_path / "oriented.jpg")
    blob = np.frombuffer(_exif_with_orientation(orientation), np.uint8)
    assert cv2.imwriteWithMetadata(path, stored, [cv2.IMAGE_METADATA_EXIF], [blob])
    image = image_io.read_image(path)
    # OpenCV's own decoder applies EXIF orientation with any flags but UNCHANGED
    # (which image_io needs for 16 bits and alpha): the two must agree.
    reference = cv2.imread(path, cv2.IMREAD_COLOR_RGB)
    np.testing.assert_array_equal(image, reference)
    expected_shape = (48, 32, 3) if orientation >= 5 else (32, 48, 3)
    assert image.shape == expected_shape


def test_exif_orientation_6_means_rotate_clockwise(tmp_path):
    stored = np.zeros((32, 48, 3), np.uint8)
    stored[:8, :16] = 255
    path = str(tmp_path / "rotated.png")
    blob = np.frombuffer(_exif_with_orientation(6), np.uint8)
    assert cv2.imwriteWithMetadata(path, stored, [cv2.IMAGE_METADATA_EXIF], [blob])
    image = image_io.read_image(path)
    np.testing.assert_array_equal(image, np.rot90(stored, k=-1))


def test_tiff_orientation_tag_is_applied(tmp_path):
    stored = _random_image((16, 24, 3), np.uint16)
    path = tmp_path / "rotated.tif"
    tifffile.imwrite(path, stored, photometric="rgb", extratags=[(274, 3, 1, 8, True)])
    np.testing.assert_array_equal(image_io.read_image(path), np.rot90(stored, k=1))


def test_corrupt_file_is_a_one_line_error_naming_it(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ValueError, match=r"broken\.png: cannot be decoded") as info:
        image_io.read_image(path)
    assert "\n" not in str(info.value)


def test_corrupt_tiff_is_a_one_line_error_naming_it(tmp_path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"II*\x00garbage")
    with pytest.raises(ValueError, match=r"broken\.tif: cannot be decoded"):
        image_io.read_image(path)


def test_missing_file_and_unknown_type_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.png: no such file"):
        image_io.read_image(tmp_path / "absent.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="notes.txt: unsupported file type .txt"):
        image_io.read_image(tmp_path / "notes.txt")


def test_formats_that_cannot_hold_the_image_are_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot store 16-bit"):
        image_io.write_image(tmp_path / "deep.jpg", np.zeros((8, 8, 3), np.uint16))
    with pytest.raises(ValueError, match="cannot store an alpha channel"):
        image_io.write_image(tmp_path / "alpha.jpg", np.zeros((8, 8, 4), np.uint8))
    assert os.listdir(tmp_path) == []


def test_writing_leaves_no_temporary_file_and_replaces_atomically(tmp_path):
    path = tmp_path / "out.png"
    image_io.write_image(path, np.zeros((8, 8, 3), np.uint8))
    image_io.write_image(path, np.full((8, 8, 3), 7, np.uint8))
    assert os.listdir(tmp_path) == ["out.png"]
    assert image_io.read_image(path)[0, 0, 0] == 7


def test_a_failed_write_leaves_neither_output_nor_temporary(tmp_path, monkeypatch):
    monkeypatch.setattr(cv2, "imwrite", lambda *args, **kwargs: False)
    with pytest.raises(OSError, match="could not write"):
        image_io.write_image(tmp_path / "out.png", np.zeros((8, 8, 3), np.uint8))
    assert os.listdir(tmp_path) == []
