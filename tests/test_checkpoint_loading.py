"""load_checkpoint: srn_tf folders and the release's TF1 checkpoints through one call."""

import re

import numpy as np
import pytest

import srn_tf
from srn_tf.checkpoint_loading import load_checkpoint
from tests import tf1_reference


@pytest.fixture(scope="module")
def tf1_gray_checkpoint(tmp_path_factory):
    weights = tf1_reference.random_release_weights("gray", seed=2)
    return weights, tf1_reference.write_tf1_checkpoint(weights, tmp_path_factory.mktemp("tf1"))


def test_tf1_checkpoint_loads_into_the_named_model_type(tf1_gray_checkpoint):
    weights, prefix = tf1_gray_checkpoint
    model = load_checkpoint(prefix, "gray")
    assert srn_tf.model_type_of(model) == "gray"
    kernel = model.output_block.conv.kernel.numpy()
    np.testing.assert_array_equal(kernel, weights["g_net/dec1_0/weights"])


def test_tf1_checkpoint_without_model_type_names_the_flag(tf1_gray_checkpoint):
    _, prefix = tf1_gray_checkpoint
    with pytest.raises(ValueError, match=re.escape("--model=color|gray|lstm")):
        load_checkpoint(prefix)


def test_srn_tf_folder_loads_with_its_own_model_type(tmp_path):
    model = srn_tf.build_model("gray", base_filters=4, blocks_per_stage=1)
    srn_tf.save_model(model, tmp_path / "model")
    loaded = load_checkpoint(tmp_path / "model", "color")
    def config(m):
        return {k: v for k, v in m.get_config().items() if k != "name"}

    assert config(loaded) == config(model)
    for saved, restored in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(saved.numpy(), restored.numpy())


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere: no such checkpoint"):
        load_checkpoint(tmp_path / "nowhere")
