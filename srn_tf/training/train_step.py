"""One training update: the release's optimizer and schedule, and a distributed step.

The optimizer and schedule are plain Keras, shared with the JAX step
(`jax_train_step.py`); TensorFlow is imported by `make_train_step` only, so that
the JAX step runs where TensorFlow is not installed.
"""

import keras

from srn_tf.training.losses import loss_function

LR_SCHEDULES = ("polynomial", "constant", "cosine")
# TF1's tf.train.AdamOptimizer default; Keras 3's default is 1e-7.
TF1_ADAM_EPSILON = 1e-8


def learning_rate_schedule(kind, learning_rate, max_steps, power=0.3):
    """The learning rate as a function of the update index (0 for the first update).

    Args:
        kind: "polynomial" (the release: `learning_rate * (1 - step / max_steps) **
            power`, 0 from max_steps on), "constant", or "cosine" (to 0 at max_steps).
        learning_rate: the initial rate (1e-4 in the release).
        max_steps: where the rate reaches 0.
        power: the polynomial's power (0.3 in the release).

    Returns:
        A Keras schedule or a float.
    """
    if kind == "polynomial":
        return keras.optimizers.schedules.PolynomialDecay(
            learning_rate, max_steps, end_learning_rate=0.0, power=power)
    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(learning_rate, max_steps, alpha=0.0)
    if kind == "constant":
        return float(learning_rate)
    raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}. Received: {kind!r}")


def make_optimizer(schedule, loss_scaling=False):
    """Adam with TF1's defaults (beta1 0.9, beta2 0.999, epsilon 1e-8).

    With `loss_scaling` (needed by float16 training, Keras' `mixed_float16`
    policy) it is wrapped in Keras' dynamic `LossScaleOptimizer`, which skips
    updates whose gradients overflow.
    """
    optimizer = keras.optimizers.Adam(
        learning_rate=schedule, beta_1=0.9, beta_2=0.999, epsilon=TF1_ADAM_EPSILON)
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def current_learning_rate(optimizer):
    """The rate the optimizer's next update will use, as a Python float."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    rate = inner.learning_rate
    return float(rate.numpy() if hasattr(rate, "numpy") else rate)


def make_train_step(model, optimizer, strategy, global_batch_size, step_counter,
                    jit_compile=False, eager=False, loss="mse"):
    """Builds the `tf.function` that makes one update on one distributed batch.

    Each replica computes the loss (the release's MSE by default) on its share of
    the batch and scales it by (replica batch / global batch); the optimizer sums
    the replicas' gradients, so the update equals a single device's on the whole
    global batch (both losses are means over the batch).

    Args:
        model: an `SRNDeblurNet` built under `strategy.scope()`.
        optimizer: from `make_optimizer`, built on the model's variables.
        strategy: the `tf.distribute.Strategy` (the default one for one device).
        global_batch_size: images per update over all replicas.
        step_counter: int64 variable counting updates, incremented here so that a
            checkpoint never holds weights and a step count that disagree.
        jit_compile: compile the replica step with XLA.
        eager: run op by op, without `tf.function` (debugging, benchmarks).
        loss: a key of `losses.LOSSES`: "mse" (the release's).

    Returns:
        `step(blur, sharp) -> (total_loss, per_level_losses)`, float32 scalars over
        the global batch, where blur and sharp are distributed (per-replica
        batch, crop, crop, channels) batches.
    """
    import tensorflow as tf

    compute_loss = loss_function(loss)
    variables = model.trainable_variables
    scales_loss = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def replica_step(blur, sharp):
        share = tf.cast(tf.shape(blur)[0], tf.float32) / global_batch_size
        with tf.GradientTape() as tape:
            outputs = model(blur, training=True)
            total, per_level = compute_loss(sharp, outputs)
            replica_loss = total * share
            differentiated = optimizer.scale_loss(replica_loss) if scales_loss else replica_loss
        gradients = tape.gradient(differentiated, variables)
        optimizer.apply_gradients(zip(gradients, variables))
        return replica_loss, [loss * share for loss in per_level]

    if jit_compile:
        replica_step = tf.function(replica_step, jit_compile=True)

    def step(blur, sharp):
        replica_loss, replica_levels = strategy.run(replica_step, args=(blur, sharp))
        total = strategy.reduce(tf.distribute.ReduceOp.SUM, replica_loss, axis=None)
        per_level = [strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
                     for loss in replica_levels]
        step_counter.assign_add(1)
        return total, per_level

    return step if eager else tf.function(step)
