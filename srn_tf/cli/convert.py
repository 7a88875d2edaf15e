r"""srn-convert: turn an original release TF1 checkpoint into an srn_tf checkpoint folder.

    srn-convert --tf1_checkpoint=checkpoints/lstm/checkpoints/deblur.model-523000 \
        --model=lstm --output=converted/lstm
"""

from absl import flags

from srn_tf.cli.common import (check_output_folder, check_replaceable_output, fail,
                               run_console_script)
from srn_tf.tensorflow_startup import import_tensorflow

FLAGS = flags.FLAGS
flags.DEFINE_string("tf1_checkpoint", None,
                    "Original release checkpoint: a prefix such as .../deblur.model-523000, "
                    "or a folder holding a 'checkpoint' file.")
flags.DEFINE_enum("model", "color", ["color", "gray", "lstm"],
                  "Model type the checkpoint was trained as (the release's --model).")
flags.DEFINE_string("output", None, "Folder to write the srn_tf checkpoint into: new, empty, or "
                    "(with --overwrite) an srn_tf checkpoint folder. It is written into a hidden "
                    "folder beside it and renamed, so an interrupted run leaves no partial "
                    "folder.")
flags.DEFINE_bool("overwrite", False, "Replace the srn_tf checkpoint folder already at --output "
                  "(only one srn-convert, srn-train or save_model wrote: its config beside "
                  "checkpoint files and nothing else; any other folder is refused).")
flags.mark_flags_as_required(["tf1_checkpoint", "output"])


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    import os

    checkpoint = FLAGS.tf1_checkpoint
    if not os.path.isdir(checkpoint) and not os.path.isfile(checkpoint + ".index"):
        fail(f"--tf1_checkpoint={checkpoint}: no such folder or checkpoint prefix "
             f"(no {checkpoint}.index)")
    check_output_folder(FLAGS.output, staged_beside=True)
    check_replaceable_output(FLAGS.output, "checkpoint", "--output", FLAGS.overwrite)
    import_tensorflow()

    import srn_tf
    from srn_tf.checkpoints.model_folder import save_model_folder


    model = srn_tf.build_model(FLAGS.model)
    try:
        prefix = srn_tf.load_tf1_checkpoint(model, FLAGS.tf1_checkpoint)
        saved = save_model_folder(model, FLAGS.output, overwrite=FLAGS.overwrite)
    except (FileNotFoundError, FileExistsError, ValueError) as error:  # OutputRefused too
        fail(str(error))
    print(f"converted {prefix} ({FLAGS.model}, {model.count_params():,} parameters) -> {saved}")


def run():
    run_console_script(main, __name__)


if __name__ == "__main__":
    run()
