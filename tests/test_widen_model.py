"""srn_tf.widening and tools/widen_model.py: a wider copy of a model that computes the
same outputs."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import srn_tf
from srn_tf.widening import widen_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(REPO, "tools", "widen_model.py")


def _random_model(seed, base_filters=4):
    """A small colour model (all three levels, one ResBlock a stage) whose every
    weight, the output conv's included, is random: a model fresh from
    `zero_init_output` would be the identity and hide any mistake. Kernels are
    scaled by their fan-in so that values stay of order 1 through the network."""
    model = srn_tf.build_model("color", base_filters=base_filters, blocks_per_stage=1,
                               kernel_size=3, residual_output=True, zero_init_output=True)
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        scale = 0.1 if len(variable.shape) == 1 else np.prod(variable.shape[:-1]) ** -0.5
        variable.assign((scale * rng.normal(size=variable.shape)).astype(np.float32))
    return model


def _image(seed):
    return np.random.default_rng(seed).uniform(size=(1, 32, 48, 3)).astype(np.float32)


def test_the_wide_model_computes_what_the_narrow_one_did():
    narrow = _random_model(seed=1)
    wide = widen_model(narrow, base_filters=7, seed=3)
    assert wide.architecture() == {**narrow.architecture(), "base_filters": 7}
    assert wide.count_params() > narrow.count_params()
    image = _image(seed=2)
    # The same sums plus exact zeros; a convolution over more channels may add in
    # another order, so float32 rounding of values of order 1: within 1e-5.
    for narrow_level, wide_level in zip(narrow(image), wide(image), strict=True):
        np.testing.assert_allclose(wide_level.numpy(), narrow_level.numpy(), atol=1e-5, rtol=0)


def test_the_new_channels_are_live_and_learn_from_the_first_update():
    """The zero weights from new channels into old ones must get gradients, or the
    extra width would never be used."""
    wide = widen_model(_random_model(seed=1), base_filters=7, seed=3)
    image, target = _image(seed=2), _image(seed=4)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(wide(image)[-1] - target))
    output_kernel = wide.output_block.conv.kernel
    gradient = tape.gradient(loss, output_kernel).numpy()
    new_into_output = gradient[:, :, 4:, :]
    assert np.all(output_kernel.numpy()[:, :, 4:, :] == 0.0)
    assert np.abs(new_into_output).max() > 1e-6


def test_the_new_channels_depend_on_the_seed():
    narrow = _random_model(seed=1)
    first, second = widen_model(narrow, 7, seed=3), widen_model(narrow, 7, seed=4)
    kernel = lambda model: model.encoder_1.conv.kernel.numpy()  # noqa: E731
    np.testing.assert_array_equal(kernel(first)[..., :4], kernel(second)[..., :4])
    assert not np.array_equal(kernel(first)[..., 4:], kernel(second)[..., 4:])
    np.testing.assert_array_equal(kernel(first), kernel(widen_model(narrow, 7, seed=3)))


def test_narrowing_and_recurrent_models_are_refused():
    with pytest.raises(ValueError, match="at least the model's 4"):
        widen_model(_random_model(seed=1), base_filters=3)
    lstm = srn_tf.build_model("lstm", base_filters=4, blocks_per_stage=1)
    with pytest.raises(ValueError, match="recurrent_cell"):
        widen_model(lstm, base_filters=8)


def _run_tool(*args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, timeout=300)


def test_the_tool_writes_a_loadable_folder_and_never_replaces_one(tmp_path):
    narrow = _random_model(seed=1)
    srn_tf.save_model(narrow, tmp_path / "narrow")
    result = _run_tool(f"--checkpoint={tmp_path / 'narrow'}", "--base_filters=6",
                       f"--output={tmp_path / 'wide'}")
    assert result.returncode == 0, result.stderr[-3000:]
    wide = srn_tf.load_model(tmp_path / "wide")
    assert wide.base_filters == 6
    image = _image(seed=2)
    np.testing.assert_allclose(wide(image)[-1].numpy(), narrow(image)[-1].numpy(),
                               atol=1e-5, rtol=0)

    again = _run_tool(f"--checkpoint={tmp_path / 'narrow'}", "--base_filters=8",
                      f"--output={tmp_path / 'wide'}")
    assert again.returncode == 1
    assert again.stderr.strip().splitlines()[-1].endswith("already exists; choose a new --output")
    assert srn_tf.load_model(tmp_path / "wide").base_filters == 6
