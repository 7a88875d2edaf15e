"""The training step and loop: learning, exact resume, divergence, precision, init."""

import json
import logging
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from absl import logging as absl_logging

import srn_tf
from srn_tf.precision import PRECISIONS, check_precision, keras_policy, normalize_precision
from srn_tf.training.trainer import TrainingConfig, TrainingDivergedError, format_duration, train
from srn_tf.training.train_step import learning_rate_schedule, make_optimizer, make_train_step
from tests.pair_files import write_random_pairs

SMALL_MODEL = dict(base_filters=4, blocks_per_stage=1)


def _small_run(tmp_path, name="run", **overrides):
    """A tiny shuffled, seeded, augmented run: 4 pairs of 48x48, crops of 32, batch 2."""
    list_path = os.path.join(tmp_path, "pairs", "list.txt")
    if not os.path.exists(list_path):
        write_random_pairs(os.path.join(tmp_path, "pairs"), 4, 48, 48, seed=1)
    settings = dict(model="color", datalist=list_path, checkpoint_dir=os.path.join(tmp_path, name),
                    batch_size=2, crop_size=32, max_steps=5, seed=3, shuffle=True,
                    augment=True, checkpoint_every=100, summary_every=2, log_every=1,
                    **SMALL_MODEL)
    settings.update(overrides)
    return TrainingConfig(**settings)


def _checkpoint_values(prefix):
    """Every variable of a checkpoint but the save counter, by name."""
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith(("save_counter", "_CHECKPOINTABLE_OBJECT_GRAPH"))}


def _one_device_step(model, batch, schedule=1e-3, loss_scaling=False, loss="mse"):
    optimizer = make_optimizer(schedule, loss_scaling=loss_scaling)
    optimizer.build(model.trainable_variables)
    counter = tf.Variable(0, dtype=tf.int64)
    step = make_train_step(model, optimizer, tf.distribute.get_strategy(), batch, counter,
                           loss=loss)
    return step, optimizer


def _tiny_batch(count=2, size=32, seed=0):
    rng = np.random.default_rng(seed)
    sharp = rng.uniform(0, 1, (count, size, size, 3)).astype(np.float32)
    blur = tf.nn.avg_pool2d(sharp, 3, 1, "SAME").numpy()
    return tf.constant(blur), tf.constant(sharp)


def test_two_tiny_pairs_are_overfit_within_a_few_hundred_steps():
    keras.utils.set_random_seed(0)
    model = srn_tf.build_model("color", base_filters=8, blocks_per_stage=1)
    blur, sharp = _tiny_batch()
    step, _ = _one_device_step(model, batch=2, schedule=1e-3)
    losses = [float(step(blur, sharp)[0]) for _ in range(250)]
    assert np.isfinite(losses).all()
    # The error falls tenfold.
    assert min(losses[-10:]) * 10 <= losses[0], (losses[0], losses[-10:])


def test_a_run_with_3x3_kernels_is_reloaded_with_them(tmp_path):
    config = _small_run(tmp_path, kernel_size=3, max_steps=1)
    train(config)
    model = srn_tf.load_model(config.checkpoint_dir)
    assert model.kernel_size == 3
    assert model.get_layer("encoder_1").conv.kernel.shape[:2] == (3, 3)


def test_one_precision_vocabulary_maps_to_keras_policies():
    assert PRECISIONS == ("float32", "bfloat16", "float16")
    assert [keras_policy(p) for p in PRECISIONS] == ["float32", "mixed_bfloat16", "mixed_float16"]
    assert [normalize_precision(p) for p in ("mixed_float16", "mixed_bfloat16", "float32",
                                             "x")] == ["float16", "bfloat16", "float32", "x"]
    with pytest.raises(ValueError, match=re.escape(
            "precision must be one of float32, bfloat16, float16. Received: precision='half'")):
        keras_policy("half")
    with pytest.raises(ValueError, match="Received: precision='mixed_float16'"):
        check_precision("mixed_float16")  # aliases are srn-train's, normalised first


