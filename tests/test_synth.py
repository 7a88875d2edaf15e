"""srn-synth: aligned pairs, blur that grows with the path, reproducible files, GOPRO layout."""

import dataclasses
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from srn_tf.data.synth import dataset, dead_leaves, render, sources, trajectory

LINEAR_LIGHT = render.CameraResponse("linear")
GAMMA = render.CameraResponse("gamma", 2.2)


def photo_crop(height=96, width=128):
    """A crop of scikit-image's cat photo: real texture, small enough to be fast."""
    chelsea, = [photo for photo in sources.skimage_sources() if photo.name == "chelsea"]
    return chelsea.load()[60:60 + height, 150:150 + width].copy()


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return np.inf if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def correlation_peak(sharp, blurred):
    """(dx, dy) of the cross-correlation maximum of two RGB images (zero-mean, Hann-windowed)."""
    planes = []
    for image in (sharp, blurred):
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
        gray = (gray - gray.mean()) * cv2.createHanningWindow(gray.shape[::-1], cv2.CV_64F)
        planes.append(np.fft.fft2(gray))
    correlation = np.real(np.fft.ifft2(planes[1] * np.conj(planes[0])))
    dy, dx = np.unravel_index(np.argmax(correlation), correlation.shape)
    height, width = correlation.shape
    return (dx + width // 2) % width - width // 2, (dy + height // 2) % height - height // 2


def centroid(image):
    """(x, y) centre of mass of a one-channel image."""
    total = image.sum()
    ys, xs = np.indices(image.shape)
    return (xs * image).sum() / total, (ys * image).sum() / total


def point_image(size=41):
    """Black (size, size, 3) uint8 with one white pixel in the centre: its blur is the PSF."""
    image = np.zeros((size, size, 3), np.uint8)
    image[size // 2, size // 2] = 255
    return image


def write_sources(folder, names=("alpha", "beta", "gamma"), height=40, width=56):
    """Writes small textured PNGs (a photo crop, shifted per name) as a source folder."""
    os.makedirs(folder, exist_ok=True)
    photo = photo_crop(120, 160)
    for index, name in enumerate(names):
        crop = photo[index * 10:index * 10 + height, index * 12:index * 12 + width]
        cv2.imwrite(os.path.join(folder, f"{name}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    return folder


def read_tree(folder):
    """{relative path: bytes} of every file under `folder`."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, folder)] = handle.read()
    return files


# --- Camera paths -----------------------------------------------------------

def test_middle_pose_is_the_identity_and_path_length_is_its_arc_length():
    poses = trajectory.camera_path(20.0, heading=0.3, turn=1.0, rotation=0.02, num_frames=15)
    assert poses.shape == (15, 3)
    np.testing.assert_array_equal(poses[7], [0.0, 0.0, 0.0])
    # Chords of 15 samples of an arc turning 1 rad are shorter than the arc by
    # about (1/14)^2 / 24 = 2e-4 relative, so 1e-3.
    polyline = np.sum(np.hypot(*np.diff(poses[:, :2], axis=0).T))
    assert polyline == pytest.approx(20.0, rel=1e-3)
    np.testing.assert_allclose([poses[0, 2], poses[-1, 2]], [-0.01, 0.01], atol=1e-12)


def test_even_burst_is_refused_because_it_has_no_middle_frame():
    with pytest.raises(ValueError, match="odd"):
        trajectory.PathParameters(frames_per_burst=8)


def test_random_paths_stay_within_their_parameter_ranges():
    rng = np.random.default_rng(0)
    parameters = trajectory.PathParameters(frames_per_burst=9, min_length=4, max_length=12,
                                           max_turn_degrees=0, max_rotation_degrees=2)
    for _ in range(20):
        poses, length = trajectory.random_camera_path(rng, parameters)
        assert 4 <= length <= 12
        # Straight (max_turn 0): end-to-end distance equals the length (float64 rounding).
        assert np.hypot(*(poses[-1, :2] - poses[0, :2])) == pytest.approx(length, rel=1e-9)
        assert abs(poses[-1, 2] - poses[0, 2]) <= np.deg2rad(2) + 1e-12


def test_shaky_paths_have_their_length_a_middle_identity_and_uneven_jagged_steps():
    rng = np.random.default_rng(0)
    parameters = trajectory.PathParameters(frames_per_burst=31, min_length=10, max_length=30,
                                           max_turn_degrees=90, max_rotation_degrees=1)
    for _ in range(20):
        poses, length = trajectory.random_shaky_path(rng, parameters)
        assert poses.shape == (31, 3) and 10 <= length <= 30
        np.testing.assert_array_equal(poses[15], [0.0, 0.0, 0.0])
        steps = np.diff(poses[:, :2], axis=0)
        step_lengths = np.hypot(*steps.T)
        assert step_lengths.sum() == pytest.approx(length, rel=1e-9)
        assert np.abs(poses[:, 2]).max() <= np.deg2rad(1) + 1e-12
        # Uneven speed: gamma(2) steps spread far more than a smooth arc's equal ones.
        assert step_lengths.std() / step_lengths.mean() > 0.2
        # Jagged: the direction changes between consecutive steps, unlike an arc's
        # constant turn rate (which makes these differences all equal).
        turns = np.diff(np.unwrap(np.arctan2(steps[:, 1], steps[:, 0])))
        assert turns.std() > 0.05


def test_mixed_blur_is_reproducible_and_differs_from_a_single_kind(tmp_path):
    options = dict(source="skimage", pairs_per_image=6, crop_size=32, max_side=128,
                   frames_per_burst=5, test_fraction=0, seed=5, report=lambda line: None)
    for name, kind in (("a", "mixed"), ("b", "mixed"), ("c", "trajectory")):
        dataset.synthesize_dataset(tmp_path / name, blur_kind=kind, **options)
    mixed, again, smooth = (read_tree(tmp_path / name) for name in "abc")
    assert mixed == again
    blurs = [name for name in mixed if "/blur/" in name]
    assert sum(mixed[name] != smooth[name] for name in blurs) > len(blurs) // 3


# --- Rendering: alignment ----------------------------------------------------

def test_middle_frame_of_a_burst_is_the_sharp_crop_exactly():
    linear = GAMMA.to_linear(photo_crop() / 255.0)
    poses, _ = trajectory.random_camera_path(np.random.default_rng(1), trajectory.PathParameters())
    frames = render.render_frames(linear, poses, output_size=(40, 50), offset=(9, 13))
    np.testing.assert_array_equal(frames[7], linear[13:53, 9:59])
    assert not np.array_equal(frames[0], frames[7])


@pytest.mark.parametrize("kind", ["trajectory", "linear"])
def test_rendering_a_crop_equals_cropping_the_whole_rendering(kind):
    # Away from the borders (path <= 10 px, crop >= 20 px inside), a crop rendered
    # from the whole image must be the same pixels as the whole image rendered and
    # cropped: the offset only moves the window. No rotation: it turns about the
    # crop's own centre. cv2.filter2D may use a DFT for large kernels, whose
    # float32 rounding depends on the image size, so one level of 255 may flip;
    # a window off by a pixel differs by tens of levels on this texture.
    image = photo_crop()
    offset, size = (30, 20), (48, 64)
    rng = np.random.default_rng
    if kind == "linear":
        whole = render.blur_linear(image, 10.0, 0.5, GAMMA, rng(0), 0.0)
        crop = render.blur_linear(image, 10.0, 0.5, GAMMA, rng(0), 0.0, size, offset)
    else:
        poses = trajectory.camera_path(10.0, heading=0.5, turn=1.0, num_frames=9)
        whole = render.blur_along_path(image, poses, GAMMA, rng(0), 0.0)
        crop = render.blur_along_path(image, poses, GAMMA, rng(0), 0.0, size, offset)
    np.testing.assert_allclose(crop.astype(int), whole[20:68, 30:94].astype(int), atol=1)
    assert np.abs(crop.astype(int) - whole[21:69, 30:94]).max() > 10


@pytest.mark.parametrize("kind", ["trajectory", "linear"])
def test_blur_of_a_point_is_centred_on_it_for_straight_motion(kind):
    rng = np.random.default_rng(0)
    if kind == "linear":
        blurred = render.blur_linear(point_image(), 13.0, 0.7, LINEAR_LIGHT, rng, 0.0)
    else:
        poses = trajectory.camera_path(13.0, heading=0.7, num_frames=15)
        blurred = render.blur_along_path(point_image(), poses, LINEAR_LIGHT, rng, 0.0)
    psf = blurred[..., 0].astype(np.float64)
    # Symmetric motion about the middle frame: the centroid is the point. Each
    # pixel is rounded to 8 bits (error <= 0.5 of ~255 in total), so 0.05 px.
    np.testing.assert_allclose(centroid(psf), (20.0, 20.0), atol=0.05)
    extent = np.argwhere(psf > 0)
    assert np.ptp(extent[:, 1]) >= 8  # really spread along the path, not a dot


def test_blur_of_a_point_along_a_curved_path_passes_through_the_point():
    poses = trajectory.camera_path(16.0, heading=0.0, turn=np.pi, rotation=0.0, num_frames=15)
    blurred = render.blur_along_path(point_image(), poses, LINEAR_LIGHT,
                                     np.random.default_rng(0), 0.0)
    psf = blurred[..., 0].astype(np.float64)
    # The middle frame puts 1/15 of the point's 255 exactly on it; neighbouring
    # frames are >= 1 px away, so the centre holds at least 255/15 (minus rounding).
    assert psf[20, 20] >= 255 / 15 - 0.5
    # A half-turn bows the path to one side: the centroid is off the point,
    # which is why alignment means "sharp = middle frame", not "centred PSF".
    assert np.hypot(*(np.array(centroid(psf)) - 20.0)) > 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_correlation_of_blur_and_sharp_peaks_at_zero_shift(seed):
    # In linear light the blurred image is the sharp one convolved with a kernel
    # symmetric about the middle frame, so the correlation is the photo's
    # autocorrelation (peaked at 0) smoothed symmetrically: its peak stays at 0.
    # (Re-encoding with a gamma weights bright details more, which can move the
    # peak of a long, flat correlation by a pixel without any misalignment.)
    sharp = photo_crop()
    rng = np.random.default_rng(seed)
    parameters = trajectory.PathParameters(min_length=8, max_length=20, max_turn_degrees=0)
    poses, _ = trajectory.random_camera_path(rng, parameters)
    blurred = render.blur_along_path(sharp, poses, LINEAR_LIGHT, rng, 0.0)
    assert correlation_peak(sharp, blurred) == (0, 0)
    # The check can fail: the same blur shifted by 2 px peaks 2 px away.
    assert correlation_peak(sharp, np.roll(blurred, 2, axis=1)) == (2, 0)


# --- Rendering: strength and light --------------------------------------------

@pytest.mark.parametrize("kind", ["trajectory", "shake", "linear"])
def test_blur_grows_with_path_length(kind):
    sharp = photo_crop()
    scores = []
    for length in [0.0, 2.0, 4.0, 8.0, 16.0, 32.0]:
        rng = np.random.default_rng(0)
        if kind == "linear":
            blurred = render.blur_linear(sharp, length, 0.4, GAMMA, rng, 0.0)
        elif kind == "shake":  # one shape (same seed), scaled to each length
            parameters = trajectory.PathParameters(31, length, length, 90.0, 0.0)
            poses, _ = trajectory.random_shaky_path(np.random.default_rng(3), parameters)
            blurred = render.blur_along_path(sharp, poses, GAMMA, rng, 0.0)
        else:
            poses = trajectory.camera_path(length, 0.4, turn=0.5, rotation=length * 1e-3,
                                           num_frames=31)
            blurred = render.blur_along_path(sharp, poses, GAMMA, rng, 0.0)
        scores.append(psnr(blurred, sharp))
    assert scores[0] == np.inf  # no motion, no noise: the sharp image itself
    assert all(a > b for a, b in zip(scores, scores[1:])), scores


@pytest.mark.parametrize("kind", ["gamma", "srgb", "linear"])
def test_camera_response_round_trips(kind):
    response = render.CameraResponse(kind)
    values = np.linspace(0, 1, 1001, dtype=np.float32)
    # float32 powers: ~1e-6 relative error.
    np.testing.assert_allclose(response.from_linear(response.to_linear(values)), values, atol=1e-5)


def test_averaging_in_linear_light_brightens_a_moving_edge_like_a_camera():
    # Half black, half white, moved by a burst: the 50% mix of light is encoded
    # as 0.5 ** (1 / 2.2) = 0.73 (186 of 255), not 128, when averaged in linear light.
    image = np.zeros((8, 8, 3), np.uint8)
    image[:, 4:] = 255
    rng = np.random.default_rng(0)
    blurred = render.blur_linear(image, 20.0, 0.0, GAMMA, rng, 0.0)
    edge_mix = blurred[4, 3, 0]
    # Pixel 3 sees 9 of the line's 20 px black, 11 white (reflect borders are far).
    assert 170 <= edge_mix <= 200


def test_noise_has_the_requested_strength():
    flat = np.full((64, 64, 3), 128, np.uint8)
    blurred = render.blur_linear(flat, 5.0, 0.0, GAMMA, np.random.default_rng(0), 0.02)
    # 12288 samples: the standard deviation estimate is within ~1% (rounding adds 1/12 level^2).
    assert np.std(blurred.astype(np.float64) / 255.0) == pytest.approx(0.02, rel=0.05)


# --- Sources ------------------------------------------------------------------

def test_skimage_photos_load_offline_as_rgb_images():
    photos = sources.skimage_sources()
    assert [photo.name for photo in photos] == sorted(sources.SKIMAGE_PHOTOS)
    colour = set()
    for photo in photos:
        image = photo.load()
        assert image.dtype == np.uint8 and image.shape == (photo.height, photo.width, 3)
        assert min(image.shape[:2]) >= 256
        if np.abs(image[..., 0].astype(int) - image[..., 2]).mean() > 5:
            colour.add(photo.name)
        else:  # a gray photograph, repeated into three equal channels
            assert np.array_equal(image[..., 0], image[..., 2]), photo.name
    assert colour == {"astronaut", "chelsea", "coffee", "motorcycle", "rocket"}


@pytest.mark.parametrize("problem", ["missing", "empty", "no_images", "none_readable"])
def test_bad_source_folder_is_a_clear_error_and_writes_nothing(tmp_path, problem):
    folder = tmp_path / "sharp"
    if problem != "missing":
        folder.mkdir()
    if problem == "no_images":
        (folder / "notes.txt").write_text("not an image")
    if problem == "none_readable":
        (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    expected = {"missing": "no such folder", "empty": "no images", "no_images": "no images",
                "none_readable": "none of its 1 images can be read: broken.png: "}[problem]
    with pytest.raises(sources.SourceError, match=expected) as error:
        dataset.synthesize_dataset(tmp_path / "out", sharp_dir=folder, report=lambda line: None)
    assert str(folder) in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_an_unreadable_source_is_reported_and_left_out(tmp_path):
    """A source that does not decode, or is above max_megapixels, is reported in one line
    naming it and left out; the dataset is made from the others and its config lists it."""
    folder = write_sources(tmp_path / "sharp", names=("alpha", "beta"))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    skipped = []
    pairs = dataset.synthesize_dataset(
        tmp_path / "out", sharp_dir=folder, test_fraction=0, report=lambda line: None,
        report_unreadable=skipped.append)
    assert len(skipped) == 1 and skipped[0].startswith(f"{folder / 'broken.png'}: corrupt")
    assert sorted(sharp.split("/")[1] for sharp, _ in pairs["train"]) == ["alpha", "beta"]
    with open(tmp_path / "out" / dataset.CONFIG_FILE) as handle:
        assert json.load(handle)["unreadable_sources"] == skipped
    skipped.clear()
    write_sources(folder, names=("wide",), height=80, width=112)
    pairs = dataset.synthesize_dataset(
        tmp_path / "out2", sharp_dir=folder, test_fraction=0, max_megapixels=40 * 56 / 1e6,
        report=lambda line: None, report_unreadable=skipped.append)
    assert skipped[1] == (f"{folder / 'wide.png'}: 112x80 (0.0 megapixels) is above the limit "
                          "of 0.00224 megapixels (raise it with --max_megapixels)"), skipped
    assert sorted(sharp.split("/")[1] for sharp, _ in pairs["train"]) == ["alpha", "beta"]


# --- Dataset -------------------------------------------------------------------

def test_layout_lists_and_split_follow_gopro(tmp_path):
    lines = []
    pairs = dataset.synthesize_dataset(
        tmp_path / "out", sharp_dir=write_sources(tmp_path / "sharp"), pairs_per_image=2,
        test_images=["beta"], crop_size=32, frames_per_burst=5, report=lines.append)
    out = tmp_path / "out"
    assert len(lines) == 3 and lines[1].startswith("[2/3] beta -> test/beta: 2 pairs of 32x32")
    train = (out / "train_list.txt").read_text().splitlines()
    test = (out / "test_list.txt").read_text().splitlines()
    assert train == [f"train/{scene}/sharp/{n:06d}.png train/{scene}/blur/{n:06d}.png"
                     for scene in ("alpha", "gamma") for n in range(2)]
    assert test == [f"test/beta/sharp/{n:06d}.png test/beta/blur/{n:06d}.png" for n in range(2)]
    assert [" ".join(pair) for pair in pairs["train"]] == train
    for line in train + test:
        sharp, blurred = (cv2.imread(str(out / path)) for path in line.split(" "))
        assert sharp.shape == blurred.shape == (32, 32, 3)
    assert sorted(os.listdir(out)) == ["synth_config.json", "test", "test_list.txt", "train",
                                       "train_list.txt"]
    assert not [name for name in read_tree(out) if ".tmp" in name]


def test_test_fraction_holds_out_whole_source_images(tmp_path):
    names = tuple(f"scene{i}" for i in range(5))
    pairs = dataset.synthesize_dataset(
        tmp_path / "out", sharp_dir=write_sources(tmp_path / "sharp", names), test_fraction=0.4,
        frames_per_burst=3, seed=5, report=lambda line: None)
    scenes = {split: {path.split("/")[1] for path, _ in pairs[split]} for split in pairs}
    assert len(scenes["test"]) == 2 and len(scenes["train"]) == 3
    assert not scenes["test"] & scenes["train"]


def test_split_rejects_unknown_or_all_test_images():
    with pytest.raises(ValueError, match="not among the sources: nope"):
        dataset.split_scenes(["a", "b"], 0, test_names=["nope"])
    with pytest.raises(ValueError, match="none is left for training"):
        dataset.split_scenes(["a", "b"], 0, test_names=["a", "b"])
    assert dataset.split_scenes(["a"], 0, test_fraction=0.5) == (["a"], [])


def test_same_seed_gives_identical_files_and_another_seed_different_ones(tmp_path):
    sharp_dir = write_sources(tmp_path / "sharp")
    options = dict(sharp_dir=sharp_dir, pairs_per_image=2, crop_size=24, min_scale=0.7,
                   frames_per_burst=7, report=lambda line: None)
    dataset.synthesize_dataset(tmp_path / "a", seed=3, **options)
    dataset.synthesize_dataset(tmp_path / "b", seed=3, **options)
    dataset.synthesize_dataset(tmp_path / "c", seed=4, **options)
    first, again, other = (read_tree(tmp_path / name) for name in "abc")
    assert first == again
    blurs = [name for name in first if "/blur/" in name]
    assert len(blurs) == 6
    assert all(first[name] != other.get(name) for name in blurs)


@pytest.mark.parametrize("response", ["gamma", "srgb"])
def test_written_sharp_image_is_the_middle_frame_after_rescale_and_crop(tmp_path, response):
    # A one-frame burst is only its middle frame: through random rescales, crops,
    # and the camera response there and back (float32, < 1e-5 before rounding to
    # 8 bits), the blurred file must equal the sharp file pixel for pixel.
    pairs = dataset.synthesize_dataset(
        tmp_path / "out", source="skimage", pairs_per_image=2, crop_size=64, max_side=200,
        min_scale=0.7, frames_per_burst=1, min_length=20, max_length=30, noise_sigma=0.0,
        response=response, test_fraction=0, report=lambda line: None)
    for sharp_path, blur_path in pairs["train"]:
        sharp, blurred = (cv2.imread(str(tmp_path / "out" / path))
                          for path in (sharp_path, blur_path))
        np.testing.assert_array_equal(blurred, sharp, err_msg=blur_path)


def brightening_of_blur(response, pairs=12):
    """Mean (blurred - sharp) grey levels of `pairs` pairs of a black-and-white checkerboard.

    Averaging black and white in linear light (x**2.2) gives 0.73 of white, not
    0.5, so a gamma response brightens a blurred checkerboard by tens of levels;
    averaging the 8-bit values leaves its mean where it was.
    """
    checkerboard = np.kron(np.indices((8, 8)).sum(axis=0) % 2, np.ones((8, 8)))
    image = np.repeat((checkerboard * 255).astype(np.uint8)[..., None], 3, axis=2)
    rng = np.random.default_rng(5)
    path_parameters = trajectory.PathParameters(9, 16.0, 24.0, 0.0, 0.0)
    return [float(blurred.mean()) - float(sharp.mean()) for sharp, blurred, _ in (
        dataset.make_pair(image, rng, path_parameters, response, 0.0, "linear", 32, 0, 1.0)
        for _ in range(pairs))]


def test_mixed_response_draws_linear_light_or_encoded_averaging_for_each_pair():
    gamma, linear = (render.CameraResponse(kind) for kind in dataset.DRAWN_RESPONSES)
    # Thresholds: a 16-24 px blur of 8 px squares mixes black and white nearly
    # everywhere (gamma: about +50 levels); encoded averaging moves the mean of
    # a 32 px crop only by the checkerboard's uneven share of the crop (< 8).
    assert all(shift > 20 for shift in brightening_of_blur(gamma))
    assert all(abs(shift) < 8 for shift in brightening_of_blur(linear))
    mixed = brightening_of_blur((gamma, linear))
    assert all(shift > 20 or abs(shift) < 8 for shift in mixed)
    assert any(shift > 20 for shift in mixed) and any(abs(shift) < 8 for shift in mixed)


def test_mixed_response_is_recorded_and_reproducible(tmp_path):
    options = dict(sharp_dir=write_sources(tmp_path / "sharp"), pairs_per_image=2,
                   frames_per_burst=5, response="mixed", report=lambda line: None)
    dataset.synthesize_dataset(tmp_path / "a", **options)
    dataset.synthesize_dataset(tmp_path / "b", **options)
    assert read_tree(tmp_path / "a") == read_tree(tmp_path / "b")
    assert '"response": "mixed"' in (tmp_path / "a" / dataset.CONFIG_FILE).read_text()
    with pytest.raises(ValueError, match="response must be one of gamma, srgb, linear, mixed"):
        dataset.synthesize_dataset(tmp_path / "c", **{**options, "response": "log"})
    assert not (tmp_path / "c").exists()


def test_crop_larger_than_an_image_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match=r"alpha \(40x56\)"):
        dataset.synthesize_dataset(tmp_path / "out", sharp_dir=write_sources(tmp_path / "sharp"),
                                   crop_size=48, report=lambda line: None)
    assert not (tmp_path / "out").exists()


def test_a_non_empty_output_folder_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        dataset.synthesize_dataset(tmp_path / "out", sharp_dir=write_sources(tmp_path / "sharp"),
                                   report=lambda line: None)


# --- Dead leaves -------------------------------------------------------------

def test_leaf_radii_follow_the_inverse_cube_law_within_their_bounds():
    radii = dead_leaves.leaf_radii(np.random.default_rng(0), 200_000, 2.0, 100.0)
    assert radii.min() >= 2.0 and radii.max() <= 100.0
    # P(r <= x) = (2**-2 - x**-2) / (2**-2 - 100**-2); 200k draws put each empirical
    # fraction within 0.005 of it (binomial sd at most 0.0012).
    for x in (2.5, 4.0, 10.0, 40.0):
        expected = (2.0 ** -2 - x ** -2) / (2.0 ** -2 - 100.0 ** -2)
        assert abs(np.mean(radii <= x) - expected) < 0.005, x


def test_dead_leaves_image_is_reproducible_covered_and_has_edges_of_every_orientation():
    image = dead_leaves.dead_leaves_image(np.random.default_rng([7, 2, 0]), 128)
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(
        image, dead_leaves.dead_leaves_image(np.random.default_rng([7, 2, 0]), 128))
    assert not np.array_equal(
        image, dead_leaves.dead_leaves_image(np.random.default_rng([7, 2, 1]), 128))
    # Covered by many leaves: no colour fills more than 10% (an uncovered canvas,
    # filled with one colour, would), and hundreds of colours appear.
    colours, counts = np.unique(image.reshape(-1, 3), axis=0, return_counts=True)
    assert counts.max() < 0.1 * image.shape[0] * image.shape[1] and len(colours) > 300
    # Edges of every orientation: each 30-degree bin holds at least 5% of the
    # strong gradients (a uniform spread gives 16.7%).
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    magnitude = np.hypot(gx, gy)
    angles = np.degrees(np.arctan2(gy, gx))[magnitude > np.percentile(magnitude, 90)] % 180
    histogram, _ = np.histogram(angles, bins=6, range=(0, 180))
    assert histogram.min() > 0.05 * histogram.sum(), histogram


def test_grain_fields_are_centred_blend_weights_smoother_at_larger_scales():
    fields = dead_leaves.grain_fields(np.random.default_rng(0), 256)
    assert len(fields) == len(dead_leaves.GRAIN_SIGMAS)
    correlations = []
    for field in fields:
        assert field.min() >= 0.0 and field.max() <= 1.0
        # Mean 0.5 and sd 0.25 before clipping at 2 sd; 256x256 samples smoothed by
        # at most 8 px still hold hundreds of independent ones: mean within 0.05.
        assert abs(field.mean() - 0.5) < 0.05 and 0.2 < field.std() < 0.26
        correlations.append(np.corrcoef(field[:, :-4].ravel(), field[:, 4:].ravel())[0, 1])
    # Pixels 4 apart correlate more as the grain coarsens: exp(-d**2 / 4 sigma**2) for
    # sigma 1, 2, 4 and 8 canvas pixels gives 0.02, 0.37, 0.78 and 0.94.
    assert np.all(np.diff(correlations) > 0.1), correlations


def fine_detail(image):
    """Mean absolute Laplacian of an RGB image's gray values: energy at the finest scale."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F)).mean())


def test_textured_leaves_add_fine_detail():
    # Leaves of 8 px and more, so that their insides rather than their edges make
    # most of the image.
    plain, textured = ([dead_leaves.dead_leaves_image(
        np.random.default_rng([7, 2, seed]), 128,
        dead_leaves.LeafParameters(min_radius=8.0, texture_fraction=texture_fraction))
        for seed in range(3)] for texture_fraction in (0.0, 1.0))
    # Every leaf striped or grained: half again as much finest-scale energy as plain
    # leaves, whose only fine detail is their edges (measured: 1.7 to 2.9 times).
    assert np.mean([fine_detail(image) for image in textured]) > 1.5 * np.mean(
        [fine_detail(image) for image in plain])


def test_photo_leaves_take_the_photographs_texture_tinted_to_the_leaf_colour():
    # A horizontal ramp from 0.3 to 0.7: a photo leaf must vary (it is cut from the
    # photograph, not flat) and its mean must be the leaf's colour (0.2 to 0.6 needs
    # gains of at most 2, under MAX_PHOTO_GAIN, and nothing clips; within 0.01 for the
    # bilinear sampling of a ramp).
    ramp = np.repeat(np.linspace(0.3, 0.7, 40, dtype=np.float32)[None, :, None], 3, 2)
    ramp = np.repeat(ramp, 40, 0)
    y, x = np.nonzero(np.ones((80, 80), bool))
    colour = np.array([0.2, 0.4, 0.6], np.float32)
    patch = dead_leaves.photo_patch(np.random.default_rng(0), colour, y, x, ramp)
    assert patch.shape == (6400, 3)
    np.testing.assert_allclose(patch.mean(axis=0), colour, atol=0.01)
    # The leaf spans 20 to 80 photograph pixels: a flat patch would have std 0.
    assert patch.std(axis=0).min() > 0.01


def test_photo_leaves_cover_the_image_with_the_photographs_colours_only():
    # Pure red photographs tinted any colour stay red (green and blue gains act on
    # zeros), so an image of photo leaves only has no green or blue anywhere; one
    # flat or textured leaf would add some.
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = np.arange(64, dtype=np.uint8)[None] * 4
    parameters = dead_leaves.LeafParameters(min_radius=4.0, photo_fraction=1.0)
    image = dead_leaves.dead_leaves_image(np.random.default_rng(5), 96, parameters, [red])
    assert image[..., 1:].max() == 0 and image[..., 0].std() > 10
    mixed = dead_leaves.dead_leaves_image(np.random.default_rng(5), 96, dataclasses.replace(
        parameters, photo_fraction=0.5), [red])
    assert mixed[..., 1:].max() > 0
    with pytest.raises(ValueError, match="photo_fraction > 0 needs photographs"):
        dead_leaves.dead_leaves_image(np.random.default_rng(5), 96, parameters)


def test_photo_leaves_are_cut_from_the_training_photographs_only(tmp_path, monkeypatch):
    handed = []

    def record_photos(count, size, seed, texture_fraction, photo_fraction, photos):
        handed.extend(photo.name for photo in photos)
        return []

    monkeypatch.setattr(sources, "dead_leaves_sources", record_photos)
    sharp = write_sources(tmp_path / "sharp", names=("alpha", "beta", "gamma"))
    _, train, test, _ = dataset.collect_sources(sharp, ["dead_leaves"], 3, 2, 64,
                                             dead_leaves_photo=0.5, test_images=("beta",))
    assert test == ["beta"] and train == ["alpha", "dead_leaves_000", "dead_leaves_001", "gamma"]
    assert handed == ["alpha", "gamma"]


def test_dead_leaves_scenes_train_beside_photographs_and_are_recorded(tmp_path):
    pairs = dataset.synthesize_dataset(
        tmp_path / "out", sharp_dir=write_sources(tmp_path / "sharp", names=("alpha", "beta")),
        source="dead_leaves", dead_leaves_images=2, dead_leaves_size=64, dead_leaves_texture=0.5,
        pairs_per_image=1, seed=3, test_images=("beta",), crop_size=32, frames_per_burst=5,
        report=lambda line: None)
    assert sorted(os.path.dirname(os.path.dirname(sharp)) for sharp, _ in pairs["train"]) == [
        "train/alpha", "train/dead_leaves_000", "train/dead_leaves_001"]
    assert [sharp for sharp, _ in pairs["test"]] == ["test/beta/sharp/000000.png"]
    config = json.loads((tmp_path / "out" / dataset.CONFIG_FILE).read_text())
    assert config["source"] == ["dead_leaves"] and config["dead_leaves_images"] == 2
    assert config["dead_leaves_texture"] == 0.5


@pytest.mark.parametrize("source, message", [
    ((), "need a sharp_dir or a built-in source"),
    (("skimage", "gopro"), "source must be among skimage, dead_leaves. Received: source=gopro"),
    (("dead_leaves",), "0 <= dead_leaves_texture <= 1 .*Received: .*dead_leaves_texture=1.5"),
])
def test_missing_or_unknown_sources_are_refused_before_writing(tmp_path, source, message):
    with pytest.raises(ValueError, match=message):
        dataset.synthesize_dataset(tmp_path / "out", source=source, dead_leaves_texture=1.5,
                                   report=lambda line: None)
    assert not (tmp_path / "out").exists()


def test_a_folder_image_named_like_a_dead_leaves_scene_is_refused(tmp_path):
    sharp = write_sources(tmp_path / "sharp", names=("dead_leaves_000",))
    with pytest.raises(ValueError, match="more than one source: dead_leaves_000"):
        dataset.synthesize_dataset(tmp_path / "out", sharp_dir=sharp, source="dead_leaves",
                                   dead_leaves_images=1, dead_leaves_size=64,
                                   report=lambda line: None)
    assert not (tmp_path / "out").exists()


# --- The console script ----------------------------------------------------------

def run_srn_synth(*args):
    script = os.path.join(os.path.dirname(sys.executable), "srn-synth")
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=120)


def test_srn_synth_console_script_writes_a_dataset(tmp_path):
    result = run_srn_synth(f"--sharp_dir={write_sources(tmp_path / 'sharp')}",
                           f"--output_dir={tmp_path / 'out'}", "--pairs_per_image=2",
                           "--test_images=gamma", "--frames_per_burst=5", "--blur_kind=linear")
    assert result.returncode == 0, result.stderr
    assert "[3/3] gamma -> test/gamma" in result.stdout
    assert "wrote 4 training and 2 test pairs" in result.stdout
    assert len((tmp_path / "out" / "train_list.txt").read_text().splitlines()) == 4


def test_srn_synth_writes_spatially_varying_blur_with_highlights_and_jpeg(tmp_path):
    result = run_srn_synth(f"--sharp_dir={write_sources(tmp_path / 'sharp')}",
                           f"--output_dir={tmp_path / 'out'}", "--test_images=gamma",
                           "--frames_per_burst=5", "--blur_kind=camera_roll",
                           "--highlight_gain=2", "--jpeg_quality=80")
    assert result.returncode == 0, result.stderr
    assert "wrote 2 training and 1 test pairs" in result.stdout
    config = json.loads((tmp_path / "out" / dataset.CONFIG_FILE).read_text())
    assert (config["blur_kind"], config["highlight_gain"], config["jpeg_quality"]) == (
        "camera_roll", 2.0, 80)
    blurred = cv2.imread(str(tmp_path / "out" / "test/gamma/blur/000000.png"))
    sharp = cv2.imread(str(tmp_path / "out" / "test/gamma/sharp/000000.png"))
    assert blurred.shape == sharp.shape == (40, 56, 3)
    assert np.abs(blurred.astype(int) - sharp).mean() > 1.0
    result = run_srn_synth("--source=skimage", f"--output_dir={tmp_path / 'bad'}",
                           "--jpeg_quality=101")
    assert result.returncode == 1
    assert "jpeg_quality" in result.stderr and not (tmp_path / "bad").exists()


def test_srn_synth_draws_dead_leaves_without_a_folder(tmp_path):
    result = run_srn_synth("--source=dead_leaves", "--dead_leaves_images=2",
                           "--dead_leaves_size=48", "--dead_leaves_texture=0.25",
                           f"--output_dir={tmp_path / 'out'}", "--frames_per_burst=3",
                           "--test_images=dead_leaves_001")
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "out" / dataset.CONFIG_FILE).read_text())
    assert config["dead_leaves_texture"] == 0.25
    assert "[1/2] dead_leaves_000 -> train/dead_leaves_000" in result.stdout
    assert "wrote 1 training and 1 test pairs" in result.stdout
    assert cv2.imread(str(tmp_path / "out" / "test/dead_leaves_001/sharp/000000.png")).shape == (
        48, 48, 3)
    result = run_srn_synth(f"--output_dir={tmp_path / 'other'}")
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: give --sharp_dir=DIR, --source=skimage or "
                                     "--source=dead_leaves (or several)")

