"""deblur_image: layouts, dtypes, the release's conversions, tracing, precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import srn_tf
from srn_tf.inference import deblur as inference
from srn_tf.inference.postprocess.denoising import denoise_output
from srn_tf.inference.postprocess.flat_level import match_flat_level
from srn_tf.inference.postprocess.kernel_refinement import refine_with_kernel
from srn_tf.checkpoints.saved_model_runner import SavedModelRunner

SMALL = {"base_filters": 8, "blocks_per_stage": 1}
# float32 paths run the same ops in another order (padding, batching): ~1e-6.
FLOAT_TOLERANCE = 1e-5


def _small_model(model_type, seed=0):
    keras.utils.set_random_seed(seed)
    return srn_tf.build_model(model_type, **SMALL)


@pytest.fixture(scope="module")
def models():
    return {model_type: _small_model(model_type) for model_type in ("color", "gray", "lstm")}


def _image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        return rng.uniform(0, 1, shape).astype(np.float32)
    return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("model_type", ["color", "gray", "lstm"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_output_keeps_shape_and_dtype(models, model_type, dtype, channels):
    image = _image((37, 50, channels), dtype)
    result = srn_tf.deblur_image(models[model_type], image)
    assert result.shape == image.shape and result.dtype == image.dtype


def test_alpha_channel_passes_through_unchanged(models):
    image = _image((32, 40, 4), np.uint16)
    result = srn_tf.deblur_image(models["color"], image)
    np.testing.assert_array_equal(result[..., 3], image[..., 3])
    rgb = srn_tf.deblur_image(models["color"], image[..., :3].copy())
    np.testing.assert_array_equal(result[..., :3], rgb)


def test_uint8_output_truncates_like_the_release(models):
    model = models["color"]
    image = _image((33, 47, 3), np.uint8)
    expected_float = srn_tf.predict_any_size(model, image[None].astype(np.float32) / 255.0)
    # The release writes clip(x, 0, 1) * 255 cast to uint8 (truncation).
    expected = (np.clip(expected_float.numpy()[0], 0, 1) * 255).astype(np.uint8)
    result = srn_tf.deblur_image(model, image)
    # Values within float32 noise of an integer boundary may truncate either way.
    assert np.mean(result != expected) < 1e-3
    assert np.abs(result.astype(int) - expected).max() <= 1


def test_float_output_equals_predict_any_size_clipped(models):
    model = models["lstm"]
    image = _image((40, 52, 3), np.float32)
    expected = np.clip(srn_tf.predict_any_size(model, image[None]).numpy()[0], 0, 1)
    np.testing.assert_allclose(srn_tf.deblur_image(model, image), expected,
                               atol=FLOAT_TOLERANCE, rtol=0)


def test_gray_model_runs_rgb_plane_by_plane(models):
    model = models["gray"]
    image = _image((32, 48, 3), np.float32)
    result = srn_tf.deblur_image(model, image)
    for plane in range(3):
        alone = srn_tf.deblur_image(model, image[..., plane:plane + 1].copy())
        np.testing.assert_allclose(result[..., plane:plane + 1], alone,
                                   atol=FLOAT_TOLERANCE, rtol=0)


def test_color_model_on_gray_runs_replicated_rgb_and_returns_its_luma(models):
    model = models["color"]
    gray = _image((32, 48, 1), np.float32)
    rgb = srn_tf.predict_any_size(model, np.repeat(gray, 3, axis=-1)[None]).numpy()[0]
    # The luma of the unclipped result, then the usual clip to [0, 1].
    expected = np.clip(rgb @ np.array([0.2989, 0.5870, 0.1140], np.float32), 0, 1)
    np.testing.assert_allclose(srn_tf.deblur_image(model, gray)[..., 0], expected,
                               atol=FLOAT_TOLERANCE, rtol=0)


def test_a_folder_of_same_size_images_is_traced_once():
    model = _small_model("color")
    assert inference.trace_count(model) == 0
    for seed in range(3):
        srn_tf.deblur_image(model, _image((40, 60, 3), np.uint8, seed))
    assert inference.trace_count(model) == 1
    # 35x50 pads to the same 48x64: no new trace.
    srn_tf.deblur_image(model, _image((35, 50, 3), np.uint8))
    assert inference.trace_count(model) == 1
    srn_tf.deblur_image(model, _image((70, 60, 3), np.uint8))
    assert inference.trace_count(model) == 2
    srn_tf.deblur_image(model, _image((40, 60, 3), np.uint8), precision="bfloat16")
    assert inference.trace_count(model) == 3


def test_bfloat16_is_close_to_float32_and_follows_weight_changes():
    model = _small_model("color")
    image = _image((48, 64, 3), np.float32)
    full = srn_tf.deblur_image(model, image)
    half = srn_tf.deblur_image(model, image, precision="bfloat16")
    # bfloat16 keeps 8 bits of mantissa: relative error ~4e-3 per op; through this
    # small network outputs in [0, 1] stay within a few hundredths.
    assert np.abs(full - half).max() < 0.05
    assert np.abs(full - half).max() > 0  # it really ran in another precision
    for weight in model.weights:
        weight.assign(weight * 0.5)
    full_after = srn_tf.deblur_image(model, image)
    half_after = srn_tf.deblur_image(model, image, precision="bfloat16")
    assert np.abs(full_after - full).max() > 0.05
    assert np.abs(full_after - half_after).max() < 0.05


def test_variables_of_the_lower_precision_model_stay_float32():
    model = _small_model("gray")
    srn_tf.deblur_image(model, _image((32, 32, 1), np.float32), precision="float16")
    variant = inference._runner(model).variant("float16")
    assert variant.compute_dtype == "float16"
    assert {w.dtype for w in variant.weights} == {"float32"}


def test_saved_model_runs_in_place_of_the_model(models, tmp_path):
    model = models["gray"]

    class Export(tf.Module):
        def __init__(self):
            super().__init__()
            self.variables_ = [w.value for w in model.weights]

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def serve(self, images):
            return {"deblurred": srn_tf.predict_any_size(model, images)}

    export = Export()
    tf.saved_model.save(export, str(tmp_path), signatures={"serving_default": export.serve})
    runner = SavedModelRunner(tmp_path)
    image = _image((30, 41, 3), np.uint8)
    np.testing.assert_array_equal(srn_tf.deblur_image(runner, image),
                                  srn_tf.deblur_image(model, image))
    with pytest.raises(ValueError, match="needs an srn_tf model"):
        srn_tf.deblur_image(runner, image, precision="bfloat16")


@pytest.mark.parametrize("image,message", [
    (np.zeros((32, 32), np.uint8), r"\(height, width, channels\) image"),
    (np.zeros((32, 32, 2), np.uint8), "1, 3 or 4 channels"),
    (np.zeros((32, 32, 3), np.float64), "Received dtype float64"),
    (np.zeros((8, 32, 3), np.uint8), "at least 16 pixels"),
])
def test_bad_images_are_clear_errors(models, image, message):
    with pytest.raises(ValueError, match=message):
        srn_tf.deblur_image(models["color"], image)


@pytest.mark.parametrize("model_type", ["color", "gray"])
def test_flip_ensemble_averages_the_outputs_of_flipped_copies_flipped_back(models, model_type):
    model = models[model_type]
    image = _image((32, 48, 3), np.float32)
    # The model's raw outputs on the image flipped none, left-right, up-down and
    # both ways, each flipped back; then the same on the image transposed (a
    # non-square image, so a missed transpose back would not even broadcast).
    outputs = []
    for transposed in (False, True):
        for axes in ((), (1,), (0,), (0, 1)):
            copy = np.transpose(image, (1, 0, 2)) if transposed else image
            flipped = np.ascontiguousarray(np.flip(copy, axes))
            planes = (flipped[None] if model_type == "color"
                      else np.moveaxis(flipped, -1, 0)[..., None])
            output = srn_tf.predict_any_size(model, planes).numpy()
            output = output[0] if model_type == "color" else np.moveaxis(output[..., 0], 0, -1)
            output = np.flip(output, axes)
            outputs.append(np.transpose(output, (1, 0, 2)) if transposed else output)
    # A random model is far from flip- and transpose-symmetric, so the ensembles
    # differ from one run and from each other.
    assert np.abs(outputs[1] - outputs[0]).mean() > 0.01
    assert np.abs(outputs[4] - outputs[0]).mean() > 0.01
    for flips in (2, 4, 8):
        expected = np.clip(np.mean(outputs[:flips], axis=0), 0, 1)
        np.testing.assert_allclose(srn_tf.deblur_image(model, image, srn_tf.InferenceOptions(flips=flips)), expected,
                                   atol=FLOAT_TOLERANCE, rtol=0)
    np.testing.assert_allclose(srn_tf.deblur_image(model, image, srn_tf.InferenceOptions(flips=1)),
                               np.clip(outputs[0], 0, 1), atol=FLOAT_TOLERANCE, rtol=0)


def test_unknown_flips_is_a_clear_error(models):
    with pytest.raises(ValueError, match="flips must be one of 1, 2, 4, 8. Received: flips=3"):
        srn_tf.deblur_image(models["color"], np.zeros((32, 32, 3), np.uint8),
                            srn_tf.InferenceOptions(flips=3))


def test_unknown_precision_is_a_clear_error(models):
    with pytest.raises(ValueError, match="precision must be one of"):
        srn_tf.deblur_image(models["color"], np.zeros((32, 32, 3), np.uint8), precision="fp8")


def test_a_model_is_freed_once_unused_despite_its_traces():
    import gc
    import weakref

    model = _small_model("color")
    srn_tf.deblur_image(model, _image((32, 32, 3), np.uint8))
    reference = weakref.ref(model)
    del model
    gc.collect()
    assert reference() is None


def test_flat_level_matches_the_whole_output_to_the_input_over_flat_areas(models):
    model = models["color"]
    rng = np.random.default_rng(3)
    image = np.full((96, 160, 3), 0.5, np.float32)
    image[:, 80:] = rng.uniform(0, 1, (96, 80, 3))
    output = srn_tf.predict_any_size(model, image[None]).numpy()[0]
    expected = np.clip(match_flat_level(image, output), 0, 1)
    # A random model moves flat grey, so matching changes the result.
    assert np.abs(expected - np.clip(output, 0, 1)).mean() > 1e-3
    np.testing.assert_allclose(srn_tf.deblur_image(model, image, srn_tf.InferenceOptions(flat_level=True)),
                               expected,
                               atol=FLOAT_TOLERANCE, rtol=0)
    # Off by default, as the release.
    np.testing.assert_allclose(srn_tf.deblur_image(model, image), np.clip(output, 0, 1),
                               atol=FLOAT_TOLERANCE, rtol=0)
    # Tiled, one offset per channel for the whole stitched image, not one per tile:
    # where neither result is clipped, they differ by the same constant everywhere.
    tiled = srn_tf.deblur_image(model, image, tile=64, tile_overlap=16)
    tiled_matched = srn_tf.deblur_image(model, image, srn_tf.InferenceOptions(flat_level=True),
                                        tile=64, tile_overlap=16)
    covered = []
    for channel in range(3):
        inside = ((tiled[..., channel] > 0) & (tiled[..., channel] < 1)
                  & (tiled_matched[..., channel] > 0) & (tiled_matched[..., channel] < 1))
        shift = (tiled_matched[..., channel] - tiled[..., channel])[inside]
        if shift.size:
            assert np.ptp(shift) < 1e-5
        covered.append(inside[:, :64].any() and inside[:, 96:].any())
    assert any(covered)  # the check reached both ends of the image


def test_denoise_removes_the_inputs_noise_level_from_the_output_after_the_flat_level(models):
    model = models["color"]
    rng = np.random.default_rng(4)
    image = np.full((48, 64, 3), 0.5, np.float32)
    image[:, 32:] = np.linspace(0.2, 0.8, 32, dtype=np.float32)[None, :, None]
    image = np.clip(image + rng.normal(0, 0.02, image.shape), 0, 1).astype(np.float32)
    output = srn_tf.predict_any_size(model, image[None]).numpy()[0]
    expected = denoise_output(image, match_flat_level(image, output))
    assert np.abs(expected - np.clip(match_flat_level(image, output), 0, 1)).mean() > 1e-3
    np.testing.assert_allclose(
        srn_tf.deblur_image(model, image, srn_tf.InferenceOptions(flat_level=True, denoise=True)),
        expected,
        atol=FLOAT_TOLERANCE, rtol=0)
    np.testing.assert_allclose(srn_tf.deblur_image(model, image, srn_tf.InferenceOptions(denoise=True)),
                               denoise_output(image, output), atol=FLOAT_TOLERANCE, rtol=0)


def test_kernel_refinement_runs_after_the_flat_level_and_before_denoising(models):
    model = models["color"]
    rng = np.random.default_rng(5)
    image = np.full((48, 64, 3), 0.5, np.float32)
    image[:, 32:] = rng.uniform(0, 1, (48, 32, 3))
    image = np.clip(image + rng.normal(0, 0.005, image.shape), 0, 1).astype(np.float32)
    output = srn_tf.predict_any_size(model, image[None]).numpy()[0]
    refined = refine_with_kernel(image, output)
    assert np.abs(np.clip(refined, 0, 1) - np.clip(output, 0, 1)).mean() > 1e-3
    np.testing.assert_allclose(srn_tf.deblur_image(model, image, srn_tf.InferenceOptions(kernel_refinement=True)),
                               np.clip(refined, 0, 1), atol=FLOAT_TOLERANCE, rtol=0)
    expected = denoise_output(image, refine_with_kernel(image, match_flat_level(image, output)))
    np.testing.assert_allclose(
        srn_tf.deblur_image(model, image, srn_tf.InferenceOptions(flat_level=True, kernel_refinement=True,
                                                            denoise=True)),
        expected, atol=FLOAT_TOLERANCE, rtol=0)


def test_no_options_run_the_models_own_and_given_options_replace_them(models):
    from srn_tf.models.inference_options import InferenceOptions, attach_options

    preset = _small_model("color")
    own = InferenceOptions(flips=2, flat_level=True, denoise=True)
    attach_options(preset, own)
    image = _image((40, 56, 3), np.uint8, seed=4)
    # The same weights and the same steps: the same arithmetic, bit for bit.
    np.testing.assert_array_equal(srn_tf.deblur_image(preset, image),
                                  srn_tf.deblur_image(models["color"], image, own))
    # Given options replace the model's; a model without options runs as the release.
    np.testing.assert_array_equal(srn_tf.deblur_image(preset, image, InferenceOptions()),
                                  srn_tf.deblur_image(models["color"], image))


def test_options_that_are_not_inference_options_are_a_clear_error(models):
    with pytest.raises(TypeError, match="options must be an InferenceOptions"):
        srn_tf.deblur_image(models["color"], np.zeros((32, 32, 3), np.uint8), {"flips": 2})