def test_former_mixed_precision_values_name_the_same_precisions():
    """Scripts and flags.json files of earlier runs say mixed_float16 / mixed_bfloat16."""
    for old, new in (("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")):
        assert TrainingConfig(mixed_precision=old) == TrainingConfig(mixed_precision=new)
    config = TrainingConfig(datalist="list.txt", mixed_precision="half")
    with pytest.raises(ValueError, match="mixed_precision must be one of float32, bfloat16, "
                                         "float16. Received: mixed_precision='half'"):
        config.validate()


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_mixed_precision_step_has_a_finite_loss_and_float32_variables(precision):
    keras.utils.set_random_seed(0)
    model = srn_tf.build_model("gray", dtype=keras_policy(precision), **SMALL_MODEL)
    blur, sharp = _tiny_batch()
    blur, sharp = tf.image.rgb_to_grayscale(blur), tf.image.rgb_to_grayscale(sharp)
    step, optimizer = _one_device_step(model, batch=2, loss_scaling=precision == "float16")
    before = [v.numpy() for v in model.trainable_variables]
    total, per_level = step(blur, sharp)
    assert total.dtype == tf.float32 and np.isfinite(float(total))
    assert len(per_level) == 3
    assert model.compute_dtype == precision
    assert all(v.dtype == "float32" for v in model.weights)
    slots = [v for v in optimizer.variables if "float" in str(v.dtype)]
    assert slots and all(str(v.dtype) == "float32" for v in slots)
    moved = [not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables)]
    assert any(moved)


@pytest.mark.parametrize("model_type", ["color", "gray"])
def test_validation_psnr_is_tf_image_psnr_of_the_clipped_output(tmp_path, model_type):
    """metrics.psnr at peak 1 gives the number tf.image.psnr gave (float32 vs float64 MSE)."""
    from srn_tf.data.input_pipeline import load_pair
    from srn_tf.data.pairs import read_datalist
    from srn_tf.models.padding import predict_levels_any_size
    from srn_tf.training.trainer import _psnr_on

    list_path, _, _ = write_random_pairs(str(tmp_path), 2, 40, 56, seed=5)
    pairs = read_datalist(list_path)
    keras.utils.set_random_seed(1)
    model = srn_tf.build_model(model_type, **SMALL_MODEL)
    channels = 3 if model_type == "color" else 1
    expected = []
    for pair in pairs:
        blur, sharp = load_pair(tf.constant(pair.sharp_path), tf.constant(pair.blur_path),
                                channels)
        result = predict_levels_any_size(model, blur[None])[-1]
        expected.append(float(tf.image.psnr(tf.clip_by_value(result, 0.0, 1.0), sharp[None],
                                            1.0)[0]))
    assert _psnr_on(model, pairs, channels) == pytest.approx(np.mean(expected), abs=1e-4)


def test_eta_past_a_day_keeps_counting_hours():
    assert format_duration(0) == "0:00:00"
    assert format_duration(3599.6) == "1:00:00"
    assert format_duration(26 * 3600 + 2 * 60 + 40) == "26:02:40"  # strftime said 02:02:40


def test_polynomial_schedule_is_the_release_formula():
    schedule = learning_rate_schedule("polynomial", 1e-4, 8, power=0.3)
    for step in (0, 3, 8, 9):
        expected = 1e-4 * (1 - min(step, 8) / 8) ** 0.3
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-6)


@pytest.fixture(scope="module")
def straight_and_resumed(tmp_path_factory):
    """The same run made straight through, and stopped after 3 updates then resumed."""
    folder = str(tmp_path_factory.mktemp("resume"))
    straight = train(_small_run(folder, "straight", checkpoint_every=2))
    first_half = train(_small_run(folder, "resumed", checkpoint_every=2), stop_at_step=3)
    assert first_half.step == 3
    resumed = train(_small_run(folder, "resumed", checkpoint_every=2))
    return straight, resumed, os.path.join(folder, "resumed")


