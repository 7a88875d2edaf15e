"""Interpolates the weights of two checkpoints of one architecture ("model soup").

    python tools/interpolate_weights.py --start=runs/default_model_textures \
        --end=runs/default_model_light --weight=0.3 --output=runs/default_model_blend

Writes a checkpoint folder (as `srn_tf.save_model`) whose every weight is
`(1 - weight) * start + weight * end`. A fine-tuning can trade strengths with its
start (step 7 of the bundled model's recipe deblurs light blur better and strong
blur worse than step 6, its start); a point between them can keep most of both
(Wortsman et al., "Robust fine-tuning of zero-shot models", 2022). The command
above is step 8 of that recipe (tools/rebuild_default_model.sh, docs/default-model.md). The output is
written under a temporary name and renamed, and never replaces an existing folder.
"""

import os

from absl import app, flags

import srn_tf
from srn_tf.cli.common import fail
from srn_tf.checkpoints.model_folder import save_model_folder

FLAGS = flags.FLAGS
flags.DEFINE_string("start", None, "Checkpoint folder (or prefix) at weight 0.", required=True)
flags.DEFINE_string("end", None, "Checkpoint folder (or prefix) at weight 1; same architecture.",
                    required=True)
flags.DEFINE_float("weight", None, "Share of --end in each weight, in [0, 1].", required=True)
flags.DEFINE_string("output", None, "Folder to write (must not exist).", required=True)


def interpolate_weights(start, end, weight):
    """`start` with each weight set to `(1 - weight) * start + weight * end`.

    Args:
        start, end: built `SRNDeblurNet`s of one architecture.
        weight: float in [0, 1], the share of `end`.

    Returns:
        `start`, changed in place.
    """
    for start_variable, end_variable in zip(start.weights, end.weights, strict=True):
        start_variable.assign((1.0 - weight) * start_variable + weight * end_variable)
    return start


def main(argv):
    del argv
    if not 0.0 <= FLAGS.weight <= 1.0:
        fail(f"--weight must be in [0, 1]. Received: {FLAGS.weight}")
    if os.path.exists(FLAGS.output):
        fail(f"{FLAGS.output}: already exists; choose a new --output")
    try:
        start, end = srn_tf.load_model(FLAGS.start), srn_tf.load_model(FLAGS.end)
    except (ValueError, FileNotFoundError) as error:
        fail(str(error))
    if start.architecture() != end.architecture():
        fail(f"{FLAGS.start} and {FLAGS.end}: different architectures "
             f"({start.architecture()} against {end.architecture()})")
    model = interpolate_weights(start, end, FLAGS.weight)
    save_model_folder(model, FLAGS.output)
    print(f"wrote {FLAGS.output}: {1.0 - FLAGS.weight:g} x {FLAGS.start} + "
          f"{FLAGS.weight:g} x {FLAGS.end}")


if __name__ == "__main__":
    app.run(main)
