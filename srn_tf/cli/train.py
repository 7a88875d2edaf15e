"""srn-train: train SRN-DeblurNet with the original release's recipe, resumably.

    srn-train --flagfile=flags/gopro.cfg --model=color --data_root=GOPRO_Large/train --checkpoint_dir=runs/color
    srn-train --datalist=my_pairs.txt --model=color --checkpoint_dir=runs/mine

The list has one `sharp_path blur_path` pair per line (the release's format),
paths relative to --data_root. Rerunning the same command resumes from the newest
checkpoint in --checkpoint_dir at the same step, learning rate and data position.
"""

from absl import flags

from srn_tf.cli.common import (check_output_folder, fail, print_device, run_console_script,
                               select_gpu)
from srn_tf.precision import PRECISIONS, normalize_precision
from srn_tf.write_safety import run_folder_refusal

FLAGS = flags.FLAGS


class _PrecisionParser(flags.EnumParser):
    """--mixed_precision's words; the former values (Keras policy names) become them."""

    def parse(self, argument):
        return super().parse(normalize_precision(argument))


# The release's flags, with its meanings and defaults.
flags.DEFINE_enum("model", "color", ["color", "gray", "lstm"],
                  "Model type: color (RGB), gray (one plane) or lstm (one plane, ConvLSTM).")
flags.DEFINE_string("datalist", None,
                    "Training list: one 'sharp_path blur_path' pair per line (the release's "
                    "format, e.g. datalist_gopro.txt). Give this or --gopro_dir.")
flags.DEFINE_integer("batch_size", 16, "Global batch size (all replicas together).")
flags.DEFINE_integer("epoch", 4000,
                     "Epochs; the schedule runs to max_steps = epoch * (pairs // batch_size).")
flags.DEFINE_float("lr", 1e-4, "Initial learning rate of Adam.")
flags.DEFINE_string("gpu", "0", "GPU index to use, or -1 for the CPU only. Ignored with "
                    "--strategy=mirrored/multi_worker, which use every visible GPU.")

# Data.
flags.DEFINE_string("gopro_dir", None,
                    "GOPRO_Large folder (train/<scene>/{blur,sharp}/*.png), instead of --datalist.")
flags.DEFINE_string("data_root", None,
                    "Folder that relative paths in the lists resolve against (default: the "
                    "list file's folder).")
flags.DEFINE_integer("crop_size", 256, "Side of the random square crop (multiple of 16).")
flags.DEFINE_bool("shuffle", True,
                  "Shuffle the pairs every epoch (seeded); --noshuffle reads them in list order.")
flags.DEFINE_bool("augment", False,
                  "Random flips and quarter turns (off: the release has no augmentation).")
flags.DEFINE_string("validation_datalist", None,
                    "Pairs list to report PSNR on every --validate_every steps (full images).")
flags.DEFINE_integer("validate_every", 1000, "Steps between validation runs.")

# Schedule.
flags.DEFINE_integer("max_steps", None,
                     "Where the learning rate reaches 0 (overrides --epoch). As in the release, "
                     "the run makes max_steps + 1 updates, the last at learning rate 0.")
flags.DEFINE_enum("lr_schedule", "polynomial", ["polynomial", "constant", "cosine"],
                  "polynomial: lr * (1 - step / max_steps) ** lr_power (the release); "
                  "cosine: cosine decay to 0 at max_steps; constant: lr throughout.")
flags.DEFINE_float("lr_power", 0.3, "Power of the polynomial decay (0.3 in the release).")
flags.DEFINE_enum("loss", "mse", ["mse"],
                  "mse: mean squared error at every level, summed (the release's loss, the "
                  "only choice).")

# Model options (the defaults are the release's network).
flags.DEFINE_integer("base_filters", 32, "Channels of the first stage (stages use 1x, 2x, 4x).")
flags.DEFINE_integer("blocks_per_stage", 3, "ResBlocks per encoder and decoder stage.")
flags.DEFINE_integer("kernel_size", 5, "Side of every conv kernel but the 4x4 transposed ones "
                     "(5 in the release; 3 halves a step's time).")
