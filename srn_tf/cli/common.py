"""Helpers shared by the console scripts."""

import os
import sys

from absl import flags

FLAGS = flags.FLAGS

# The flags below are defined on behalf of each console script, whose --help lists them.
flags.disclaim_key_flags()

MODEL_SOURCES = ("an srn_tf checkpoint folder (srn-convert, srn-train), a SavedModel folder "
                 "from srn-export, an original TF1 checkpoint (prefix or folder; give "
                 "--model), or a preset's name ('default'). Default: the model bundled with "
                 "the package, with its inference defaults.")


def define_model_flags(checkpoint_help):
    """--checkpoint (what it is, per script) and the release's --model, as loaded by
    `srn_tf.checkpoints.loading.load_deblur_model`."""
    flags.DEFINE_string("checkpoint", None, checkpoint_help)
    flags.DEFINE_enum("model", None, ["color", "gray", "lstm"],
                      "Model type (the release's --model). Needed for TF1 checkpoints "
                      "(default color); checked against srn_tf checkpoints, which record "
                      "their type.")


def define_device_flags():
    """The release's --gpu, and `srn_tf.deblur_image`'s --precision, --flips, --flat_level,
    --kernel_refinement and --denoise."""
    flags.DEFINE_integer("gpu", 0,
                         "GPU index to run on; -1 runs on the CPU (the release's --gpu).")
    flags.DEFINE_enum("precision", "float32", ["float32", "bfloat16", "float16"],
                      "Arithmetic: float32 (the release's), bfloat16 (about twice as fast on "
                      "CPUs with AVX512_BF16, ~40+ dB from float32) or float16 (GPUs).")
    preset = (" Default: the model folder's own (srn_config.json's \"inference\" section): "
              "on for the bundled model, off for a model you train or convert (the release's "
              "way).")
    flags.DEFINE_integer("flips", None,
                         "Flip ensemble: run each image on this many flipped copies and average "
                         "the results flipped back. 1: once, as the release; 2: also left to "
                         "right; 4: also upside down and both; 8: also those 4 of the image "
                         "transposed. Each copy is one more run of the network. Default: the "
                         "model folder's own: 4 for the bundled model, 1 for a model you train "
                         "or convert.")
    flags.DEFINE_boolean("flat_level", None,
                         "Flat-level matching: subtract from each output, per channel, its mean "
                         "offset from the blurred input over the input's flat areas, where blur "
                         "leaves an image unchanged; it cancels the bundled model's learnt "
                         "darkening." + preset)
    flags.DEFINE_boolean("kernel_refinement", None,
                         "Kernel refinement: after the flat level, estimate the blur kernel from "
                         "each output's strongest edges and its blurred input (coarse to fine), "
                         "then deconvolve the input with it, staying close to the output where "
                         "the kernel says little; assumes one blur for the whole image." + preset)
    flags.DEFINE_boolean("denoise", None,
                         "Output denoising: after the above, remove from each output noise of the "
                         "level estimated in its blurred input (wavelet shrinkage)." + preset)


def run_option_overrides():
    """--flips, --flat_level, --denoise and --kernel_refinement as `deblur_image`
    keywords, None where unset (the model's own default then applies); exits on a
    bad --flips."""
    from srn_tf.inference.flip_ensemble import FLIPS

    if FLAGS.flips is not None and FLAGS.flips not in FLIPS:
        fail(f"--flips must be one of {', '.join(map(str, FLIPS))}. Received: {FLAGS.flips}")
    return {"flips": FLAGS.flips, "flat_level": FLAGS.flat_level, "denoise": FLAGS.denoise,
            "kernel_refinement": FLAGS.kernel_refinement}


def quiet_tensorflow():
    """Hides TF's C++ start-up chatter (info, warnings) unless the user set a level.

    Must run before TensorFlow is imported.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def select_gpu(gpu):
    """Applies the release's `--gpu` meaning: an index, or -1 for the CPU only.

    Must run before TensorFlow initialises its devices.
    """
    os.environ["CUDA_VISIBLE_DEVICES"] = "" if int(gpu) < 0 else str(gpu)


def fail(message):
    """Prints a one-line error and exits with status 1."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def run_console_script(main, module_name):
    """Runs `main` as an absl app whose `--help` lists `module_name`'s flags.

    absl's `--help` shows the flags of the script named in sys.argv[0]; a console
    script's flags live in the package module, so they are registered for both.
    """
    from absl import app, flags

    quiet_tensorflow()
    sys.modules["__main__"].__doc__ = sys.modules[module_name].__doc__
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    help_requested = any(argument in ("--help", "-h", "-?", "--helpshort", "--helpfull")
                         for argument in sys.argv[1:])
    try:
        app.run(main)
    except SystemExit as exit_request:
        # absl exits with status 1 after printing help; asking for help is no error.
        if help_requested and exit_request.code == 1:
            sys.exit(0)
        raise
