"""srn-export: write a model as a TensorFlow SavedModel that serves images of any size.

    srn-export --export_dir=exported/default
    srn-export --checkpoint=models/color --export_dir=exported/color
    srn-export --checkpoint=checkpoints/lstm/checkpoints --model=lstm --export_dir=exported/lstm

The SavedModel runs with TensorFlow alone (no srn_tf): `serving_default` maps
float32 (batch, height, width, 3) images in [0, 1] to their deblurred version,
`serving_uint8` does the same on uint8, `levels` returns all levels.

A SavedModel holds the network alone. The post-processing a model folder asks
for (the bundled model's flip ensemble, flat level, kernel refinement and
denoising) is not in its graph: it is recorded in the srn_config.json written
beside saved_model.pb, which srn-deblur and srn-eval read when given the export,
and which other runtimes ignore.
"""

from absl import flags

from srn_tf.cli.common import (check_checkpoint, check_output_folder, define_model_flags, fail,
                               import_tensorflow, run_console_script)

FLAGS = flags.FLAGS
define_model_flags(
    "Model to export: an srn_tf checkpoint folder (srn-convert, srn-train, save_model), an "
    "original release TF1 checkpoint (prefix or folder; then set --model) or a preset's name "
    "('default'). Default: the model bundled with the package. The SavedModel holds the "
    "network alone; the folder's post-processing defaults are recorded beside it, not run "
    "by it.")
flags.DEFINE_string("export_dir", None, "Folder to write the SavedModel into (must not exist).")
flags.DEFINE_bool("overwrite", False, "Replace an existing --export_dir.")
flags.mark_flags_as_required(["export_dir"])


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    import os

    if os.path.exists(FLAGS.export_dir) and not FLAGS.overwrite:
        fail(f"{FLAGS.export_dir}: already exists (pass --overwrite to replace it)")
    if os.path.lexists(FLAGS.export_dir) and not os.path.isdir(FLAGS.export_dir):
        fail(f"{FLAGS.export_dir}: cannot write (a file is in the way; --overwrite replaces "
             "only a folder)")
    check_output_folder(FLAGS.export_dir, staged_beside=True)
    check_checkpoint(FLAGS.checkpoint)
    import_tensorflow()

    from srn_tf.checkpoints.loading import load_deblur_model
    from srn_tf.export.saved_model import export_saved_model
    from srn_tf.inference.options import RELEASE_OPTIONS, options_of
    from srn_tf.models.presets import resolve_model_path
    from srn_tf.models.srn_deblur_net import SRNDeblurNet

    try:
        model = load_deblur_model(FLAGS.checkpoint, FLAGS.model)
        if not isinstance(model, SRNDeblurNet):
            fail(f"{FLAGS.checkpoint}: is already a SavedModel")
        export_saved_model(model, FLAGS.export_dir, overwrite=FLAGS.overwrite)
    except (OSError, ValueError) as error:
        fail(str(error))
    print(f"exported {resolve_model_path(FLAGS.checkpoint)} -> {FLAGS.export_dir} "
          "(signatures: serving_default, serving_uint8, levels)")
    options = options_of(model)
    if options != RELEASE_OPTIONS:
        steps = ", ".join(f"{name}={value}" for name, value in options.to_config().items())
        print(f"the SavedModel holds the network alone; the model's post-processing ({steps}) "
              "is recorded in its srn_config.json for srn-deblur and srn-eval, not run by it")


def run():
    run_console_script(main, __name__)


if __name__ == "__main__":
    run()
