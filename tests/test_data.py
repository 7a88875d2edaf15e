"""Pair lists, GOPRO's layout, the checks before a run, and the tf.data pipeline."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from srn_tf.data.pairs import (DECODABLE_FORMATS, TRAINING_CHECKS, ImagePair, PairListError,
                               check_pairs, read_datalist, read_gopro)
from srn_tf.data.input_pipeline import crop_pair, decode_image, load_pair, training_dataset
from tests.pair_files import write_constant_pairs, write_image, write_random_pairs


def _batches(dataset):
    return [(blur.numpy(), sharp.numpy()) for blur, sharp in dataset]


def test_relative_paths_resolve_against_the_list_folder_or_data_root(tmp_path):
    image = np.zeros((16, 16, 3), np.uint8)
    for folder in (tmp_path, tmp_path / "abs", tmp_path / "data"):
        for name in ("s.png", "b.png"):
            write_image(str(folder / "a" / name), image)
    absolute = tmp_path / "abs" / "a"
    (tmp_path / "list.txt").write_text(
        f"a/s.png a/b.png\n\n{absolute}/s.png {absolute}/b.png\n")
    assert read_datalist(tmp_path / "list.txt") == [
        ImagePair("a/b.png", str(tmp_path / "a/b.png"), str(tmp_path / "a/s.png")),
        ImagePair(f"{absolute}/b.png", f"{absolute}/b.png", f"{absolute}/s.png")]
    pair = read_datalist(tmp_path / "list.txt", data_root=tmp_path / "data")[0]
    assert (pair.sharp_path, pair.blur_path) == (f"{tmp_path}/data/a/s.png",
                                                 f"{tmp_path}/data/a/b.png")


def test_malformed_lines_are_all_named(tmp_path):
    for name in ("s.png", "b.png"):
        write_image(str(tmp_path / name), np.zeros((16, 16, 3), np.uint8))
    (tmp_path / "list.txt").write_text("one_path.png\ns.png b.png\na b c\n")
    with pytest.raises(PairListError) as error:
        read_datalist(tmp_path / "list.txt")
    assert [p.split(": ")[0] for p in error.value.problems] == [
        f"{tmp_path}/list.txt:1", f"{tmp_path}/list.txt:3"]
    assert error.value.problems[0].endswith("found 1 fields: 'one_path.png'")
    assert str(error.value).splitlines()[0] == f"2 problem(s) in {tmp_path}/list.txt"


def test_empty_list_is_an_error(tmp_path):
    (tmp_path / "list.txt").write_text("\n")
    with pytest.raises(PairListError, match="lists no image pairs"):
        read_datalist(tmp_path / "list.txt")
    with pytest.raises(PairListError, match="missing.txt: no such data list"):
        read_datalist(tmp_path / "missing.txt")


def test_gopro_layout_pairs_each_blurred_frame_with_its_sharp_frame(tmp_path):
    for scene in ("GOPR0001_00_00", "GOPR0002_00_00"):
        for kind in ("blur", "sharp", "blur_gamma"):
            for frame in ("000001.png", "000002.png"):
                write_image(str(tmp_path / "train" / scene / kind / frame),
                            np.zeros((16, 16, 3), np.uint8))
    pairs = read_gopro(tmp_path, split="train", **TRAINING_CHECKS, min_side=16)
    assert len(pairs) == 4
    assert pairs[0] == ImagePair("train/GOPR0001_00_00/blur/000001.png",
                                 str(tmp_path / "train/GOPR0001_00_00/blur/000001.png"),
                                 str(tmp_path / "train/GOPR0001_00_00/sharp/000001.png"))
    assert read_gopro(tmp_path / "train", split="train") == pairs
    gamma = read_gopro(tmp_path, split="train", blur_folder="blur_gamma")
    assert gamma[3].blur_path == str(tmp_path / "train/GOPR0002_00_00/blur_gamma/000002.png")
    with pytest.raises(PairListError, match="no 'test' folder"):
        read_gopro(tmp_path)  # the test split, by default
    with pytest.raises(ValueError, match="split must be one of"):
        read_gopro(tmp_path, split="validation")


def test_every_problem_is_reported_at_once_naming_the_file(tmp_path):
    list_path, _, _ = write_random_pairs(str(tmp_path), 2, 32, 32)
    write_image(str(tmp_path / "big_sharp.png"), np.zeros((48, 32, 3), np.uint8))
    write_image(str(tmp_path / "small.png"), np.zeros((16, 16, 3), np.uint8))
    (tmp_path / "garbage.png").write_bytes(b"not an image at all")
    pairs = read_datalist(list_path) + [
        ImagePair(blur, str(tmp_path / blur), str(tmp_path / sharp)) for sharp, blur in
        [("missing.png", "blur_0.png"), ("big_sharp.png", "blur_1.png"),
         ("small.png", "small.png"), ("sharp_0.png", "garbage.png")]]
    with pytest.raises(PairListError) as error:
        check_pairs(pairs, min_side=32)
    problems = sorted(error.value.problems)
    assert len(problems) == 4
    assert any(p.startswith(f"{tmp_path}/missing.png: no such file") for p in problems)
    assert any(p.startswith(f"{tmp_path}/garbage.png: not a PNG, JPEG") for p in problems)
    assert any(p.startswith(f"{tmp_path}/blur_1.png: is 32x32 but its sharp image") for p in problems)
    assert any(p.startswith(f"{tmp_path}/small.png: is 16x16, smaller than the 32x32 crop")
               for p in problems)
    assert str(error.value).splitlines()[0] == "4 problem(s) in 6 image pair(s)"
    check_pairs(pairs[:2], min_side=32)  # the good pairs pass
    with pytest.raises(PairListError, match="the pair list is empty"):
        check_pairs([])


def test_training_checks_refuse_what_the_training_decoder_cannot_read(tmp_path):
    """TIFF: evaluation reads it, tf.io.decode_image does not."""
    for name in ("sharp.tif", "blur.tif"):
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / name)
    pairs = [ImagePair("blur.tif", str(tmp_path / "blur.tif"), str(tmp_path / "sharp.tif"))]
    check_pairs(pairs)
    with pytest.raises(PairListError) as error:
        check_pairs(pairs, formats=DECODABLE_FORMATS)
    assert error.value.problems == [
        f"{tmp_path}/{name}: TIFF images are not supported (use PNG, JPEG, BMP, GIF)"
        for name in ("blur.tif", "sharp.tif")]


def test_sizes_follow_exif_orientation_unless_the_training_decoder_ignores_it(tmp_path):
    """A quarter turn in EXIF: read_image turns the image, tf.io.decode_image does not."""
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(tmp_path / "sharp.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 48x32, shown 32x48
    Image.fromarray(np.zeros((48, 32, 3), np.uint8)).save(tmp_path / "blur.jpg", exif=exif)
    pairs = [ImagePair("blur.jpg", str(tmp_path / "blur.jpg"), str(tmp_path / "sharp.jpg"))]
    check_pairs(pairs)
    with pytest.raises(PairListError, match="blur.jpg: is 48x32 but its sharp image"):
        check_pairs(pairs, **TRAINING_CHECKS)


@pytest.mark.parametrize("in_dataset_map", [False, True])
def test_png_decodes_to_0_1_at_8_and_16_bits(tmp_path, in_dataset_map):
    rng = np.random.default_rng(0)
    eight = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    sixteen = rng.integers(0, 65536, (8, 8, 3), dtype=np.uint16)
    write_image(str(tmp_path / "8.png"), eight)
    write_image(str(tmp_path / "16.png"), sixteen)
    paths = [str(tmp_path / "8.png"), str(tmp_path / "16.png")]
    if in_dataset_map:
        dataset = tf.data.Dataset.from_tensor_slices(paths).map(
            lambda path: decode_image(tf.io.read_file(path)))
        decoded = [image.numpy() for image in dataset]
    else:
        decoded = [decode_image(tf.io.read_file(path)).numpy() for path in paths]
    # Exactly the release's cast-and-divide (no rounding tolerance needed).
    np.testing.assert_array_equal(decoded[0], eight.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(decoded[1], sixteen.astype(np.float32) / np.float32(65535))


def test_gray_models_read_rgb_to_grayscale(tmp_path):
    list_path, blurs, sharps = write_random_pairs(str(tmp_path), 1, 16, 16)
    pair = read_datalist(list_path)[0]
    blur, sharp = load_pair(tf.constant(pair.sharp_path), tf.constant(pair.blur_path),
                            channels=1)
    expected = tf.image.rgb_to_grayscale(sharps[0].astype(np.float32) / 255.0)
    np.testing.assert_array_equal(sharp.numpy(), expected.numpy())
    assert blur.shape == (16, 16, 1)


def test_crop_of_the_full_size_is_the_identity_and_crops_share_a_place():
    rng = np.random.default_rng(1)
    image = tf.constant(rng.uniform(size=(32, 48, 3)), tf.float32)
    blur, sharp = crop_pair(image, image, 32, seed=tf.constant([3, 4], tf.int64))
    np.testing.assert_array_equal(blur.numpy(), sharp.numpy())  # same place in both
    square = image[:, :32]
    same, _ = crop_pair(square, square, 32, seed=tf.constant([5, 6], tf.int64))
    np.testing.assert_array_equal(same.numpy(), square.numpy())


def test_noshuffle_reads_pairs_in_list_order_cycling_over_epochs(tmp_path):
    list_path = write_constant_pairs(str(tmp_path), [0, 10, 20, 30], 16, 16)
    dataset = training_dataset(read_datalist(list_path), batch_size=3, crop_size=16,
                               channels=3, start_step=0, end_step=3, shuffle=False)
    values = [[round(float(image[0, 0, 0]) * 255) for image in blur] for blur, _ in _batches(dataset)]
    assert values == [[0, 10, 20], [30, 0, 10], [20, 30, 0]]


def test_shuffling_permutes_each_epoch_by_seed(tmp_path):
    list_path = write_constant_pairs(str(tmp_path), [0, 10, 20, 30, 40, 50], 16, 16)
    pairs = read_datalist(list_path)

    def order(seed):
        dataset = training_dataset(pairs, batch_size=6, crop_size=16, channels=3,
                                   start_step=0, end_step=2, seed=seed, shuffle=True)
        return [[round(float(image[0, 0, 0]) * 255) for image in blur]
                for blur, _ in _batches(dataset)]

    first = order(seed=7)
    assert all(sorted(epoch) == [0, 10, 20, 30, 40, 50] for epoch in first)
    assert first[0] != first[1]  # a new permutation each epoch
    assert order(seed=7) == first
    assert order(seed=8) != first


def test_a_pipeline_started_at_a_later_step_reads_the_same_batches(tmp_path):
    list_path, _, _ = write_random_pairs(str(tmp_path), 5, 48, 48)
    pairs = read_datalist(list_path)
    settings = dict(batch_size=2, crop_size=32, channels=3, seed=3, shuffle=True, augment=True)
    whole = _batches(training_dataset(pairs, start_step=0, end_step=6, **settings))
    tail = _batches(training_dataset(pairs, start_step=4, end_step=6, **settings))
    for (blur, sharp), (blur_again, sharp_again) in zip(whole[4:], tail):
        np.testing.assert_array_equal(blur, blur_again)
        np.testing.assert_array_equal(sharp, sharp_again)
    assert whole[0][0].shape == (2, 32, 32, 3)


def test_distributed_inputs_split_each_global_batch_in_order(tmp_path):
    list_path = write_constant_pairs(str(tmp_path), list(range(0, 80, 10)), 16, 16)
    pairs = read_datalist(list_path)
    settings = dict(batch_size=4, crop_size=16, channels=3, start_step=0, end_step=2,
                    shuffle=False)
    whole = _batches(training_dataset(pairs, **settings))
    for worker in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=worker,
                                             num_replicas_in_sync=2)
        part = _batches(training_dataset(pairs, input_context=context, **settings))
        for step in range(2):
            np.testing.assert_array_equal(part[step][0], whole[step][0][2 * worker:2 * worker + 2])