flags.DEFINE_bool("residual_output", False,
                  "Add each level's blurred input to its output (not in the release).")
flags.DEFINE_bool("zero_init_output", False,
                  "Start the output conv at zero (not in the release).")

# Checkpoints and output.
flags.DEFINE_string("checkpoint_dir", None,
                    "Folder of the run: checkpoints, srn_config.json, flags.json and TensorBoard "
                    "summaries (train/). New or empty; a folder with a checkpoint is resumed; "
                    "any other folder is refused.")
flags.DEFINE_string("init_checkpoint", None,
                    "Start from these weights: an srn_tf checkpoint folder of the same "
                    "architecture, a preset's name ('default': the bundled model), or an "
                    "original TF1 checkpoint (prefix or folder). Ignored "
                    "when --checkpoint_dir already holds a checkpoint (the run resumes).")
flags.DEFINE_integer("checkpoint_every", 1000, "Steps between checkpoints.")
flags.DEFINE_integer("keep_checkpoints", 5, "Checkpoints kept in --checkpoint_dir (oldest go).")
flags.DEFINE_integer("log_every", 5, "Steps between log lines.")
flags.DEFINE_integer("summary_every", 20, "Steps between TensorBoard summaries.")
flags.DEFINE_integer("stop_at_step", None,
                     "Save and stop once the run has made this many updates in all, though "
                     "the schedule runs to max_steps (a time-boxed job; rerun without it to "
                     "go on). Exits 0.")

# Reproducibility and speed.
flags.DEFINE_integer("seed", 0, "Seeds the initial weights, shuffling, crops and augmentation.")
flags.DEFINE_bool("deterministic", True,
                  "Deterministic TF ops (tf.config.experimental.enable_op_determinism), so a "
                  "seed gives the same weights run after run.")
flags.DEFINE(_PrecisionParser(list(PRECISIONS)), "mixed_precision", "float32",
             f"<{'|'.join(PRECISIONS)}>: arithmetic precision, the words of srn-deblur's "
             "--precision (Keras' mixed_bfloat16 / mixed_float16 policies, whose names are "
             "accepted too); variables stay float32, float16 scales the loss.",
             serializer=flags.ArgumentSerializer())
flags.DEFINE_bool("jit_compile", False, "Compile the training step with XLA.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                  "tf.distribute strategy: one device, MirroredStrategy over every local GPU "
                  "(or CPU device), or MultiWorkerMirroredStrategy configured by TF_CONFIG.")

flags.mark_flag_as_required("checkpoint_dir")


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    if (FLAGS.datalist is None) == (FLAGS.gopro_dir is None):
        fail("give exactly one of --datalist and --gopro_dir")
    check_output_folder(FLAGS.checkpoint_dir)
    refusal = run_folder_refusal(FLAGS.checkpoint_dir, "--checkpoint_dir")
    if refusal:
        fail(refusal)
    if FLAGS.strategy == "default":
        select_gpu(FLAGS.gpu)
    print_device("gpu" if FLAGS.strategy == "default" else None)

    from absl import logging

    from srn_tf.data.pairs import PairListError
    from srn_tf.training.trainer import TrainingConfig, TrainingDivergedError, train

    logging.set_verbosity(logging.INFO)
    fields = TrainingConfig.__dataclass_fields__
    config = TrainingConfig(**{name: FLAGS[name].value for name in fields})
    try:
        result = train(config, stop_at_step=FLAGS.stop_at_step)
    except (PairListError, ValueError, FileNotFoundError, TrainingDivergedError) as error:
        fail(str(error))
    if result.interrupted_by:
        print(f"stopped by {result.interrupted_by} after {result.step} updates; "
              f"saved {result.checkpoint}")
        raise SystemExit(1)
    if result.step <= result.max_steps:
        print(f"stopped at step {result.step} as asked (--stop_at_step; the schedule runs "
              f"to {result.max_steps}); saved {result.checkpoint}")
        return
    print(f"finished: {result.step} updates (max_steps {result.max_steps}); "
          f"saved {result.checkpoint}")


def run():
    run_console_script(main, __name__)


if __name__ == "__main__":
    run()
