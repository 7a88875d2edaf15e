"""The training run: the release's recipe with resume, distribution and checks.

`train(TrainingConfig(...))` is what `srn-train` runs. It checks every pair,
restores the newest checkpoint of `checkpoint_dir` (or starts from
`init_checkpoint`), and makes updates `step .. max_steps` inclusive, as the
release's `for step in range(global_step, max_steps + 1)` does: max_steps + 1
updates, the last at learning rate 0. The input pipeline is a function of the
step (`srn_tf.data.input_pipeline`), so a checkpoint of model, optimizer and step is
the whole state of the run, and a resumed run reads the same data as an
uninterrupted one.
"""

import dataclasses
import json
import os
import shutil
import signal
import tempfile
import threading
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from srn_tf.atomic_files import write_json
from srn_tf.data.pairs import TRAINING_CHECKS, read_datalist, read_gopro
from srn_tf.data.input_pipeline import load_pair, training_dataset
from srn_tf.evaluation import metrics
from srn_tf.training.losses import loss_function
from srn_tf.models.presets import resolve_model_path
from srn_tf.models.model_types import MODEL_TYPES, build_model
from srn_tf.models.padding import predict_levels_any_size
from srn_tf.precision import check_precision, keras_policy, normalize_precision
from srn_tf.checkpoints.model_folder import (CONFIG_FILE, read_model_config,
                                             remove_stale_keras_weights, restore_weights,
                                             save_keras_weights, write_model_config)
from srn_tf.checkpoints.tf1_checkpoint import is_tf1_checkpoint, load_tf1_checkpoint
from srn_tf.training.train_step import (current_learning_rate, learning_rate_schedule,
                               make_optimizer, make_train_step)

FLAGS_FILE = "flags.json"
STRATEGIES = ("default", "mirrored", "multi_worker")
MODEL_OPTIONS = ("base_filters", "blocks_per_stage", "kernel_size", "residual_output",
                 "zero_init_output")
# Flags that change what a run computes; a resumed run should keep them.
_RUN_DEFINING = ("model", "batch_size", "crop_size", "epoch", "max_steps", "lr",
                 "lr_schedule", "lr_power", "loss", "shuffle", "seed", "augment") + MODEL_OPTIONS


