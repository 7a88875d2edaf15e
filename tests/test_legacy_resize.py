"""The legacy TF1 resize in keras.ops against TF1's own kernel, under TensorFlow.

The JAX and PyTorch backends run `legacy_bilinear_resize_keras_ops`; here the same
code runs on TensorFlow beside `tf.raw_ops.ResizeBilinear`, which the TensorFlow
backend keeps (tests/test_backends.py repeats the check on each backend).
"""

import numpy as np
import pytest
import tensorflow as tf

from srn_tf.models.legacy_resize import (legacy_bilinear_resize,
                                         legacy_bilinear_resize_keras_ops, scaled_length)

# The same float32 gathers and lerps in the same order as the kernel; 1e-6 leaves
# room for a fused multiply-add.
TOLERANCE = 1e-6


def _raw_op(images, size):
    return tf.raw_ops.ResizeBilinear(images=images, size=size, align_corners=False,
                                     half_pixel_centers=False).numpy()


@pytest.mark.parametrize("size", [(18, 26), (9, 13), (71, 103), (36, 50), (1, 1), (35, 1)])
def test_keras_ops_resize_equals_the_raw_op_on_odd_sizes_up_and_down(size):
    images = np.random.default_rng(0).uniform(0, 1, (2, 35, 51, 3)).astype(np.float32)
    got = np.asarray(legacy_bilinear_resize_keras_ops(images, size))
    assert got.shape == (2, *size, 3)
    np.testing.assert_allclose(got, _raw_op(images, size), atol=TOLERANCE, rtol=0)


def test_half_pixel_centres_would_fail_the_comparison():
    """The check can fail: TF2's default resize differs far beyond the tolerance."""
    images = np.random.default_rng(1).uniform(0, 1, (1, 35, 51, 1)).astype(np.float32)
    half_pixel = tf.image.resize(images, (18, 26), method="bilinear").numpy()
    got = np.asarray(legacy_bilinear_resize_keras_ops(images, (18, 26)))
    assert np.abs(got - half_pixel).max() > 100 * TOLERANCE


def test_the_tensorflow_backend_keeps_the_raw_op_for_sizes_known_at_run_time():
    resize = tf.function(lambda x: legacy_bilinear_resize(
        x, (scaled_length(tf.shape(x)[1], 0.5), scaled_length(tf.shape(x)[2], 0.5))),
        input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32)])
    images = np.random.default_rng(2).uniform(0, 1, (1, 35, 51, 1)).astype(np.float32)
    # Python 2 rounding of the level size: round(17.5) = 18, round(25.5) = 26.
    np.testing.assert_array_equal(resize(images).numpy(), _raw_op(images, (18, 26)))


def test_level_sizes_round_halves_away_from_zero():
    assert [scaled_length(length, 0.5) for length in (35, 51, 17, 9)] == [18, 26, 9, 5]
    assert int(scaled_length(tf.constant(35), 0.5)) == 18
