"""Reading and writing images: formats, bit depths, channel order, orientation, errors."""

import dataclasses
import functools
import os
import re
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
    with pytest.raises(ValueError, match=r"broken\.png: not a PNG, JPEG, BMP, WebP or TIFF image "
                       r"\(unrecognised or corrupt header\)") as info:
        image_io.read_image(path)
    assert "\n" not in str(info.value)


def test_corrupt_tiff_is_a_one_line_error_naming_it(tmp_path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"II*\x00garbage")
    with pytest.raises(ValueError, match=r"broken\.tif: not a readable TIFF"):
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
    assert image_io.exif_orientation(reset) == 1
    assert image_io.exif_orientation(block) == 6
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


# --- The one decoder: headers first, a pixel limit, every failure one line ---------------

from tests import bad_inputs  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return bad_inputs.write_corpus(tmp_path_factory.mktemp("corpus"))


def test_every_bad_file_is_one_line_naming_it(corpus):
    _, bad, _ = corpus
    for name, path in bad.items():
        with pytest.raises(ValueError) as info:
            image_io.read_image(path)
        message = str(info.value)
        assert message.startswith(path + ": ") and "\n" not in message, (name, message)


@pytest.mark.parametrize("name,reason", [
    ("truncated.png", "truncated PNG"), ("truncated.jpg", "truncated JPEG"),
    ("truncated.tif", "cannot be decoded"), ("empty.png", "empty file"),
    ("text.jpg", "not a PNG, JPEG, BMP, WebP or TIFF image"),
    ("bad_crc.png", "bad CRC in its IDAT chunk"),
    ("odd_layout_16bit.tif", "unsupported TIFF layout"),
    ("animated.webp", "an animation (2 frames)"),
    ("bomb.png", "60000x60000 (3600.0 megapixels) is above the limit of 200 megapixels "
                 "(raise it with --max_megapixels)"),
])
def test_each_bad_file_says_what_is_wrong(corpus, name, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        image_io.read_image(corpus[1][name])


def test_good_odd_files_are_read(corpus):
    good, _, _ = corpus
    assert image_io.read_image(good["one_pixel.png"]).shape == (1, 1, 3)
    webp = image_io.read_image(good["fine.webp"])
    # Written lossless by Pillow from this crop: identical pixels.
    np.testing.assert_array_equal(webp, bad_inputs.photo(offset=7))


def test_cmyk_jpeg_is_read_as_rgb_not_as_rgba(corpus):
    from PIL import Image

    image = image_io.read_image(corpus[0]["cmyk.jpg"])
    assert image.shape == (bad_inputs.SIZE, bad_inputs.SIZE, 3)
    with Image.open(corpus[0]["cmyk.jpg"]) as cmyk:
        expected = np.asarray(cmyk.convert("RGB")).astype(int)
    # libjpeg (OpenCV) and Pillow convert CMYK to RGB alike, up to rounding of a level
    # or two after their own inverse DCTs; a K channel taken as alpha or an
    # uninverted Adobe CMYK would be off by far more (tens of levels on average).
    assert np.abs(image.astype(int) - expected).mean() < 2


def test_the_pixel_limit_is_checked_from_the_header_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    image_io.write_image(path, np.zeros((1000, 3000, 3), np.uint8))  # 3 megapixels
    decoded = []
    monkeypatch.setattr(cv2, "imdecodeWithMetadata",
                        lambda *args: decoded.append(args) or (None, [], []))
    with pytest.raises(ValueError, match=r"big\.png: 3000x1000 \(3\.0 megapixels\) is above "
                                         r"the limit of 2\.5 megapixels \(raise it with "
                                         r"--max_megapixels\)"):
        image_io.read_image(path, max_megapixels=2.5)
    assert decoded == []
    monkeypatch.undo()
    assert image_io.read_image(path, max_megapixels=3.0).shape == (1000, 3000, 3)


def test_the_default_limit_takes_a_150_megapixel_photo_but_not_the_bomb():
    medium_format = image_io.ImageHeader(10652, 14204, 3, 1, "JPEG")  # 151.3 MP
    assert image_io.pixel_limit_error("a.jpg", medium_format,
                                      image_io.DEFAULT_MAX_MEGAPIXELS) is None
    bomb = image_io.ImageHeader(60000, 60000, 3, 1, "PNG")
    assert "--max_megapixels" in image_io.pixel_limit_error("b.png", bomb,
                                                            image_io.DEFAULT_MAX_MEGAPIXELS)


def test_a_limit_raised_past_opencvs_cap_still_refuses_with_the_reason():
    huge = image_io.ImageHeader(40000, 30000, 3, 1, "PNG")  # 1200 MP, above 2**30 pixels
    message = image_io.pixel_limit_error("huge.png", huge, max_megapixels=5000)
    assert message == ("huge.png: 30000x40000 (1200.0 megapixels) is above the 1073.74 "
                       "megapixels OpenCV decodes (PNG; save it as TIFF to read it)")
    assert image_io.pixel_limit_error("huge.tif", dataclasses.replace(huge, format="TIFF"),
                                      max_megapixels=5000) is None


def test_the_bomb_header_is_refused_with_the_limit_raised_too(corpus):
    # 3600 MP is above OpenCV's own cap: the refusal says so instead of OpenCV's assertion.
    with pytest.raises(ValueError, match=r"bomb\.png: .* above the 1073\.74 megapixels OpenCV"):
        image_io.read_image(corpus[1]["bomb.png"], max_megapixels=None)


def test_decoder_errors_become_one_line_value_errors(tmp_path, monkeypatch):
    path = tmp_path / "fine.png"
    image_io.write_image(path, np.zeros((8, 8, 3), np.uint8))

    def fail(*args):
        raise cv2.error("OpenCV(5.1.0) loadsave.cpp:99: error: (-215:Assertion failed)\n"
                        "pixels <= CV_IO_MAX_IMAGE_PIXELS in function 'validateInputImageSize'")

    monkeypatch.setattr(cv2, "imdecodeWithMetadata", fail)
    with pytest.raises(ValueError, match=r"fine\.png: cannot be decoded \(OpenCV") as info:
        image_io.read_image(path)
    assert "\n" not in str(info.value)


HEADER_CASES = [  # (Pillow mode, extension, save options) -> channels read_image returns
    ("L", ".png", {}), ("LA", ".png", {}), ("P", ".png", {}), ("RGB", ".png", {}),
    ("RGBA", ".png", {}), ("P", ".png", {"transparency": 0}), ("1", ".png", {}),
    ("RGB", ".png", {"transparency": (0, 0, 0)}), ("L", ".jpg", {}), ("RGB", ".jpg", {}),
    ("CMYK", ".jpg", {}), ("L", ".bmp", {}), ("P", ".bmp", {}), ("RGB", ".bmp", {}),
    ("RGB", ".webp", {"lossless": True}), ("RGBA", ".webp", {"lossless": True}),
]


@pytest.mark.parametrize("mode,extension,options", HEADER_CASES)
def test_header_agrees_with_the_decoded_image(tmp_path, mode, extension, options):
    from PIL import Image

    rgba = _random_image((12, 20, 4), np.uint8)
    path = tmp_path / f"image{extension}"
    Image.fromarray(rgba).convert(mode).save(path, **options)
    image = image_io.read_image(path)
    header = image_io.read_header(path)
    assert (header.height, header.width, header.channels, header.bytes_per_sample) == (
        *image.shape, image.dtype.itemsize)


@pytest.mark.parametrize("extension,channels", [(".png", 1), (".png", 3), (".png", 4),
                                                (".tif", 1), (".tif", 3), (".tif", 4)])
def test_header_of_16_bit_images_says_two_bytes(tmp_path, extension, channels):
    path = tmp_path / f"deep{extension}"
    image_io.write_image(path, _random_image((10, 14, channels), np.uint16))
    header = image_io.read_header(path)
    assert (header.height, header.width, header.channels, header.bytes_per_sample) == (
        10, 14, channels, 2)


@pytest.mark.parametrize("extension", [".jpg", ".png", ".webp"])
def test_header_size_is_turned_by_exif_orientation_as_read_image_is(tmp_path, extension):
    path = str(tmp_path / f"turned{extension}")
    blob = np.frombuffer(_exif_with_orientation(6), np.uint8)
    assert cv2.imwriteWithMetadata(path, _random_image((10, 30, 3), np.uint8),
                                   [cv2.IMAGE_METADATA_EXIF], [blob])
    header = image_io.read_header(path)
    assert (header.height, header.width) == image_io.read_image(path).shape[:2] == (30, 10)


def test_header_of_the_bomb_is_read_without_decoding(corpus):
    header = image_io.read_header(corpus[1]["bomb.png"])
    assert (header.height, header.width, header.channels) == (60000, 60000, 3)


def test_webp_round_trips_losslessly_with_alpha(tmp_path):
    image = _random_image((20, 30, 4), np.uint8)
    image_io.write_image(tmp_path / "out.webp", image)
    np.testing.assert_array_equal(image_io.read_image(tmp_path / "out.webp"), image)


def test_webp_is_listed_and_other_image_types_are_listed_as_unsupported(tmp_path):
    for name in ("a.webp", "b.png", "c.gif", "d.HEIC", "e.cr2", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [relative for _, relative in image_io.list_images(tmp_path)] == ["a.webp", "b.png"]
    assert [os.path.basename(path) for path in image_io.list_unsupported_images(tmp_path)] == [
        "c.gif", "d.HEIC", "e.cr2"]
