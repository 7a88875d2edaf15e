"""Any image size and gray models on RGB, through the padding helpers."""

import numpy as np
import pytest
import tensorflow as tf

import srn_tf
from srn_tf.models.padding import pad_to_multiple, run_per_channel


@pytest.fixture(scope="module")
def small_gray_model():
    return srn_tf.build_model("gray", base_filters=4, blocks_per_stage=1)


@pytest.fixture(scope="module")
def small_color_model():
    return srn_tf.build_model("color", base_filters=4, blocks_per_stage=1)


def test_edge_padding_replicates_the_last_row_and_column():
    image = tf.reshape(tf.range(6, dtype=tf.float32), (1, 2, 3, 1))
    padded = pad_to_multiple(image, 4)[0, :, :, 0].numpy()
    np.testing.assert_array_equal(padded, np.pad(image[0, :, :, 0].numpy(), ((0, 2), (0, 1)),
                                                 mode="edge"))


def test_padding_keeps_sizes_that_are_already_multiples():
    image = tf.random.uniform((2, 32, 16, 3))
    np.testing.assert_array_equal(pad_to_multiple(image, 16).numpy(), image.numpy())


def test_odd_sizes_round_trip_through_padding(small_color_model):
    image = tf.random.uniform((1, 37, 61, 3))
    levels = srn_tf.predict_levels_any_size(small_color_model, image)
    assert [tuple(level.shape[1:3]) for level in levels] == [(9, 15), (19, 31), (37, 61)]


def test_padded_prediction_is_the_full_prediction_cropped(small_color_model):
    """Padding then cropping must give what the model does on the padded image."""
    image = tf.random.uniform((1, 37, 61, 3))
    padded = pad_to_multiple(image, 16)
    expected = small_color_model(padded)[-1][:, :37, :61, :]
    got = srn_tf.predict_any_size(small_color_model, image)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_gray_model_on_an_rgb_image_returns_rgb(small_gray_model):
    image = tf.random.uniform((2, 20, 33, 3))
    result = srn_tf.predict_any_size(small_gray_model, image)
    assert tuple(result.shape) == (2, 20, 33, 3)
    # Each channel is the gray model run on that plane alone.
    green = srn_tf.predict_any_size(small_gray_model, image[1:2, :, :, 1:2])
    # Batch composition changes nothing mathematically; 1e-6 covers conv ordering.
    np.testing.assert_allclose(result[1:2, :, :, 1:2].numpy(), green.numpy(), atol=1e-6)


def test_run_per_channel_restacks_in_order():
    images = tf.random.uniform((2, 4, 5, 3))
    doubled = run_per_channel(lambda planes: [planes * 2.0, planes[:, :2, :2, :]], images)
    np.testing.assert_allclose(doubled[0].numpy(), images.numpy() * 2.0)
    np.testing.assert_array_equal(doubled[1].numpy(), images[:, :2, :2, :].numpy())


def test_predict_any_size_works_inside_tf_function_with_unknown_sizes(small_gray_model):
    run = tf.function(lambda x: srn_tf.predict_any_size(small_gray_model, x),
                      input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    for size in [(17, 40), (32, 32)]:
        image = tf.random.uniform((1, *size, 3))
        np.testing.assert_allclose(run(image).numpy(),
                                   srn_tf.predict_any_size(small_gray_model, image).numpy(),
                                   atol=1e-6)


def test_a_5x5_image_is_a_clear_error(small_color_model):
    with pytest.raises(ValueError, match="image is 5x5; SRN needs at least 16 pixels"):
        srn_tf.predict_any_size(small_color_model, tf.zeros((1, 5, 5, 3)))
