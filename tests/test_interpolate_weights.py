"""tools/interpolate_weights.py: every weight (1 - w) * start + w * end, one architecture only."""

import os
import subprocess
import sys

import numpy as np

import srn_tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(REPO, "tools", "interpolate_weights.py")


def _run_tool(*args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, timeout=300)


def _saved_model(folder, seed, base_filters=4):
    """A small colour model with random weights drawn from `seed`, saved in `folder`."""
    model = srn_tf.build_model("color", base_filters=base_filters, blocks_per_stage=1)
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.normal(size=variable.shape).astype(np.float32))
    srn_tf.save_model(model, folder)
    return model


def test_the_output_holds_the_weighted_mean_of_every_weight(tmp_path):
    start = _saved_model(tmp_path / "start", seed=1)
    end = _saved_model(tmp_path / "end", seed=2)
    result = _run_tool(f"--start={tmp_path / 'start'}", f"--end={tmp_path / 'end'}",
                       "--weight=0.3", f"--output={tmp_path / 'blend'}")
    assert result.returncode == 0, result.stderr[-3000:]
    blend = srn_tf.load_model(tmp_path / "blend")
    assert len(blend.weights) == len(start.weights) > 0
    for blended, first, last in zip(blend.weights, start.weights, end.weights):
        # float32 arithmetic on values of order 1: within 1e-6.
        np.testing.assert_allclose(blended.numpy(), 0.7 * first.numpy() + 0.3 * last.numpy(),
                                   atol=1e-6, rtol=0)
    assert not os.path.exists(tmp_path / "blend.new")


def _refusal(tmp_path, end, weight):
    """Runs the tool from a saved `start` to `end` (a folder name in tmp_path) and
    returns its last stderr line, after checking it failed and wrote nothing."""
    _saved_model(tmp_path / "start", seed=1)
    result = _run_tool(f"--start={tmp_path / 'start'}", f"--end={tmp_path / end}",
                       f"--weight={weight}", f"--output={tmp_path / 'blend'}")
    assert result.returncode == 1
    assert not os.path.exists(tmp_path / "blend")
    return result.stderr.strip().splitlines()[-1]


def test_different_architectures_are_refused_and_nothing_is_written(tmp_path):
    _saved_model(tmp_path / "wide", seed=2, base_filters=8)
    last_line = _refusal(tmp_path, "wide", 0.5)
    assert last_line.startswith("error: ") and "different architectures" in last_line


def test_a_weight_outside_0_1_is_refused(tmp_path):
    assert _refusal(tmp_path, "start", 1.5) == "error: --weight must be in [0, 1]. Received: 1.5"


def test_a_missing_checkpoint_is_a_one_line_error(tmp_path):
    assert _refusal(tmp_path, "gone", 0.5) == \
        f"error: {tmp_path / 'gone'}: no such checkpoint folder or checkpoint prefix"
