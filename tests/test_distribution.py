"""The training step under tf.distribute: MirroredStrategy and MultiWorkerMirroredStrategy.

Devices and clusters are fixed when TensorFlow starts, so each run is a subprocess.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np

from tests.pair_files import write_random_pairs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs one training in a fresh process and saves the final weights as .npy files.
_RUN = """
import os, sys, json
import numpy as np
import tensorflow as tf
from absl import logging
logging.set_verbosity(logging.INFO)
settings = json.loads(sys.argv[1])
if settings.pop("logical_cpus", 0):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from srn_tf.training.trainer import TrainingConfig, train
output = settings.pop("output")
result = train(TrainingConfig(**settings))
assert result.step == result.max_steps + 1, result
np.save(output, np.concatenate([v.numpy().ravel() for v in result.model.weights]))
"""

# Summing two replicas' gradients instead of one device's reduction reorders
# float32 sums (~1e-7 relative); Adam turns that into small step differences
# where a gradient is near its epsilon. 1% of the update's norm bounds this.
UPDATE_TOLERANCE = 1e-2


def _settings(tmp_path, name, **overrides):
    list_path = os.path.join(tmp_path, "pairs", "list.txt")
    if not os.path.exists(list_path):
        write_random_pairs(os.path.join(tmp_path, "pairs"), 4, 48, 48, seed=4)
    settings = dict(model="color", datalist=list_path, checkpoint_dir=os.path.join(tmp_path, name),
                    batch_size=4, crop_size=32, max_steps=3, seed=9, shuffle=True,
                    base_filters=4, blocks_per_stage=1, log_every=1, summary_every=2,
                    output=os.path.join(tmp_path, f"{name}.npy"))
    settings.update(overrides)
    return settings


def _start(settings, env=None):
    return subprocess.Popen([sys.executable, "-c", _RUN, json.dumps(settings)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(process):
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]
    return output


def _initial_weights(settings):
    """The run's seeded initial weights (to measure the update by)."""
    import keras

    import srn_tf

    keras.utils.set_random_seed(settings["seed"])
    model = srn_tf.build_model("color", base_filters=4, blocks_per_stage=1)
    return np.concatenate([v.numpy().ravel() for v in model.weights])


def test_mirrored_over_two_devices_makes_the_one_device_update(tmp_path):
    mirrored = _settings(tmp_path, "mirrored", strategy="mirrored", logical_cpus=2)
    single = _settings(tmp_path, "single")
    processes = [_start(mirrored), _start(single)]
    outputs = [_finish(process) for process in processes]
    assert "2 replica(s)" in outputs[0] and "1 replica(s)" in outputs[1]
    got, want = np.load(mirrored["output"]), np.load(single["output"])
    update = want - _initial_weights(single)
    assert np.linalg.norm(update) > 0
    assert np.linalg.norm(got - want) <= UPDATE_TOLERANCE * np.linalg.norm(update)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_multi_worker_processes_finish_with_identical_weights(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        settings = _settings(tmp_path, "multi_worker", strategy="multi_worker",
                             output=os.path.join(tmp_path, f"worker_{index}.npy"))
        processes.append(_start(settings, env))
    for process in processes:
        _finish(process)
    chief, other = (np.load(os.path.join(tmp_path, f"worker_{i}.npy")) for i in range(2))
    np.testing.assert_array_equal(chief, other)
    assert np.linalg.norm(chief - _initial_weights(_settings(tmp_path, "x"))) > 0
    # Only worker 0 writes the run's folder.
    assert sorted(os.listdir(tmp_path / "multi_worker"))[:1] == ["checkpoint"]
