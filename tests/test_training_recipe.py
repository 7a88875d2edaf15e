"""srn-train's updates against the release's training graph written out in tf.compat.v1.

The reference here is a TF1-style graph (variables, `tf.compat.v1.train.AdamOptimizer`,
`tf.compat.v1.train.polynomial_decay`, the release's loop `for step in range(0,
max_steps + 1)`), run in a session, built from the written spec of the release and
sharing no code with srn_tf (its generator is tests/tf1_reference.py). srn-train
starts from the same weights through an original-format TF1 checkpoint
(`--init_checkpoint`), reads the same pairs in list order (`--noshuffle`, crop =
image size) and must end at the same weights.
"""

import numpy as np
import tensorflow as tf

import srn_tf
from srn_tf.training.trainer import TrainingConfig, train
from tests import tf1_reference
from tests.pair_files import write_random_pairs

# The two implementations run the same float32 ops, with reductions possibly in
# another order (~1e-7 relative). Adam divides by sqrt(v) + 1e-8, so where a
# gradient is itself ~1e-8 (about 0.5% of the weights here) that noise can change
# an element's step entirely; element-wise maxima are therefore meaningless, and
# the comparison is of norms relative to the update. Measured: weights 0.25%,
# outputs 0.012% of the update. Bounds: 1% for weights, and for the outputs
# 0.5%, the margin of the acceptance check.
WEIGHT_TOLERANCE = 1e-2
OUTPUT_TOLERANCE = 5e-3


def _release_training(weights, batches, max_steps, learning_rate=1e-4):
    """Trains like the release in a tf.compat.v1 session; returns {TF1 name: array}."""
    with tf.Graph().as_default():
        variables = {name: tf.compat.v1.Variable(value) for name, value in weights.items()}
        blur = tf.compat.v1.placeholder(tf.float32, batches[0][0].shape)
        sharp = tf.compat.v1.placeholder(tf.float32, batches[0][1].shape)
        loss = 0.0
        for output in tf1_reference.release_generator(variables, blur, "color"):
            target = tf1_reference.legacy_resize(sharp, output.shape[1:3])
            loss += tf.reduce_mean((target - output) ** 2)
        global_step = tf.compat.v1.Variable(0, dtype=tf.int32, trainable=False)
        rate = tf.compat.v1.train.polynomial_decay(learning_rate, global_step, max_steps,
                                                   end_learning_rate=0.0, power=0.3)
        update = tf.compat.v1.train.AdamOptimizer(rate).minimize(
            loss, global_step, list(variables.values()))
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for step in range(0, max_steps + 1):
                images = batches[step % len(batches)]
                session.run(update, {blur: images[0], sharp: images[1]})
            return {name: session.run(variable) for name, variable in variables.items()}


def test_srn_train_from_a_tf1_checkpoint_matches_the_release_training_graph(tmp_path):
    list_path, blurs, sharps = write_random_pairs(str(tmp_path / "pairs"), 4, 32, 32, seed=5)
    weights = tf1_reference.random_release_weights("color", seed=2)
    prefix = tf1_reference.write_tf1_checkpoint(weights, str(tmp_path / "tf1"))
    # 4 pairs, batch 2, 1 epoch: max_steps = 2, so 3 updates (the last at lr 0),
    # over the batches (pairs 0, 1), (2, 3), (0, 1).
    config = TrainingConfig(model="color", datalist=list_path, batch_size=2, crop_size=32,
                            epoch=1, shuffle=False, init_checkpoint=prefix,
                            checkpoint_dir=str(tmp_path / "run"))
    result = train(config)
    assert (result.step, result.max_steps) == (3, 2)

    as_float = [np.stack(images).astype(np.float32) / np.float32(255) for images in (blurs, sharps)]
    batches = [(as_float[0][k:k + 2], as_float[1][k:k + 2]) for k in (0, 2)]
    expected = _release_training(weights, batches, max_steps=2)

    trained = srn_tf.load_model(str(tmp_path / "run"))
    mapping = srn_tf.checkpoints.tf1_checkpoint.tf1_variable_map(trained)
    assert set(mapping) == set(weights)
    difference = np.concatenate([(mapping[n].numpy() - expected[n]).ravel() for n in weights])
    update = np.concatenate([(expected[n] - weights[n]).ravel() for n in weights])
    assert np.abs(update).max() > 1e-5  # the weights did move
    assert np.linalg.norm(difference) <= WEIGHT_TOLERANCE * np.linalg.norm(update)

    initial = srn_tf.build_model("color")
    srn_tf.load_tf1_checkpoint(initial, prefix)
    reference = srn_tf.build_model("color")
    for name, variable in srn_tf.checkpoints.tf1_checkpoint.tf1_variable_map(reference).items():
        variable.assign(expected[name])
    start, want, got = (model(as_float[0])[-1].numpy() for model in (initial, reference, trained))
    assert np.linalg.norm(got - want) <= OUTPUT_TOLERANCE * np.linalg.norm(want - start)