def test_stop_at_step_counts_all_updates_and_a_run_already_there_makes_none(tmp_path):
    first = train(_small_run(str(tmp_path)), stop_at_step=2)
    assert (first.step, first.interrupted_by) == (2, None) and first.checkpoint.endswith("ckpt-2")
    saved = _checkpoint_values(first.checkpoint)
    again = train(_small_run(str(tmp_path)), stop_at_step=2)
    assert again.step == 2
    got = _checkpoint_values(tf.train.latest_checkpoint(str(tmp_path / "run")))
    for name in saved:
        np.testing.assert_array_equal(got[name], saved[name], err_msg=name)
    with pytest.raises(ValueError, match="stop_at_step must be >= 0"):
        train(_small_run(str(tmp_path)), stop_at_step=-1)


def test_resumed_run_ends_with_the_same_weights_and_optimizer_slots(straight_and_resumed):
    straight, resumed, _ = straight_and_resumed
    assert (straight.step, straight.max_steps) == (6, 5)
    assert resumed.step == 6
    expected = _checkpoint_values(straight.checkpoint)
    got = _checkpoint_values(resumed.checkpoint)
    assert set(got) == set(expected)
    assert any("optimizer" in name for name in got) and any("step" in name for name in got)
    for name in expected:
        # Deterministic ops, one seed, data indexed by step: bit-identical.
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)



@pytest.mark.slow  # about a minute on 2 cores: two XLA-compiled runs and a resume
def test_xla_compiled_runs_repeat_and_resume_bit_for_bit(tmp_path):
    """--jit_compile keeps what the default step guarantees: same seed, same weights,
    and 3 updates + restart + 3 equal to 6 straight, optimizer slots included."""
    folder = str(tmp_path)
    options = dict(checkpoint_every=2, jit_compile=True)
    straight = train(_small_run(folder, "straight", **options))
    again = train(_small_run(folder, "again", **options))
    train(_small_run(folder, "resumed", **options), stop_at_step=3)
    resumed = train(_small_run(folder, "resumed", **options))
    expected = _checkpoint_values(straight.checkpoint)
    for other in (again, resumed):
        got = _checkpoint_values(other.checkpoint)
        assert set(got) == set(expected)
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)

def test_load_model_restores_the_newest_checkpoint_of_a_training_folder(straight_and_resumed):
    _, resumed, folder = straight_and_resumed
    assert tf.train.latest_checkpoint(folder).endswith("ckpt-6")
    loaded = srn_tf.load_model(folder)
    older = srn_tf.load_model(os.path.join(folder, "ckpt-4"))
    for got, want in zip(loaded.weights, resumed.model.weights):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert any(not np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(loaded.weights, older.weights))
    # Beside every checkpoint kept, its Keras weights file (what JAX and PyTorch load).
    kept = tf.train.get_checkpoint_state(folder).all_model_checkpoint_paths
    assert sorted(name for name in os.listdir(folder) if name.endswith(".weights.h5")) == \
        sorted(os.path.basename(prefix) + ".weights.h5" for prefix in kept)
    keras_copy = srn_tf.build_model("color", **SMALL_MODEL)
    keras_copy.load_weights(os.path.join(folder, "ckpt-6.weights.h5"))
    for got, want in zip(keras_copy.weights, loaded.weights):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with open(os.path.join(folder, "flags.json")) as handle:
        assert json.load(handle)["seed"] == 3
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(
        os.path.join(folder, "train")))  # TensorBoard summaries


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    # A rate of 1e30 sends the weights to ~1e30 in one update; the next loss overflows.
    config = _small_run(tmp_path, lr=1e30, lr_schedule="constant", checkpoint_every=1)
    with pytest.raises(TrainingDivergedError, match=r"loss is (nan|inf) at step 1.*ckpt-1"):
        train(config)
    assert tf.train.latest_checkpoint(config.checkpoint_dir).endswith("ckpt-1")
    assert np.isfinite(float(np.abs(srn_tf.load_model(config.checkpoint_dir).weights[0]).max()))


@pytest.fixture
def absl_info_logging():
    """Training logs at INFO; console scripts run in-process by other tests lower it."""
    previous = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.INFO)
    yield
    absl_logging.set_verbosity(previous)


