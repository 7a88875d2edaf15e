"""Spatially varying blur: aligned middle frame, blur that grows with strength and varies
where it should, highlights that clip after averaging, JPEG, seeds, bad arguments."""

import cv2
import numpy as np
import pytest

from srn_tf.data.synth import dataset, render, spatially_varying, trajectory
from srn_tf.data.synth.spatially_varying import (SPATIAL_KINDS, displacement_map,
                                                 draw_spatial_blur, render_spatially_varying)
from tests.test_synth import photo_crop

HEIGHT, WIDTH = 64, 96


def blur_error(blurred, sharp):
    """Per-pixel mean absolute difference over the channels, float64 (height, width)."""
    return np.abs(blurred.astype(np.float64) - sharp.astype(np.float64)).mean(axis=2)


@pytest.mark.parametrize("kind", SPATIAL_KINDS)
def test_sharp_image_is_the_source_exactly_and_untouched_by_noise_or_jpeg(kind):
    image = photo_crop(HEIGHT, WIDTH)
    for noise_sigma, jpeg_quality in ((0.0, None), (0.02, 30)):
        blurred, sharp = render_spatially_varying(image, kind, np.random.default_rng(4), 20.0,
                                                  noise_sigma=noise_sigma,
                                                  jpeg_quality=jpeg_quality)
        np.testing.assert_array_equal(sharp, image)
        assert blurred.shape == image.shape and blurred.dtype == np.uint8
        assert blur_error(blurred, sharp).mean() > 1.0


@pytest.mark.parametrize("kind", SPATIAL_KINDS)
def test_blur_grows_with_strength_whose_value_is_the_longest_pixel_path(kind):
    image = photo_crop(HEIGHT, WIDTH)
    errors = []
    for strength in (0.0, 5.0, 10.0, 20.0, 30.0):
        displacement = displacement_map(image.shape, kind, np.random.default_rng(7), strength)
        # float32 map of a float64 scaling: equal to 1e-5 relative.
        np.testing.assert_allclose(displacement.max(), strength, rtol=1e-5)
        blurred, sharp = render_spatially_varying(image, kind, np.random.default_rng(7),
                                                  strength, noise_sigma=0.0)
        errors.append(blur_error(blurred, sharp).mean())
    # Strength 0 renders 15 identical frames: their average rounds back to the image.
    assert errors[0] == 0.0
    assert all(later > earlier for earlier, later in zip(errors, errors[1:])), errors


