"""srn-export: write a model as a TensorFlow SavedModel that serves images of any size.

    srn-export --checkpoint=models/color --export_dir=exported/color
    srn-export --checkpoint=checkpoints/lstm/checkpoints --model=lstm --export_dir=exported/lstm

The SavedModel runs with TensorFlow alone (no srn_tf): `serving_default` maps
float32 (batch, height, width, 3) images in [0, 1] to their deblurred version,
`serving_uint8` does the same on uint8, `levels` returns all levels.
"""

from absl import flags

from srn_tf.cli.common import define_model_flags, fail, run_console_script

FLAGS = flags.FLAGS
define_model_flags(
    "Model to export: an srn_tf checkpoint folder (srn-convert, srn-train, save_model) or an "
    "original release TF1 checkpoint (prefix or folder; then set --model).")
flags.DEFINE_string("export_dir", None, "Folder to write the SavedModel into (must not exist).")
flags.DEFINE_bool("overwrite", False, "Replace an existing --export_dir.")
flags.mark_flags_as_required(["checkpoint", "export_dir"])


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    import os

    from absl import logging

    logging.set_verbosity(logging.WARNING)
    if os.path.exists(FLAGS.export_dir) and not FLAGS.overwrite:
        fail(f"{FLAGS.export_dir}: already exists (pass --overwrite to replace it)")

    from srn_tf.inference.deblur_files import load_deblur_model
    from srn_tf.export.saved_model import export_saved_model
    from srn_tf.models.srn_deblur_net import SRNDeblurNet

    try:
        model = load_deblur_model(FLAGS.checkpoint, FLAGS.model)
        if not isinstance(model, SRNDeblurNet):
            fail(f"{FLAGS.checkpoint}: is already a SavedModel")
        export_saved_model(model, FLAGS.export_dir, overwrite=FLAGS.overwrite)
    except (OSError, ValueError) as error:
        fail(str(error))
    print(f"exported {FLAGS.checkpoint} -> {FLAGS.export_dir} "
          "(signatures: serving_default, serving_uint8, levels)")


def run():
    run_console_script(main, __name__)


if __name__ == "__main__":
    run()
