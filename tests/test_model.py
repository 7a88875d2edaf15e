"""The network against the release: parameter counts, weight sharing, equivalence."""

import numpy as np
import pytest
import tensorflow as tf

import srn_tf
from tests import tf1_reference

RELEASE_PARAMETER_COUNTS = {"color": 6_881_251, "gray": 6_876_449, "lstm": 8_056_609}
# The same tf.nn ops run in both implementations; float32 conv reductions may be
# ordered differently, which moves outputs of magnitude ~1 by ~1e-6, so 1e-5.
EQUIVALENCE_TOLERANCE = 1e-5


@pytest.fixture(scope="module", params=["color", "gray", "lstm"])
def converted(request, tmp_path_factory):
    """(model_type, release weights, model loaded from a TF1 checkpoint of them)."""
    model_type = request.param
    weights = tf1_reference.random_release_weights(model_type, seed=1)
    prefix = tf1_reference.write_tf1_checkpoint(weights, tmp_path_factory.mktemp(model_type))
    model = srn_tf.build_model(model_type)
    srn_tf.load_tf1_checkpoint(model, prefix)
    return model_type, weights, model


@pytest.mark.parametrize("model_type", sorted(RELEASE_PARAMETER_COUNTS))
def test_parameter_counts_equal_the_release(model_type):
    model = srn_tf.build_model(model_type)
    assert model.count_params() == RELEASE_PARAMETER_COUNTS[model_type]


def test_every_keras_weight_equals_its_tf1_source(converted):
    model_type, weights, model = converted
    mapping = srn_tf.checkpoints.tf1_checkpoint.tf1_variable_map(model)
    assert set(mapping) == set(weights)
    assert len(mapping) == len(model.weights)  # no weight is left unmapped
    for name, variable in mapping.items():
        np.testing.assert_array_equal(variable.numpy(), weights[name], err_msg=name)


@pytest.mark.parametrize("size", [(32, 48), (48, 16)])
def test_all_levels_match_an_independent_tf_nn_implementation(converted, size):
    model_type, weights, model = converted
    channels = tf1_reference.CHANNELS[model_type]
    inputs = np.random.default_rng(2).uniform(0, 1, (2, *size, channels)).astype(np.float32)
    expected = tf1_reference.release_forward(weights, inputs, model_type)
    outputs = model(inputs, training=False)
    assert len(outputs) == 3
    for level, (got, want) in enumerate(zip(outputs, expected)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got.numpy(), want, atol=EQUIVALENCE_TOLERANCE,
                                   rtol=0, err_msg=f"level {level}")


def test_half_pixel_resize_would_fail_the_equivalence_test(converted):
    """TF2's default resize (half-pixel centres) differs far beyond the tolerance."""
    model_type, weights, model = converted
    channels = tf1_reference.CHANNELS[model_type]
    inputs = np.random.default_rng(3).uniform(0, 1, (1, 32, 32, channels)).astype(np.float32)
    wrong = tf1_reference.release_forward(weights, inputs, model_type,
                                          resize=tf1_reference.half_pixel_resize)
    got = model(inputs)[-1].numpy()
    assert np.abs(got - wrong[-1]).max() > 100 * EQUIVALENCE_TOLERANCE


def test_one_set_of_weights_serves_every_level():
    model = srn_tf.build_model("lstm")
    inputs = tf.random.uniform((1, 32, 32, 1))
    with tf.GradientTape() as tape:
        outputs = model(inputs)
        coarse_loss = tf.reduce_mean(outputs[0])
    gradients = tape.gradient(coarse_loss, model.trainable_variables)
    # The coarsest level alone reaches every variable: each is used there.
    assert all(g is not None for g in gradients)
    # And the model holds exactly one copy of every weight.
    assert len({id(v) for v in model.weights}) == len(model.weights)
    assert len(model.weights) == 86


def test_coarser_levels_have_the_release_sizes():
    model = srn_tf.build_model("color")
    outputs = model(tf.zeros((1, 48, 80, 3)))
    assert [tuple(o.shape[1:3]) for o in outputs] == [(12, 20), (24, 40), (48, 80)]


def test_wrong_channel_count_is_a_clear_error():
    model = srn_tf.build_model("color")
    with pytest.raises(ValueError, match="3-channel images. Received 1 channels"):
        model(tf.zeros((1, 32, 32, 1)))


def test_size_not_a_multiple_of_16_is_a_clear_error():
    model = srn_tf.build_model("gray")
    with pytest.raises(ValueError, match="height a multiple of 16. Received height=20"):
        model(tf.zeros((1, 20, 32, 1)))


def test_unknown_model_type_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown model type 'rgb'"):
        srn_tf.build_model("rgb")


def test_model_config_round_trips():
    model = srn_tf.build_model("lstm", base_filters=8, blocks_per_stage=1)
    clone = srn_tf.SRNDeblurNet.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    clone.build()
    assert clone.count_params() == model.count_params()
