"""Importing TensorFlow without its start-up lines on stderr.

TensorFlow's C++ libraries write lines that read like errors while they load on a
machine without a GPU (CUDA probing, CPU feature notes). The console scripts
decide once from their flags whether to drop them (`set_quiet`); a Beam worker,
which has no flags, drops them by default.
"""

import os
import sys

# TensorFlow's start-up lines on a machine without a GPU, which read like errors but
# are not: absl's C++ logging writes them to stderr before anything can set a level.
STARTUP_CHATTER = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "cudart_stub.cc", "Could not find cuda drivers", "cuda_platform.cc",
    "failed call to cuInit", "Unable to register cuDNN factory",
    "Unable to register cuFFT factory", "Unable to register cuBLAS factory",
    "computation_placer.cc", "cpu_feature_guard.cc",
    "This TensorFlow binary is optimized", "To enable the following instructions",
    "oneDNN custom operations are on", "TF-TRT Warning",
)
_quiet = True


def set_quiet(quiet):
    """Whether `import_tensorflow` drops `STARTUP_CHATTER` (the console scripts' --verbosity)."""
    global _quiet
    _quiet = quiet


def import_tensorflow():
    """Imports TensorFlow, dropping its start-up lines from stderr when `set_quiet`
    decided so; any other line it writes passes through.

    The lines come from C++ code while the libraries load, so they are caught at
    the file-descriptor level, only for the import itself.
    """
    if "tensorflow" in sys.modules or not _quiet:
        import tensorflow  # noqa: F401
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = [line for line in lines
                    if not any(chatter in line for chatter in STARTUP_CHATTER)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
