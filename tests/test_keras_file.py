"""`.keras` files: export_keras_file, and loading one with only keras and srn_tf imported."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import srn_tf
from srn_tf.export.keras_file import export_keras_file

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The same weights and the same ops in another process: 1e-6 covers any reordering
# of float32 sums between runs (in practice they are equal).
TOLERANCE = 1e-6
# A fresh process that imports keras and srn_tf only (no SRNDeblurNet by name:
# `import srn_tf` must register it), loads the file, and saves its three levels.
LOAD_SCRIPT = """
import sys
import keras, numpy as np
import srn_tf
model = keras.saving.load_model(sys.argv[1])
images = np.load(sys.argv[2])
levels = srn_tf.predict_levels_any_size(model, images)
np.savez(sys.argv[3], *[keras.ops.convert_to_numpy(level) for level in levels])
print(type(model).__module__, type(model).__name__, model.count_params())
"""


@pytest.fixture(scope="module")
def small_model():
    return srn_tf.build_model("lstm", base_filters=4, blocks_per_stage=1)


def test_a_keras_file_loads_in_a_fresh_process_with_the_same_outputs(small_model, tmp_path):
    path = export_keras_file(small_model, tmp_path / "small.keras")
    assert path == str(tmp_path / "small.keras")
    images = np.random.default_rng(0).uniform(0, 1, (1, 35, 51, 1)).astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, path, tmp_path / "images.npy", tmp_path / "out.npz"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": REPO})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-3:] == ["srn_tf.models.srn_deblur_net", "SRNDeblurNet",
                                          str(small_model.count_params())]
    loaded = np.load(tmp_path / "out.npz")
    expected = srn_tf.predict_levels_any_size(small_model, images)
    assert len(loaded.files) == 3
    for level, want in enumerate(expected):
        np.testing.assert_allclose(loaded[f"arr_{level}"], keras.ops.convert_to_numpy(want),
                                   atol=TOLERANCE, rtol=0, err_msg=f"level {level}")


def test_srn_tf_imported_before_keras_registers_the_network_without_loading_keras():
    # The other order (keras first) is LOAD_SCRIPT's. `import srn_tf` must not load Keras
    # (and so TensorFlow); Keras's import, when it comes, registers the network.
    code = ("import sys, srn_tf; assert 'keras' not in sys.modules, 'srn_tf loaded keras'; "
            "import keras; print(keras.saving.get_registered_object('srn_tf>SRNDeblurNet'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "<class 'srn_tf.models.srn_deblur_net.SRNDeblurNet'>"


def test_the_file_keeps_the_architecture_and_the_dtype_policy(tmp_path):
    model = srn_tf.build_model("color", base_filters=4, blocks_per_stage=1, kernel_size=3,
                               residual_output=True, dtype="mixed_bfloat16")
    restored = keras.saving.load_model(export_keras_file(model, tmp_path / "m.keras"))
    assert restored.architecture() == model.architecture()
    assert restored.dtype_policy.name == "mixed_bfloat16"
    for got, want in zip(restored.weights, model.weights):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_an_existing_file_is_kept_unless_overwrite(small_model, tmp_path):
    path = tmp_path / "small.keras"
    path.write_bytes(b"keep")
    # Only a .keras file of an SRNDeblurNet is ever replaced; b"keep" is not one.
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="small.keras: not an srn-export output"):
            export_keras_file(small_model, path, overwrite=overwrite)
    assert path.read_bytes() == b"keep"
    path.unlink()
    export_keras_file(small_model, path)
    with pytest.raises(FileExistsError, match="small.keras: already exists"):
        export_keras_file(small_model, path)
    export_keras_file(small_model, path, overwrite=True)
    assert keras.saving.load_model(path).count_params() == small_model.count_params()
    assert sorted(os.listdir(tmp_path)) == ["small.keras"]  # no temporary file left


def test_a_failed_export_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="must end in .keras"):
        export_keras_file(srn_tf.build_model("gray", base_filters=4, blocks_per_stage=1),
                          tmp_path / "model.h5")
    unbuildable = object()
    with pytest.raises(Exception):
        export_keras_file(unbuildable, tmp_path / "x.keras")
    assert os.listdir(tmp_path) == []