def test_init_checkpoint_copies_an_srn_tf_folder_and_is_ignored_on_resume(
        tmp_path, caplog, absl_info_logging):
    keras.utils.set_random_seed(42)
    source = srn_tf.build_model("color", **SMALL_MODEL)
    # Outputs offset by 100: a loss near 1e4, large but finite, which must not
    # stop training (the release's own first steps spike to ~25).
    source.output_block.conv.bias.assign(np.full((3,), 100.0, np.float32))
    srn_tf.save_model(source, os.path.join(tmp_path, "source"))
    # A rate of 0 leaves the copied weights as they are through the updates.
    config = _small_run(tmp_path, init_checkpoint=os.path.join(tmp_path, "source"),
                        lr_schedule="constant", lr=0.0, max_steps=1, validate_every=2,
                        validation_datalist=os.path.join(tmp_path, "pairs", "list.txt"))
    with caplog.at_level(logging.INFO):
        result = train(config)
    assert result.step == 2
    # Outputs ~100 are clipped to 1; against uniform random sharp images the mean
    # squared error is then ~1/3, a PSNR of 10 * log10(3) = 4.77 dB.
    psnr = float(re.search(r"validation PSNR (-?[0-9.]+) dB", caplog.text).group(1))
    assert 4.0 < psnr < 5.5
    losses = [float(v) for v in re.findall(r"step \d+/\d+ loss ([0-9.]+)", caplog.text)]
    assert len(losses) == 2 and min(losses) > 1000
    for got, want in zip(result.model.weights, source.weights):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    caplog.clear()
    with caplog.at_level(logging.INFO):
        train(config)
    assert "--init_checkpoint" in caplog.text and "ignored" in caplog.text

    other = _small_run(tmp_path, "other", init_checkpoint=os.path.join(tmp_path, "source"),
                       base_filters=8)
    with pytest.raises(ValueError, match="another architecture"):
        train(other)


def test_init_checkpoint_accepts_a_float16_folder_like_the_bundled_model(tmp_path):
    """Fine-tuning the bundled default model: its weights are stored in float16."""
    keras.utils.set_random_seed(7)
    source = srn_tf.build_model("color", **SMALL_MODEL)
    srn_tf.save_model(source, os.path.join(tmp_path, "source"), weights_dtype="float16")
    config = _small_run(tmp_path, init_checkpoint=os.path.join(tmp_path, "source"),
                        lr_schedule="constant", lr=0.0, max_steps=1)
    result = train(config)
    assert all(weight.dtype == "float32" for weight in result.model.weights)
    # A rate of 0 keeps the copied weights: the source's, rounded to float16 and
    # back (so equal to float16 precision, relative 2**-11, not exactly).
    for got, want in zip(result.model.weights, source.weights):
        np.testing.assert_array_equal(got.numpy(), want.numpy().astype(np.float16))


@pytest.mark.slow  # XLA compiles the step twice (float32, bfloat16)
def test_xla_compiled_bfloat16_step_makes_the_same_first_update_as_float32():
    """--jit_compile with bfloat16 (the fast CPU setting) trains the same model."""
    blur, sharp = _tiny_batch()
    moved = {}
    for precision in ("float32", "bfloat16"):
        keras.utils.set_random_seed(0)
        model = srn_tf.build_model("color", dtype=keras_policy(precision), **SMALL_MODEL)
        optimizer = make_optimizer(1e-3)
        optimizer.build(model.trainable_variables)
        step = make_train_step(model, optimizer, tf.distribute.get_strategy(), 2,
                               tf.Variable(0, dtype=tf.int64), jit_compile=precision != "float32")
        before = np.concatenate([v.numpy().ravel() for v in model.trainable_variables])
        assert np.isfinite(float(step(blur, sharp)[0]))
        after = np.concatenate([v.numpy().ravel() for v in model.trainable_variables])
        moved[precision] = np.sign(after - before)
    # Adam's first step is lr * sign(gradient); bfloat16's 8-bit mantissa may flip
    # the sign of near-zero gradients (measured: 98.8% of the steps agree).
    assert np.mean(moved["float32"] == moved["bfloat16"]) > 0.9
