"""One training update on the JAX backend: the release's loss and Adam, without TensorFlow.

The TensorFlow step (`train_step.make_train_step`) differentiates with a
`tf.GradientTape`; this one runs the same model purely functionally:
`model.stateless_call` on explicit weight values, `jax.value_and_grad` of the
release's loss (`losses.multiscale_loss`: the MSE of every level against the
sharp image resized with the legacy resize, summed), and the same
`keras.optimizers.Adam` (`train_step.make_optimizer`, TF1's constants, the
schedule of `train_step.learning_rate_schedule`) through `stateless_apply`. From
the same weights and batch it makes the TensorFlow step's update (to 1e-4
relative, tests/test_backends_jax.py). The whole step is one `jax.jit`.

    state = initial_state(model, optimizer)
    step = make_jax_train_step(model, optimizer)
    for blur, sharp in batches:            # numpy (batch, crop, crop, channels) in [0, 1]
        state, total, per_level = step(state, blur, sharp)
    assign_state(model, optimizer, state)  # the trained weights back into the model

docs/backends.md has a complete loop.
"""

import typing

import jax
import keras

from srn_tf.training.losses import loss_function


class JaxTrainState(typing.NamedTuple):
    """The values a JAX training step carries from one update to the next.

    Attributes:
        trainable: the model's trainable weight values (`model.trainable_variables`
            order).
        non_trainable: its non-trainable ones (none in SRNDeblurNet; kept for Keras).
        optimizer: the optimizer's variables (`optimizer.variables`: the update
            count, which drives the learning-rate schedule, and Adam's moments).
    """

    trainable: list
    non_trainable: list
    optimizer: list


def _check_backend():
    if keras.backend.backend() != "jax":
        raise RuntimeError("the JAX training step needs KERAS_BACKEND=jax. Received: Keras on "
                           f"{keras.backend.backend()} (use train_step.make_train_step there)")


def initial_state(model, optimizer):
    """The state of `model` and `optimizer` now, building the optimizer if needed.

    Args:
        model: a built `SRNDeblurNet` (e.g. `srn_tf.load_model` of a converted folder).
        optimizer: from `train_step.make_optimizer`.

    Returns:
        A `JaxTrainState`.
    """
    _check_backend()
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    return JaxTrainState([v.value for v in model.trainable_variables],
                         [v.value for v in model.non_trainable_variables],
                         [v.value for v in optimizer.variables])


def assign_state(model, optimizer, state):
    """Writes `state`'s values into the model's and the optimizer's variables, so the
    model can be called, saved (`model.save_weights`, `export_keras_file`) or resumed."""
    for variable, value in zip(model.trainable_variables, state.trainable):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, state.non_trainable):
        variable.assign(value)
    for variable, value in zip(optimizer.variables, state.optimizer):
        variable.assign(value)


def make_jax_train_step(model, optimizer, loss="mse"):
    """Builds the jitted function that makes one update on one batch.

    Args:
        model: a built `SRNDeblurNet`.
        optimizer: from `train_step.make_optimizer` (no loss scaling: float32 or
            bfloat16 models).
        loss: a key of `losses.LOSSES`: "mse" (the release's).

    Returns:
        `step(state, blur, sharp) -> (state, total_loss, per_level_losses)`: blur and
        sharp are (batch, crop, crop, channels) float32 arrays in [0, 1]; the losses
        are float32 scalars (the total, and one per level, coarse to fine). Each new
        input shape compiles the step once.
    """
    _check_backend()
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        raise ValueError("the JAX training step takes Adam without loss scaling "
                         "(make_optimizer(schedule)); float16 training is TensorFlow's")
    compute_loss = loss_function(loss)

    def loss_and_levels(trainable, non_trainable, blur, sharp):
        outputs, non_trainable = model.stateless_call(trainable, non_trainable, blur,
                                                      training=True)
        total, per_level = compute_loss(sharp, outputs)
        return total, (per_level, non_trainable)

    gradient = jax.value_and_grad(loss_and_levels, has_aux=True)

    def step(state, blur, sharp):
        (total, (per_level, non_trainable)), gradients = gradient(
            state.trainable, state.non_trainable, blur, sharp)
        trainable, optimizer_values = optimizer.stateless_apply(
            state.optimizer, gradients, state.trainable)
        return JaxTrainState(trainable, non_trainable, optimizer_values), total, per_level

    return jax.jit(step, donate_argnums=0)