def texture_image(seed=0):
    """Gray-ish Gaussian noise smoothed over ~3 pixels, uint8 (HEIGHT, WIDTH, 3): the same
    texture everywhere, so the blur error of a region depends on its blur alone, and it
    keeps growing over 5 to 20 pixel paths (finer noise saturates sooner)."""
    noise = np.random.default_rng(seed).normal(size=(HEIGHT, WIDTH, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 3.0)
    return np.clip(128 + 60 * (smooth - smooth.mean()) / smooth.std(), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", ["camera_roll", "depth_varying"])
def test_blur_is_strong_where_the_displacement_map_says(kind):
    image = texture_image()
    for seed in range(6):
        displacement = displacement_map(image.shape, kind, np.random.default_rng(seed), 20.0)
        blurred, sharp = render_spatially_varying(image, kind, np.random.default_rng(seed), 20.0,
                                                  noise_sigma=0.0)
        error = blur_error(blurred, sharp)
        near = displacement <= np.quantile(displacement, 0.25)
        far = displacement >= np.quantile(displacement, 0.75)
        extent_ratio = displacement[far].mean() / displacement[near].mean()
        assert extent_ratio > 1.5, seed
        # On this texture the error grows about in proportion to the extent (ratios 1.37
        # to 5.5 for extent ratios 1.5 to 3.8 over 10 seeds); half of that must show.
        assert error[far].mean() / error[near].mean() > 1 + 0.5 * (extent_ratio - 1), seed


def test_camera_roll_extent_is_the_arc_about_its_centre():
    for seed in range(4):
        blur = draw_spatial_blur((HEIGHT, WIDTH), "camera_roll", np.random.default_rng(seed),
                                 20.0)
        xs, ys = np.meshgrid(np.arange(WIDTH), np.arange(HEIGHT))
        distance = np.hypot(xs - blur.center[0], ys - blur.center[1])
        # Each pixel turns through the same angle: its path is proportional to its distance
        # from the centre (float32 map: 1e-4 relative).
        np.testing.assert_allclose(blur.displacement, 20.0 * distance / distance.max(),
                                   rtol=1e-4, atol=1e-4)


def test_object_moves_further_than_its_shaken_background():
    image = texture_image()
    for seed in range(4):
        blur = draw_spatial_blur(image.shape, "object_motion", np.random.default_rng(seed), 20.0)
        inside, outside = blur.matte == 1.0, blur.matte == 0.0
        assert inside.sum() > 100 and outside.sum() > 1000
        # The object's own path plus the camera's is the longest; the background shakes
        # 0.05 to 0.4 of the object's own path, so at most about 0.4 / 0.6 of the object's.
        np.testing.assert_allclose(blur.displacement[inside], 20.0, rtol=1e-5)
        background = blur.displacement[outside]
        assert np.ptp(background) < 1e-4 and background[0] < 0.7 * 20.0
        blurred, sharp = render_spatially_varying(image, "object_motion",
                                                  np.random.default_rng(seed), 20.0,
                                                  noise_sigma=0.0)
        error = blur_error(blurred, sharp)
        # The background further from the object than its 20-pixel path: only the shake
        # blurs it there.
        far_away = cv2.erode(outside.astype(np.uint8), np.ones((3, 3), np.uint8),
                             iterations=22).astype(bool)
        assert far_away.sum() > 200, seed
        assert error[inside].mean() > 1.5 * error[far_away].mean(), seed


def test_depth_blur_varies_smoothly_between_distinct_extremes():
    worst_step = 0.0
    for seed in range(20):
        displacement = displacement_map((HEIGHT, WIDTH), "depth_varying",
                                        np.random.default_rng(seed), 20.0)
        spread = displacement.max() - displacement.min()
        # The farthest pixel has 0.1 to 0.5 of the nearest one's inverse depth.
        assert 0.1 * 20.0 - 1e-4 <= displacement.min() <= 0.5 * 20.0 + 1e-4
        step = max(np.abs(np.diff(displacement, axis=0)).max(),
                   np.abs(np.diff(displacement, axis=1)).max())
        worst_step = max(worst_step, step / spread)
    # Waves of at least 0.7 image diagonals (80 pixels here) change by a few hundredths of
    # the range per pixel (0.058 at worst over 200 seeds); pixel noise would change by ~1.
    assert worst_step < 0.1


def bright_square_image(kind, seed, strength):
    """Black (HEIGHT, WIDTH, 3) with a white 3x3 square where the blur is longest."""
    displacement = displacement_map((HEIGHT, WIDTH), kind, np.random.default_rng(seed), strength)
    inner = np.zeros_like(displacement)
    inner[4:-4, 4:-4] = displacement[4:-4, 4:-4]
    y, x = np.unravel_index(np.argmax(inner), inner.shape)
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[y - 1:y + 2, x - 1:x + 2] = 255
    return image


@pytest.mark.parametrize("kind", ["camera_roll", "depth_varying"])
def test_highlights_clip_after_averaging_into_a_saturated_streak(kind):
    image = bright_square_image(kind, 3, 20.0)
    dim, sharp = render_spatially_varying(image, kind, np.random.default_rng(3), 20.0,
                                          noise_sigma=0.0)
    bright, bright_sharp = render_spatially_varying(image, kind, np.random.default_rng(3), 20.0,
                                                    noise_sigma=0.0, highlight_gain=30.0)
    # White clipped before averaging (gain 0) smears into a dim streak, nowhere white.
    assert dim.max() < 200
    # 31 times white averaged over 15 frames stays above white along the path: a
    # streak of saturated pixels about as long as the 20-pixel path, 3 wide.
    saturated = (bright == 255).all(axis=2)
    assert saturated.sum() >= 30
    # The square is white in both sharp images: boosted white clips back to white.
    np.testing.assert_array_equal(sharp, image)
    np.testing.assert_array_equal(bright_sharp, image)


def test_highlights_brighten_only_near_white_pixels_of_the_sharp_image():
    image = photo_crop(HEIGHT, WIDTH)
    image[10:20, 10:30] = 240  # above HIGHLIGHT_THRESHOLD in linear light (0.87)
    _, sharp = render_spatially_varying(image, "camera_roll", np.random.default_rng(0), 10.0,
                                        noise_sigma=0.0, highlight_gain=1.0)
    linear = render.CameraResponse("gamma").to_linear(image / 255.0)
    dark = (linear < render.HIGHLIGHT_THRESHOLD).all(axis=2)
    np.testing.assert_array_equal(sharp[dark], image[dark])
    assert (sharp[10:20, 10:30] > 240).all()


def test_jpeg_changes_the_blurred_image_and_quality_100_stays_close():
    image = photo_crop(HEIGHT, WIDTH)

    def blurred(jpeg_quality):
        return render_spatially_varying(image, "depth_varying", np.random.default_rng(2), 15.0,
                                        noise_sigma=0.0, jpeg_quality=jpeg_quality)[0]

    plain, best, worst = blurred(None), blurred(100), blurred(10)
    assert not np.array_equal(best, plain)
    # Quality 100 still halves the chroma resolution (OpenCV's 4:2:0) and rounds the DCT:
    # 0.6 levels on average here, so under 1; quality 10 is 6 levels off.
    assert blur_error(best, plain).mean() < 1.0
    assert blur_error(worst, plain).mean() > 3 * blur_error(best, plain).mean()


@pytest.mark.parametrize("kind", SPATIAL_KINDS)
def test_same_seed_gives_the_same_pair_and_another_seed_another(kind):
    image = photo_crop(HEIGHT, WIDTH)
    first = render_spatially_varying(image, kind, np.random.default_rng(11), 12.0)
    again = render_spatially_varying(image, kind, np.random.default_rng(11), 12.0)
    other = render_spatially_varying(image, kind, np.random.default_rng(12), 12.0)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("arguments, message", [
    ({"kind": "wobble"}, "kind must be one of object_motion, camera_roll, depth_varying. "
                         "Received: kind='wobble'"),
    ({"strength": -1.0}, "strength must be >= 0 pixels. Received: strength=-1.0"),
    ({"frames": 4}, "frames must be odd and positive"),
    ({"jpeg_quality": 0}, "jpeg_quality must be None or in [1, 100]. Received: jpeg_quality=0"),
    ({"highlight_gain": -0.5}, "need noise_sigma >= 0 and highlight_gain >= 0"),
    ({"image": np.zeros((8, 8), np.uint8)}, "image must be uint8 (height, width, 3)"),
    ({"image": np.zeros((8, 8, 3), np.float32)}, "image must be uint8 (height, width, 3)"),
])
def test_bad_arguments_are_clear_errors(arguments, message):
    call = {"image": photo_crop(16, 16), "kind": "camera_roll", "rng": np.random.default_rng(0),
            "strength": 5.0, **arguments}
    with pytest.raises(ValueError) as error:
        render_spatially_varying(**call)
    assert message in str(error.value)


@pytest.mark.parametrize("kind", SPATIAL_KINDS + ("mixed_spatial",))
def test_dataset_pairs_of_the_new_kinds_are_the_source_crop_and_its_blur(kind):
    image = photo_crop(96, 128)
    parameters = trajectory.PathParameters(frames_per_burst=9)
    sharp, blurred, length = dataset.make_pair(
        image, np.random.default_rng(5), parameters, render.CameraResponse("gamma"), 0.0, kind,
        crop_size=48, max_side=0, min_scale=1.0)
    assert sharp.shape == blurred.shape == (48, 48, 3)
    assert 5.0 <= length <= 30.0
    # The crop is somewhere in the image, the pair aligned, the blurred image blurred.
    matches = [(y, x) for y in range(96 - 47) for x in range(128 - 47)
               if np.array_equal(image[y:y + 48, x:x + 48], sharp)]
    assert len(matches) == 1
    assert blur_error(blurred, sharp).mean() > 1.0
    again = dataset.make_pair(image, np.random.default_rng(5), parameters,
                              render.CameraResponse("gamma"), 0.0, kind, 48, 0, 1.0)
    np.testing.assert_array_equal(again[1], blurred)


def test_highlights_and_jpeg_apply_to_the_uniform_kinds_too():
    image = photo_crop(64, 64)
    image[20:24, 20:24] = 255
    parameters = trajectory.PathParameters(frames_per_burst=9, min_length=12, max_length=12)
    response = render.CameraResponse("gamma")
    plain = dataset.make_pair(image, np.random.default_rng(1), parameters, response, 0.0,
                              "trajectory", 0, 0, 1.0)
    boosted = dataset.make_pair(image, np.random.default_rng(1), parameters, response, 0.0,
                                "trajectory", 0, 0, 1.0, highlight_gain=20.0, jpeg_quality=50)
    np.testing.assert_array_equal(plain[0], image)
    linear = response.to_linear(image / 255.0)
    dark = (linear < render.HIGHLIGHT_THRESHOLD).all(axis=2)
    np.testing.assert_array_equal(boosted[0][dark], image[dark])
    assert (boosted[0] >= image).all()
    # 21 times white averaged along a 12-pixel path: saturated pixels along the streak,
    # where plain white smears below 200.
    assert plain[1].max() < 200
    assert (boosted[1] == 255).any(axis=2).sum() >= 10
    with pytest.raises(ValueError, match="0 <= jpeg_quality <= 100"):
        dataset.synthesize_dataset("unused", source="skimage", jpeg_quality=101)


def test_blob_matte_is_one_inside_zero_outside_with_a_thin_soft_edge():
    matte = spatially_varying.random_blob(HEIGHT, WIDTH, np.random.default_rng(0))
    soft = (matte > 0) & (matte < 1)
    assert (matte == 1).sum() > 100 and (matte == 0).sum() > 1000
    # A 2-pixel ramp around an outline of perimeter < 2 pi * 1.5 * 0.3 * 64 (< 200) pixels.
    assert 0 < soft.sum() < 3 * 200