def test_srn_synth_refuses_photo_leaves_without_training_photographs(tmp_path):
    result = run_srn_synth("--source=dead_leaves", "--dead_leaves_images=2",
                           "--dead_leaves_photo=0.5", f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: dead_leaves_photo=0.5 cuts leaves from the training split's photographs, and "
        "it has none: add --source=skimage or --sharp_dir")
    assert not (tmp_path / "out").exists()


def test_srn_synth_console_script_fails_in_one_line_on_a_bad_folder(tmp_path):
    result = run_srn_synth(f"--sharp_dir={tmp_path / 'nowhere'}",
                           f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nowhere'}: no such folder"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = run_srn_synth(f"--sharp_dir={tmp_path / 'broken'}",
                           f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 1  # OpenCV's own decoder warnings are kept off stderr
    assert result.stderr.strip() == (f"error: {tmp_path / 'broken'}: none of its 1 images can "
                                     "be read: a.png: corrupt image header (Truncated File Read)")


def test_srn_synth_help_names_every_skimage_photograph():
    result = run_srn_synth("--help")
    assert result.returncode == 0, result.stderr
    help_text = " ".join(result.stdout.split())  # absl wraps lines
    source_help = help_text.split("--source:")[1].split("--test_fraction")[0]
    for name in sources.SKIMAGE_PHOTOS:
        assert name in source_help, name
