"""Helpers shared by the console scripts."""

import os
import sys


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
