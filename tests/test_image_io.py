"""Reading and writing images: formats, bit depths, channel order, orientation, errors."""

import functools
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
    with pytest.raises(OSError, match=r"out\.png: cannot write \(OpenCV could not encode"):
        image_io.write_image(tmp_path / "out.png", np.zeros((8, 8, 3), np.uint8))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("extension", [".png", ".jpg", ".tif"])
def test_an_unusable_folder_is_reported_with_the_final_path(tmp_path, extension):
    (tmp_path / "file").write_text("not a folder")
    path = tmp_path / "file" / f"out{extension}"  # fails for root too
    with pytest.raises(OSError) as info:
        image_io.write_image(path, np.zeros((8, 8, 3), np.uint8))
    assert str(info.value) == f"{path}: cannot write (Not a directory)"


def test_an_unwritable_folder_names_the_final_path_not_a_temporary(read_only_folder):
    with pytest.raises(PermissionError) as info:
        image_io.write_image(read_only_folder / "a.png", np.zeros((8, 8, 3), np.uint8))
    assert str(info.value) == f"{read_only_folder / 'a.png'}: cannot write (Permission denied)"
    assert os.listdir(read_only_folder) == []


def test_a_folder_in_the_way_is_refused_and_left_alone(tmp_path):
    (tmp_path / "out.png").mkdir()
    with pytest.raises(IsADirectoryError, match=r"out\.png: cannot write \(Is a directory\)"):
        image_io.write_image(tmp_path / "out.png", np.zeros((8, 8, 3), np.uint8))
    assert os.listdir(tmp_path) == ["out.png"] and os.listdir(tmp_path / "out.png") == []


# --- Metadata: EXIF and ICC carried from input to output -------------------------------

@functools.lru_cache(maxsize=None)
def _srgb_profile():
    """Pillow's sRGB profile, made once: its header holds the time it was made."""
    from PIL import ImageCms
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _camera_exif(orientation):
    from PIL import Image
    exif = Image.Exif()
    exif[271] = "TestCam"  # Make
    exif[272] = "Model 7"
    exif[274] = orientation
    return exif.tobytes()


def _pillow_exif(path):
    from PIL import Image
    with Image.open(path) as image:
        return dict(image.getexif()), image.info.get("icc_profile")


def _write_photo_with_metadata(path, stored):
    from PIL import Image
    Image.fromarray(stored).save(path, exif=_camera_exif(6), icc_profile=_srgb_profile(),
                                 quality=95)


def _marked_photo():
    stored = np.full((32, 48, 3), 40, np.uint8)
    stored[:16, :16] = 230  # a bright block in the stored top-left corner
    return stored


def test_jpeg_exif_and_icc_round_trip_with_the_image_shown_upright(tmp_path):
    stored = _marked_photo()
    _write_photo_with_metadata(tmp_path / "in.jpg", stored)
    image, metadata = image_io.read_image_with_metadata(tmp_path / "in.jpg")
    assert image.shape == (48, 32, 3)  # orientation 6 applied: turned clockwise
    image_io.write_image(tmp_path / "out.jpg", image, metadata)
    tags, icc = _pillow_exif(tmp_path / "out.jpg")
    assert tags[271] == "TestCam" and tags[272] == "Model 7"
    assert tags[274] == 1  # the pixels are stored upright now
    assert icc == _srgb_profile()
    shown = image_io.read_image(tmp_path / "out.jpg")
    assert shown.shape == (48, 32, 3)
    # Clockwise: the stored top-left block is now top-right. JPEG moves flat
    # areas by a few levels at most; 40 levels apart leaves no doubt.
    expected = np.rot90(stored, k=-1).astype(int)
    assert np.abs(shown.astype(int) - expected)[2:-2, 2:-2].max() <= 40
    assert shown[:14, -14:].min() > 200 and shown[:14, :14].max() < 80


@pytest.mark.parametrize("extension", [".png", ".tif", ".tiff"])
def test_png_and_tiff_keep_the_icc_profile_and_the_camera(tmp_path, extension):
    _write_photo_with_metadata(tmp_path / "in.jpg", _marked_photo())
    image, metadata = image_io.read_image_with_metadata(tmp_path / "in.jpg")
    out = tmp_path / f"out{extension}"
    image_io.write_image(out, image, metadata)
    again, kept = image_io.read_image_with_metadata(out)
    np.testing.assert_array_equal(again, image)  # lossless, stored upright
    assert kept.icc_profile == _srgb_profile()
    tags, icc = _pillow_exif(out)
    assert icc == _srgb_profile()
    assert tags[271] == "TestCam" and tags[272] == "Model 7"
    assert tags.get(274, 1) == 1


