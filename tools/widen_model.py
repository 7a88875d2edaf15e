"""Widens a trained model without changing what it computes (`srn_tf.widening`).

    python tools/widen_model.py --checkpoint=runs/default_model_photo \
        --base_filters=24 --output=runs/default_model_wide_init

Writes a checkpoint folder (as `srn_tf.save_model`) of the same architecture with
`--base_filters` channels instead of the checkpoint's (stages of 1x, 2x, 4x that):
old weights kept, new channels random, weights from new channels into old ones
zero, so its outputs equal the checkpoint's until it is trained. The output is
written under a temporary name and renamed, and never replaces an existing folder.
"""

import os

from absl import app, flags

import srn_tf
from srn_tf.cli.common import fail
from srn_tf.saving import save_model_folder
from srn_tf.widening import widen_model

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "Checkpoint folder (or prefix) to widen.", required=True)
flags.DEFINE_integer("base_filters", None, "Channels of the wide model's first stage; more "
                     "than the checkpoint's.", required=True)
flags.DEFINE_string("output", None, "Folder to write (must not exist).", required=True)
flags.DEFINE_integer("seed", 0, "Seed of the new channels' random weights.")


def main(argv):
    del argv
    if os.path.exists(FLAGS.output):
        fail(f"{FLAGS.output}: already exists; choose a new --output")
    try:
        model = srn_tf.load_model(FLAGS.checkpoint)
        wide = widen_model(model, FLAGS.base_filters, FLAGS.seed)
    except (ValueError, FileNotFoundError) as error:
        fail(str(error))
    save_model_folder(wide, FLAGS.output, overwrite=False)
    print(f"wrote {FLAGS.output}: {FLAGS.checkpoint} widened from base_filters "
          f"{model.base_filters} to {FLAGS.base_filters} ({model.count_params()} to "
          f"{wide.count_params()} parameters)")


if __name__ == "__main__":
    app.run(main)