@dataclasses.dataclass
class TrainingConfig:
    """Everything a run depends on; the fields are `srn-train`'s flags.

    The defaults are the release's recipe (GOPRO, `color`, batch 16, crop 256,
    4000 epochs, Adam at 1e-4 with polynomial decay of power 0.3 to 0).
    """

    model: str = "color"
    datalist: str | None = None
    gopro_dir: str | None = None
    data_root: str | None = None
    checkpoint_dir: str = "checkpoints/color"
    init_checkpoint: str | None = None
    batch_size: int = 16
    crop_size: int = 256
    epoch: int = 4000
    max_steps: int | None = None
    lr: float = 1e-4
    lr_schedule: str = "polynomial"
    lr_power: float = 0.3
    loss: str = "mse"
    shuffle: bool = True
    seed: int = 0
    deterministic: bool = True
    augment: bool = False
    mixed_precision: str = "float32"
    jit_compile: bool = False
    strategy: str = "default"
    checkpoint_every: int = 1000
    keep_checkpoints: int = 5
    log_every: int = 5
    summary_every: int = 20
    validation_datalist: str | None = None
    validate_every: int = 1000
    base_filters: int = 32
    blocks_per_stage: int = 3
    kernel_size: int = 5
    residual_output: bool = False
    zero_init_output: bool = False

    def __post_init__(self):
        # srn-train's former values, the Keras policy names ("mixed_float16"), name
        # the same precisions: a config (or a run's flags.json) holding one equals
        # one holding the word ("float16").
        self.mixed_precision = normalize_precision(self.mixed_precision)

    def validate(self):
        """Raises ValueError naming the first inconsistent setting."""
        if self.model not in MODEL_TYPES:
            raise ValueError(f"model must be one of {sorted(MODEL_TYPES)}. Received: {self.model!r}")
        if (self.datalist is None) == (self.gopro_dir is None):
            raise ValueError("give exactly one of datalist and gopro_dir")
        loss_function(self.loss)  # raises ValueError naming the known losses
        check_precision(self.mixed_precision, "mixed_precision")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}")
        for name in ("batch_size", "crop_size", "epoch", "checkpoint_every",
                     "keep_checkpoints", "log_every", "summary_every", "validate_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1. Received: {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 0:
            raise ValueError(f"max_steps must be >= 0. Received: {self.max_steps}")
        if self.crop_size % 16:
            raise ValueError(f"crop_size must be a multiple of 16. Received: {self.crop_size}")


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or Inf; the last good checkpoint is kept."""


@dataclasses.dataclass
class TrainingResult:
    """How a call to `train` ended."""

    step: int  # updates made in total, this run and earlier ones
    max_steps: int  # the schedule's horizon; a finished run made max_steps + 1 updates
    interrupted_by: str | None  # signal name when stopped early, else None
    checkpoint: str | None  # the newest checkpoint written
    model: object = dataclasses.field(repr=False, default=None)  # the trained SRNDeblurNet


# Validation runs on whole images; the smallest side the check lets through.
VALIDATION_MIN_SIDE = 16


def training_pairs(config):
    """The run's `ImagePair`s from `datalist` or GOPRO's `train` split, checked.

    Raises:
        srn_tf.data.pairs.PairListError: naming every unusable file.
    """
    checks = dict(TRAINING_CHECKS, min_side=config.crop_size)
    if config.gopro_dir is not None:
        return read_gopro(config.gopro_dir, split="train", **checks)
    return read_datalist(config.datalist, config.data_root, **checks)


def release_max_steps(num_pairs, batch_size, epochs):
    """The release's horizon: epoch * (pairs // batch_size)."""
    return epochs * (num_pairs // batch_size)


def make_strategy(name):
    """The tf.distribute strategy for `--strategy`.

    `mirrored` uses every GPU, or every logical CPU device when there is no GPU;
    `multi_worker` reads the cluster from TF_CONFIG.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(devices=devices)


def format_duration(seconds):
    """'H:MM:SS' with as many hours as it takes (strftime's %H wraps at 24 h)."""
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if "chief" in resolver.cluster_spec().as_dict():
        return task_type == "chief"
    return task_type == "worker" and task_id == 0


def _model_config(config):
    return {name: getattr(config, name) for name in MODEL_OPTIONS}


def _init_from(model, path):
    """Copies weights from an srn_tf checkpoint folder (or a preset's name, e.g.
    "default") or an original TF1 checkpoint.

    An srn_tf folder goes through `restore_weights`, as `load_model` does, so
    float16 folders (the bundled default model, `srn_tf/models/presets/default`) start a
    run too, cast to float32.
    """
    path = resolve_model_path(path)
    if os.path.isfile(os.path.join(path, CONFIG_FILE)):
        config = read_model_config(path)
        stored = config["model"]
        wanted = model.architecture()
        differences = {k: (stored.get(k), v) for k, v in wanted.items() if stored.get(k) != v}
        if differences:
            raise ValueError(f"{path}: --init_checkpoint has another architecture "
                             f"(stored, wanted): {differences}")
        prefix = tf.train.latest_checkpoint(path)
        if prefix is None:
            raise ValueError(f"{path}: has {CONFIG_FILE} but no checkpoint files")
        restore_weights(model, config, prefix)
        return prefix
    if is_tf1_checkpoint(path):
        return load_tf1_checkpoint(model, path)
    raise ValueError(f"{path}: --init_checkpoint is neither an srn_tf checkpoint folder "
                     "nor an original TF1 checkpoint")


def _check_resumable(directory, model, config):
    """Refuses to resume a folder that holds a run of another architecture."""
    stored = read_model_config(directory)
    if stored.get("model") != model.architecture():
        raise ValueError(f"{directory}: holds a run of another model ({stored.get('model')}); "
                         "use a new --checkpoint_dir")
    flags_path = os.path.join(directory, FLAGS_FILE)
    if os.path.isfile(flags_path):
        with open(flags_path) as handle:
            previous = json.load(handle)
        if "mixed_precision" in previous:  # runs written before the precision words
            previous["mixed_precision"] = normalize_precision(previous["mixed_precision"])
        changed = [f"{k}: {previous.get(k)!r} -> {getattr(config, k)!r}"
                   for k in _RUN_DEFINING if previous.get(k) != getattr(config, k)]
        if changed:
            logging.warning("resuming %s with changed settings (%s); the run will not match "
                            "an uninterrupted one", directory, "; ".join(changed))


class _StopRequest:
    """Turns SIGTERM and Ctrl-C into a request to stop after the current step."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.signal_name = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self  # Python delivers signals to the main thread only.
        for number in self.SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number, frame):
        del frame
        self.signal_name = signal.Signals(number).name

    def __exit__(self, *exc):
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _psnr_on(model, pairs, channels):
    """Mean PSNR (dB, peak 1) of the model's clipped finest level over full images.

    srn-eval's `metrics.psnr` on the float output (not rounded to 8 bits), over
    every value of an image; identical images score inf, as there.
    """
    values = []
    for pair in pairs:
        blur, sharp = load_pair(tf.constant(pair.sharp_path), tf.constant(pair.blur_path),
                                channels)
        result = predict_levels_any_size(model, blur[None])[-1][0].numpy()
        values.append(metrics.psnr(np.clip(result, 0.0, 1.0), sharp.numpy(), data_range=1.0))
    return float(np.mean(values))


def _write_summaries(step, total, levels, learning_rate, model, blur, sharp):
    """Losses, learning rate and a [blur | output | sharp] strip of one image."""
    tf.summary.scalar("loss/total", total, step=step)
    for level, loss in enumerate(levels):
        tf.summary.scalar(f"loss/level_{level}", loss, step=step)
    tf.summary.scalar("learning_rate", learning_rate, step=step)
    output = model(blur[:1], training=False)[-1]
    strip = tf.concat([blur[:1], tf.clip_by_value(output, 0.0, 1.0), sharp[:1]], axis=2)
    if strip.shape[-1] == 1:
        strip = tf.image.grayscale_to_rgb(strip)
    tf.summary.image("blur_output_sharp", strip, step=step)


def train(config, stop_at_step=None):
    """Runs (or resumes) a training run. See the module docstring.

    Args:
        config: a `TrainingConfig`.
        stop_at_step: save and return once the run has made this many updates in
            all (a time-boxed job; the schedule still ends at max_steps, and calling
            again without it resumes). None: run to the end.

    Returns:
        A `TrainingResult`.

    Raises:
        srn_tf.data.pairs.PairListError: a listed file is missing or unusable (all named).
        ValueError: inconsistent settings or an unusable init/resume checkpoint.
        TrainingDivergedError: the loss became NaN or Inf.
    """
    config.validate()
    if stop_at_step is not None and stop_at_step < 0:
        raise ValueError(f"stop_at_step must be >= 0. Received: {stop_at_step}")
    strategy = make_strategy(config.strategy)  # first: MWMS must precede other TF work
    chief = _is_chief(strategy)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)

    pairs = training_pairs(config)
    validation_pairs = None
    if config.validation_datalist:
        validation_pairs = read_datalist(config.validation_datalist, config.data_root,
                                         **TRAINING_CHECKS, min_side=VALIDATION_MIN_SIDE)
    max_steps = (config.max_steps if config.max_steps is not None
                 else release_max_steps(len(pairs), config.batch_size, config.epoch))
    if max_steps < 1 and config.lr_schedule != "constant":
        raise ValueError(
            f"max_steps is 0 ({len(pairs)} pairs, batch {config.batch_size}): the "
            f"{config.lr_schedule} schedule needs at least 1 (lower --batch_size or set "
            "--max_steps)")
    if config.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"batch_size {config.batch_size} does not split over "
                         f"{strategy.num_replicas_in_sync} replicas")

    channels = MODEL_TYPES[config.model]["channels"]
    with strategy.scope():
        model = build_model(config.model, dtype=keras_policy(config.mixed_precision),
                            **_model_config(config))
        optimizer = make_optimizer(
            learning_rate_schedule(config.lr_schedule, config.lr, max(max_steps, 1),
                                   config.lr_power),
            loss_scaling=config.mixed_precision == "float16")
        optimizer.build(model.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)

    directory = config.checkpoint_dir if chief else tempfile.mkdtemp(prefix="srn-train-worker-")
    os.makedirs(directory, exist_ok=True)
    manager = tf.train.CheckpointManager(checkpoint, directory,
                                         max_to_keep=config.keep_checkpoints,
                                         checkpoint_name="ckpt", step_counter=step)
    latest = tf.train.latest_checkpoint(config.checkpoint_dir)
    if latest:
        _check_resumable(config.checkpoint_dir, model, config)
        checkpoint.restore(latest).assert_existing_objects_matched()
        logging.info("resuming %s at step %d%s", latest, int(step.numpy()),
                     f" (--init_checkpoint {config.init_checkpoint} ignored)"
                     if config.init_checkpoint else "")
    elif config.init_checkpoint:
        logging.info("initialised from %s", _init_from(model, config.init_checkpoint))
    if chief:
        write_model_config(model, directory)
        write_json(dataclasses.asdict(config), os.path.join(directory, FLAGS_FILE))

    first_step = int(step.numpy())
    end_step = max_steps + 1 if stop_at_step is None else min(max_steps + 1, stop_at_step)
    train_step = make_train_step(model, optimizer, strategy, config.batch_size, step,
                                 jit_compile=config.jit_compile, loss=config.loss)
    batches = strategy.distribute_datasets_from_function(
        lambda context: training_dataset(
            pairs, batch_size=config.batch_size, crop_size=config.crop_size,
            channels=channels, start_step=first_step, end_step=end_step,
            seed=config.seed, shuffle=config.shuffle, augment=config.augment,
            input_context=context))
    writer = (tf.summary.create_file_writer(os.path.join(config.checkpoint_dir, "train"))
              if chief else tf.summary.create_noop_writer())
    logging.info("training %s on %d pairs: steps %d..%d (lr 0 at %d), global batch %d on %d "
                 "replica(s)", config.model, len(pairs), first_step, max_steps, max_steps,
                 config.batch_size, strategy.num_replicas_in_sync)

    if first_step > max_steps:
        logging.info("%s: the run is complete (%d updates)", config.checkpoint_dir, first_step)
    elif first_step >= end_step:
        logging.info("%s: already at step %d (stop_at_step %d)", config.checkpoint_dir,
                     first_step, stop_at_step)
    saved = manager.latest_checkpoint
    started = time.time()
    with _StopRequest() as stop, writer.as_default():
        for blur, sharp in batches:
            learning_rate = current_learning_rate(optimizer)
            total, per_level = train_step(blur, sharp)
            done = int(step.numpy())
            total = float(total)
            if not np.isfinite(total):
                raise TrainingDivergedError(
                    f"loss is {total} at step {done - 1}: training stopped; the last good "
                    f"checkpoint is {saved or '(none written)'}")
            levels = [float(loss) for loss in per_level]
            if done % config.log_every == 0 or done == max_steps + 1:
                elapsed = time.time() - started
                rate = (done - first_step) * config.batch_size / elapsed
                eta = (max_steps + 1 - done) * config.batch_size / rate
                logging.info("step %d/%d loss %.5f (%s) lr %.3g %.1f images/s ETA %s",
                             done - 1, max_steps, total,
                             ", ".join(f"{loss:.5f}" for loss in levels), learning_rate,
                             rate, format_duration(eta))
            if done % config.summary_every == 0:
                _write_summaries(done, total, levels, learning_rate, model,
                                 strategy.experimental_local_results(blur)[0],
                                 strategy.experimental_local_results(sharp)[0])
            if validation_pairs and done % config.validate_every == 0:
                psnr = _psnr_on(model, validation_pairs, channels)
                logging.info("step %d validation PSNR %.3f dB", done - 1, psnr)
                tf.summary.scalar("validation/psnr", psnr, step=done)
            pausing = stop_at_step is not None and done >= stop_at_step
            if (done % config.checkpoint_every == 0 or done == max_steps + 1
                    or stop.signal_name or pausing):
                saved = manager.save(checkpoint_number=done)
                # The Keras copy of the weights, for load_model on JAX and PyTorch.
                save_keras_weights(model, saved)
                remove_stale_keras_weights(directory, manager.checkpoints)
            if stop.signal_name:
                logging.info("%s: stopped after step %d, saved %s; rerun the same command "
                             "to resume", stop.signal_name, done - 1, saved)
                break
            if pausing:
                break
    writer.flush()
    if not chief:
        shutil.rmtree(directory, ignore_errors=True)
        saved = None
    return TrainingResult(step=int(step.numpy()), max_steps=max_steps,
                          interrupted_by=stop.signal_name, checkpoint=saved, model=model)