def test_tiff_icc_and_make_are_read_from_its_own_tags(tmp_path):
    image = _random_image((16, 24, 3), np.uint16)
    tifffile.imwrite(tmp_path / "in.tif", image, photometric="rgb", iccprofile=_srgb_profile(),
                     extratags=[(271, "s", 0, "TiffCam", True)])
    _, metadata = image_io.read_image_with_metadata(tmp_path / "in.tif")
    assert metadata.icc_profile == _srgb_profile()
    image_io.write_image(tmp_path / "out.png", image, metadata)
    tags, icc = _pillow_exif(tmp_path / "out.png")
    assert tags[271] == "TiffCam" and icc == _srgb_profile()


def test_bmp_and_files_without_metadata_get_none(tmp_path):
    _write_photo_with_metadata(tmp_path / "in.jpg", _marked_photo())
    image, metadata = image_io.read_image_with_metadata(tmp_path / "in.jpg")
    image_io.write_image(tmp_path / "out.bmp", image, metadata)
    assert image_io.read_image_with_metadata(tmp_path / "out.bmp")[1] == image_io.ImageMetadata()
    image_io.write_image(tmp_path / "plain.png", image)
    assert image_io.read_image_with_metadata(tmp_path / "plain.png")[1] == image_io.ImageMetadata()


def test_a_profile_of_the_wrong_colour_space_is_not_written(tmp_path):
    """An RGB profile on a gray PNG is invalid (libpng drops it with a warning)."""
    metadata = image_io.ImageMetadata(icc_profile=_srgb_profile())
    image_io.write_image(tmp_path / "gray.png", np.zeros((8, 8, 1), np.uint8), metadata)
    assert image_io.read_image_with_metadata(tmp_path / "gray.png")[1].icc_profile is None


def test_orientation_reset_changes_only_the_orientation_value():
    block = _exif_with_orientation(6)
    reset = image_io.exif_with_orientation_reset(block)
    assert len(reset) == len(block)
    differing = [i for i, (a, b) in enumerate(zip(block, reset)) if a != b]
    assert differing == [18]  # IFD0 at 8, count 2 bytes, then tag, type, count: value at 18
    assert image_io._exif_orientation(reset) == 1
    assert image_io._exif_orientation(block) == 6
    # Pillow's blocks carry the "Exif\0\0" prefix; the reset drops it.
    assert image_io.exif_with_orientation_reset(b"Exif\x00\x00" + block) == reset


BIT_EXACT_CASES = [(".jpg", 3, np.uint8), (".jpg", 1, np.uint8), (".png", 3, np.uint8),
                   (".png", 4, np.uint16), (".tif", 3, np.uint8), (".tif", 3, np.uint16),
                   (".tif", 1, np.uint16)]


@pytest.mark.parametrize("extension,channels,dtype", BIT_EXACT_CASES)
def test_metadata_leaves_the_encoded_pixels_bit_identical(tmp_path, extension, channels, dtype):
    """Metadata changes the file's bytes, never its decoded pixels (JPEG quality 95 included);
    without metadata the file is byte for byte what OpenCV or tifffile wrote before."""
    image = _random_image((37, 53, channels), dtype, seed=3)
    # Gray images carry EXIF only: an RGB profile does not fit them (see above).
    metadata = image_io.ImageMetadata(exif=_camera_exif(1),
                                      icc_profile=None if channels == 1 else _srgb_profile())
    image_io.write_image(tmp_path / f"with{extension}", image, metadata)
    image_io.write_image(tmp_path / f"without{extension}", image)
    reference = tmp_path / f"reference{extension}"
    if extension == ".tif":
        tifffile.imwrite(reference, image[..., 0] if channels == 1 else image,
                         photometric="minisblack" if channels == 1 else "rgb")
        decode = tifffile.imread
    else:
        order = {1: [0], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[channels]
        cv2.imwrite(str(reference), np.ascontiguousarray(image[..., order]),
                    [cv2.IMWRITE_JPEG_QUALITY, 95] if extension == ".jpg" else [])
        decode = lambda path: cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert (tmp_path / f"without{extension}").read_bytes() == reference.read_bytes()
    np.testing.assert_array_equal(decode(tmp_path / f"with{extension}"), decode(reference))
    assert (tmp_path / f"with{extension}").read_bytes() != reference.read_bytes()
