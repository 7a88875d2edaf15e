"""Helpers shared by the console scripts.

Everything here runs before TensorFlow loads: the scripts check their arguments
(paths exist, outputs can be written, flag ranges) with `check_*` and `fail`
first, so a mistake costs no TensorFlow start-up and no model load, and only
then `srn_tf.tensorflow_startup.import_tensorflow`, which keeps TensorFlow's
start-up lines off stderr unless --verbosity (absl's) asks for them.
"""

import os
import sys

from absl import flags

from srn_tf.models.inference_options import QUALITY_MODES
from srn_tf import tensorflow_startup
from srn_tf.config_file import CONFIG_FILE
from srn_tf.precision import INFERENCE_PRECISIONS, INT8
from srn_tf.processor import usable_cpus
from srn_tf.tensorflow_startup import import_tensorflow

FLAGS = flags.FLAGS

# The flags below are defined on behalf of each console script, whose --help lists them.
flags.disclaim_key_flags()

MODEL_SOURCES = ("an srn_tf checkpoint folder (srn-convert, srn-train), a SavedModel folder, "
                 ".onnx or .tflite file from srn-export, an original TF1 checkpoint (prefix "
                 "or folder; give --model), or a preset's name ('default'). Default: the "
                 "model bundled with the package, with its inference defaults.")


def define_model_flags(checkpoint_help):
    """--checkpoint (what it is, per script) and the release's --model, as loaded by
    `srn_tf.checkpoints.loading.load_deblur_model`."""
    flags.DEFINE_string("checkpoint", None, checkpoint_help)
    flags.DEFINE_enum("model", None, ["color", "gray", "lstm"],
                      "Model type (the release's --model). Needed for TF1 checkpoints "
                      "(default color); checked against srn_tf checkpoints, which record "
                      "their type.")


def define_device_flags(precision="auto"):
    """The release's --gpu, and `srn_tf.deblur_image`'s --precision (`define_precision_flag`)
    with the default `precision`."""
    flags.DEFINE_integer("gpu", 0,
                         "GPU index to run on; -1 runs on the CPU (the release's --gpu).")
    define_precision_flag(precision)


def define_precision_flag(default):
    """--precision as `srn_tf.deblur_image` takes it. "auto" for the scripts that deblur
    photos (srn-deblur, srn-batch, srn-serve); "float32" where results must stay the
    release's arithmetic (srn-eval's paper figures)."""
    flags.DEFINE_enum("precision", default, list(INFERENCE_PRECISIONS),
                      "Arithmetic of the network. auto: what this processor computes "
                      "natively, read from its flags: bfloat16 on CPUs with AMX, AMD's "
                      "AVX512_BF16 or Arm's BF16 (faster there, slightly less exact), "
                      "float16 on GPUs with tensor cores, float32 elsewhere and for exported "
                      "models; the start-up line says which and why. float32: the release's "
                      "arithmetic, bit for bit. int8: the network quantized by onnxruntime "
                      "(pip install 'srn-tf[onnx]'), made on the first run for a model "
                      "and then read from a cache folder "
                      "($SRN_TF_INT8_CACHE, default ~/.cache/srn-tf/int8); refused for a "
                      "model it would deblur worse. docs/precision-and-speed.md gives measured "
                      "speeds and errors with their commands.")


def define_quality_flags():
    """--quality and the steps it sets, --flips, --flat_level, --kernel_refinement and
    --denoise: with videos' --steady_video (`define_video_flags`), where defined,
    together one `InferenceOptions` (`options_from_flags`)."""
    flags.DEFINE_enum("quality", None, list(QUALITY_MODES),
                      "What runs around the network. network: its output alone, once (the "
                      "release's way); standard: once, then flat level, kernel refinement where "
                      "one blur kernel explains the image, and denoising; best: the same on 4 "
                      "flipped copies (4 runs of the network). "
                      "--flips, --[no]flat_level, --[no]kernel_refinement and --[no]denoise "
                      "override single steps. Default: the model folder's own (standard for the "
                      "bundled model, network for a model you train or convert). "
                      "docs/real-photographs.md measures each.")
    preset = (" Default: the quality's, else the model folder's own (srn_config.json's "
              "\"inference\" section): on for the bundled model, off for a model you train or "
              "convert (the release's way).")
    flags.DEFINE_integer("flips", None,
                         "Flip ensemble: run each image on this many flipped copies and average "
                         "the results flipped back. 1: once, as the release; 2: also left to "
                         "right; 4: also upside down and both; 8: also those 4 of the image "
                         "transposed. Each copy is one more run of the network. Default: the "
                         "quality's (4 for best), else the model folder's own: 1 for the bundled "
                         "model and for a model you train or convert.")
    flags.DEFINE_boolean("flat_level", None,
                         "Flat-level matching: subtract from each output, per channel, its mean "
                         "offset from the blurred input over the input's flat areas, where blur "
                         "leaves an image unchanged; it cancels the bundled model's learnt "
                         "darkening." + preset)
    flags.DEFINE_boolean("kernel_refinement", None,
                         "Kernel refinement: after the flat level, estimate the blur kernel from "
                         "each output's strongest edges and its blurred input (coarse to fine), "
                         "then deconvolve the input with it, staying close to the output where "
                         "the kernel says little; skipped where one kernel cannot explain the "
                         "whole image (blur varying across it)." + preset)
    flags.DEFINE_boolean("denoise", None,
                         "Output denoising: after the above, remove from each output noise of the "
                         "level estimated in its blurred input (wavelet shrinkage)." + preset)


def check_quality_flags():
    """Exits on a bad --flips, before TensorFlow loads."""
    from srn_tf.models.inference_options import FLIPS

    if FLAGS.flips is not None and FLAGS.flips not in FLIPS:
        fail(f"--flips must be one of {', '.join(map(str, FLIPS))}. Received: {FLAGS.flips}")


def options_from_flags(checkpoint):
    """The `InferenceOptions` the quality flags ask for, built once per run: --quality's
    options, else the model's own (`inference_options_at(checkpoint)`), with each step
    flag given (--flips, --[no]flat_level, --[no]kernel_refinement, --[no]denoise,
    --[no]steady_video) replaced; None when no such flag is given (the model's own, read where it loads).
    Exits when the model's options cannot be read."""
    from srn_tf.models.inference_options import quality_options

    steps = {"flips": FLAGS.flips, "flat_level": FLAGS.flat_level,
             "kernel_refinement": FLAGS.kernel_refinement, "denoise": FLAGS.denoise}
    if "steady_video" in FLAGS:
        steps["steady_video"] = FLAGS.steady_video
    if FLAGS.quality is not None:
        base = quality_options(FLAGS.quality)
    elif all(value is None for value in steps.values()):
        return None
    else:
        import_tensorflow()
        from srn_tf.checkpoints.loading import inference_options_at

        try:
            base = inference_options_at(checkpoint)
        except (OSError, ValueError) as error:
            fail(str(error).splitlines()[0])
    return base.override(**steps)


def define_file_run_flags():
    """srn-deblur's and srn-batch's --height/--width (the fixed-size mode), --tile,
    --tile_overlap, --format and --overwrite, as `srn_tf.inference.per_file` takes them."""
    flags.DEFINE_integer("height", None,
                         "With --width: the release's fixed-size mode. Images are turned to "
                         "landscape, shrunk (bicubic) to fit height x width if larger, "
                         "edge-padded to exactly that size, run, cropped, enlarged back and "
                         "turned back. A multiple of 16. Without it, images run at full "
                         "resolution.")
    flags.DEFINE_integer("width", None, "With --height: see --height. A multiple of 16.")
    flags.DEFINE_integer("tile", None,
                         "Largest tile side in pixels: big images run in overlapping tiles to "
                         "bound memory. Default: automatic (tile only images above 2 Mpixel "
                         "per model batch; docs/tiling.md gives the memory it keeps to); 0 "
                         "never tiles. At least 64 (4 times the model's size multiple of "
                         "16); the overlap must stay below the tile rounded down to a "
                         "multiple of 16, minus 16.")
    flags.DEFINE_integer("tile_overlap", None,
                         "Least overlap of neighbouring tiles in pixels (default 64, or half "
                         "the tile if smaller); more "
                         "overlap is closer to the untiled result and slower.")
    flags.DEFINE_enum("format", None, ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"],
                      "Output format. Default: each input's own format and bit depth. 16-bit "
                      "images become 8-bit and alpha is dropped where the format cannot hold "
                      "them.")
    flags.DEFINE_bool("overwrite", False,
                      "Replace existing output files; without it they are skipped and reported. "
                      "An output is never one of the inputs: such a run is refused.")


def define_video_flags():
    """srn-deblur's and srn-batch's --video_codec and --crf, how deblurred videos are
    encoded (`srn_tf.data.video.encode.choose_encoding`), and --steady_video, a step of
    `options_from_flags`' options that only videos read."""
    from srn_tf.data.video.encode import VIDEO_CODECS

    flags.DEFINE_enum("video_codec", None, list(VIDEO_CODECS),
                      "Codec of output videos. Default: by the output's extension (h264 for "
                      ".mp4/.mov/.m4v/.mkv, vp9 for .webm, ffv1 for .avi); ffv1 is lossless, "
                      "for work that continues elsewhere.")
    flags.DEFINE_integer("crf", None,
                         "Quality of h264/h265/vp9 output videos (constant rate factor: lower "
                         "is better and bigger). Default: the codec's (18 for h264). Not for "
                         "ffv1, which is lossless.")
    flags.DEFINE_boolean("steady_video", None,
                         "Videos only: blend each deblurred frame with the previous one, moved by "
                         "the camera's measured motion, where the two agree: less flicker, mean "
                         "PSNR up on every measured clip, single frames up or down (docs/video.md, "
                         "Flicker). Default: off.")


def define_max_megapixels_flag():
    """--max_megapixels: the most pixels of an image a script decodes, checked from the
    file's header (`srn_tf.data.image_io.read_image_with_metadata`)."""
    from srn_tf.data.image_io import DEFAULT_MAX_MEGAPIXELS, OPENCV_MAX_MEGAPIXELS

    flags.DEFINE_float("max_megapixels", DEFAULT_MAX_MEGAPIXELS,
                       "Refuse images of more megapixels, read from the file's header before "
                       "decoding (a corrupt header may claim 60000x60000). The default takes a "
                       f"150 MP photo; at most {OPENCV_MAX_MEGAPIXELS:.2f} (OpenCV's cap).")


def check_max_megapixels():
    """Exits unless --max_megapixels is above 0 and within what OpenCV decodes; returns it."""
    from srn_tf.data.image_io import OPENCV_MAX_MEGAPIXELS

    value = FLAGS.max_megapixels
    if not 0 < value <= OPENCV_MAX_MEGAPIXELS:
        fail(f"--max_megapixels must be above 0 and at most {OPENCV_MAX_MEGAPIXELS:.2f} "
             f"(OpenCV decodes at most 2**30 pixels). Received: {value:g}")
    return value


def check_file_run_flags():
    """Exits unless the flags of `define_file_run_flags` go together (--tile_overlap
    and the model's size multiple are `check_tile_flags`'s)."""
    if (FLAGS.height is None) != (FLAGS.width is None):
        fail("give both --height and --width, or neither")
    for name in ("height", "width"):
        value = FLAGS[name].value
        if value is not None and (value < 16 or value % 16):
            fail(f"--{name} must be a positive multiple of 16. Received: {value}")
    if FLAGS.height is not None and FLAGS.tile:
        fail("--tile does not apply with --height/--width (the fixed-size mode)")
    if FLAGS.tile is not None and FLAGS.tile < 0:
        fail(f"--tile must be 0 (never tile) or a side in pixels. Received: {FLAGS.tile}")


def verbose():
    """True when the user raised absl's --verbosity (-v) to INFO (0) or more."""
    return FLAGS["verbosity"].present and FLAGS.verbosity >= 0


def quiet_tensorflow():
    """Keeps TensorFlow's start-up chatter (info, warnings, CUDA probing) off stderr.

    Sets TF_CPP_MIN_LOG_LEVEL=3 unless the user set it or raised --verbosity, and
    Python-side absl logging to WARNING unless --verbosity was given. Runs once
    the flags are parsed, before TensorFlow is imported (`run_console_script`).
    """
    from absl import logging

    tensorflow_startup.set_quiet(not verbose() and "TF_CPP_MIN_LOG_LEVEL" not in os.environ)
    if not verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        if not FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)


def check_output_folder(path, staged_beside=False):
    """Exits unless folder `path` exists and is writable, or can be created
    (`srn_tf.write_safety.write_problem`: a file is really created and removed there).

    With `staged_beside` the folder is written beside and renamed into place
    (`srn_tf.atomic_files.atomic_folder`), so its parent must be writable too.
    Nothing is left behind: a run refused later leaves no empty folder.
    """
    from srn_tf.write_safety import write_problem

    problem = write_problem(path, folder=True)
    if not problem and staged_beside:
        problem = write_problem(os.path.dirname(os.path.abspath(path)), folder=True)
    if problem:
        fail(f"{path}: cannot write ({problem})")


def check_output_file(path, extension=None):
    """Exits unless file `path` can be written: its folder writable or creatable
    (`srn_tf.write_safety.write_problem`), no folder in its place, and (when given)
    the extension `extension`."""
    from srn_tf.write_safety import write_problem

    if extension is not None and not path.lower().endswith(extension):
        fail(f"{path}: must be a {extension} file")
    problem = write_problem(path)
    if problem:
        fail(f"{path}: cannot write ({problem})")


def check_replaceable_output(path, kind, flag, overwrite):
    """Exits unless an output of `kind` may be written at `path` (the value of `flag`):
    new, or with `overwrite` one srn-tf wrote (`srn_tf.write_safety.check_destination`)."""
    from srn_tf.write_safety import check_destination

    try:
        check_destination(path, kind, overwrite, choose=flag)
    except FileExistsError as refused:
        fail(str(refused))


def check_outputs_spare_inputs(input_path, output_path, output_format=None,
                               side_by_side=None, videos=False, frames_only=False):
    """Exits when an output of a folder run, or its side-by-side sheet, would replace one
    of its inputs (`srn_tf.inference.per_file.plan_outputs`, with its `videos` and
    `frames_only`), naming one such input; returns the plan."""
    from srn_tf.inference.per_file import plan_outputs
    from srn_tf.write_safety import OutputRefused

    try:
        return plan_outputs(input_path, output_path, output_format, side_by_side,
                            videos=videos, frames_only=frames_only)
    except OutputRefused as refused:
        fail(str(refused))


def check_input_path(path, kind="file or folder"):
    """Exits unless `path` (a flag's value; None: not given) exists as a `kind`
    ("file", "folder" or "file or folder")."""
    if path is None:
        return
    exists = {"file": os.path.isfile, "folder": os.path.isdir}.get(kind, os.path.exists)
    if not exists(path):
        fail(f"{path}: no such {kind}")


def check_image_input(path, flag, videos=False):
    """Exits unless `path` (the value of --`flag`) is an image, a folder or a glob that
    names images `srn_tf.data.image_io` reads (or with `videos`, videos too); returns
    (path, relative path) pairs."""
    from srn_tf.data import image_io
    from srn_tf.data.video import VIDEO_EXTENSIONS, list_images_and_videos

    try:
        inputs = (list_images_and_videos if videos else image_io.list_images)(path)
    except FileNotFoundError:
        fail(f"--{flag}={path}: no such file, folder or matching glob")
    if not inputs:
        message = image_io.no_images_message(path)
        fail(f"{message} nor videos ({', '.join(VIDEO_EXTENSIONS)})" if videos else message)
    return inputs


def check_video_flags(output_paths):
    """Exits unless --video_codec and --crf (`define_video_flags`) suit each video
    output in `output_paths` (`encode.check_encoding_args`: the container of its
    extension holds the codec, the CRF is in the codec's range)."""
    from srn_tf.data.video.encode import check_encoding_args

    for path in output_paths:
        try:
            check_encoding_args(path, FLAGS.video_codec, FLAGS.crf)
        except ValueError as error:
            fail(str(error).splitlines()[0])


def check_video_extra(input_path):
    """Exits with the pip line when PyAV, which reads the video `input_path`, is missing."""
    from srn_tf.data.video import MissingVideoExtra, import_av

    try:
        import_av(f"{input_path}: deblurring a video")
    except MissingVideoExtra as missing:
        fail(str(missing))


def check_checkpoint(checkpoint):
    """Exits unless `checkpoint` names a preset or an existing path (a folder, a file, or
    a checkpoint prefix whose .index exists); returns the path it names. An .onnx or
    .tflite file (an `srn-export` file) must be a file, and the runtime that runs it
    importable (the message names the extra that installs it)."""
    from srn_tf.checkpoints.export_runners import export_file_kind, missing_runtime_message
    from srn_tf.models.presets import resolve_model_path

    try:
        path = resolve_model_path(checkpoint)
    except (OSError, ValueError) as error:
        fail(str(error))
    if "precision" in FLAGS and FLAGS.precision == INT8:
        check_int8_request(path)
    if export_file_kind(path) is not None and os.path.lexists(path):
        if not os.path.isfile(path):
            fail(f"--checkpoint={path}: not a file (an {export_file_kind(path)} export is one)")
        message = missing_runtime_message(path)
        if message:
            fail(message)
        return path
    if not os.path.exists(path) and not os.path.exists(path + ".index"):
        fail(f"--checkpoint={path}: no such checkpoint, folder or preset")
    return path


def check_int8_request(checkpoint_path):
    """Exits unless --precision=int8 can run on the model at `checkpoint_path`: int8
    quantizes an srn_tf model's network (an .onnx or .tflite export runs as it was
    exported; a SavedModel is refused once TensorFlow has loaded, by `precision_choice`)
    with the `onnx` extra's modules, which must be importable."""
    from srn_tf.checkpoints.export_runners import export_file_kind
    from srn_tf.inference.int8 import missing_modules_message

    if export_file_kind(checkpoint_path) is not None:
        fail(f"--precision=int8: {checkpoint_path} is an export, which runs in float32 only "
             "(give --precision=auto or float32, or the srn_tf model it was exported from)")
    message = missing_modules_message()
    if message:
        fail(f"--precision=int8: {message}")


def _size_multiple_of(checkpoint_path):
    """The size multiple of the model a checkpoint holds, read from its srn_config.json
    without TensorFlow: `srn_tf.models.srn_deblur_net.size_multiple` of its
    architecture. The release's networks (TF1 checkpoints, no config) have 16."""
    import json

    folder = checkpoint_path if os.path.isdir(checkpoint_path) else os.path.dirname(
        checkpoint_path) or "."
    try:
        with open(os.path.join(folder, CONFIG_FILE)) as handle:
            architecture = json.load(handle).get("model", {})
    except (OSError, ValueError, AttributeError):
        architecture = {}
    num_scales = architecture.get("num_scales", 3)
    scale_factor = architecture.get("scale_factor", 0.5)
    try:
        return int(round(4 / scale_factor ** (num_scales - 1)))
    except (TypeError, ZeroDivisionError):
        return 16


def check_tile_flags(tile, overlap, checkpoint_path, zero_means_untiled=False):
    """Exits unless --tile and --tile_overlap can be placed (`tiling.check_tiling`) for
    the model at `checkpoint_path`; 0 is "never tile" where `zero_means_untiled`."""
    from srn_tf.inference.tiling import check_tiling

    if overlap is not None and overlap < 0:
        fail(f"--tile_overlap must be >= 0. Received: {overlap}")
    if tile is None or (tile == 0 and zero_means_untiled):
        return
    try:
        check_tiling(tile, overlap, _size_multiple_of(checkpoint_path))
    except ValueError as error:
        fail(f"--tile/--tile_overlap: {error}")


def select_gpu(gpu):
    """Applies the release's `--gpu` meaning: an index, or -1 for the CPU only.

    Must run before TensorFlow initialises its devices.
    """
    os.environ["CUDA_VISIBLE_DEVICES"] = "" if int(gpu) < 0 else str(gpu)


def device_line(gpu=None, precision=None):
    """The line a script prints once TensorFlow has loaded: where the network runs.

    "running on CPU (2 threads)", or "running on GPU: <name>" (", and N more" when
    several are visible); when `gpu` (the --gpu the user gave, None if not given)
    asks for a GPU that TensorFlow cannot see, the CPU line says so, since TensorFlow
    falls back to the CPU silently. `precision`, a `srn_tf.processor.PrecisionChoice`
    (None: not said), follows: "; precision bfloat16 (auto: the CPU has avx512_bf16)".
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name",
                                                                      gpus[0].name)
        more = f", and {len(gpus) - 1} more" if len(gpus) > 1 else ""
        line = f"running on GPU: {name}{more}"
    else:
        threads = (tf.config.threading.get_intra_op_parallelism_threads()
                   or usable_cpus())
        line = f"running on CPU ({threads} thread{'s' if threads != 1 else ''})"
        if gpu is not None and int(gpu) >= 0:
            line += f"; --gpu={gpu} asked for a GPU, but TensorFlow sees none"
    return line if precision is None else f"{line}; {precision}"


def precision_choice(checkpoint_path):
    """The `srn_tf.processor.PrecisionChoice` --precision makes for the model at
    `checkpoint_path` (`check_checkpoint`'s): an export (SavedModel, .onnx,
    .tflite) runs float32, and exits when another precision is asked of one.
    Imports TensorFlow."""
    from srn_tf.checkpoints.export_runners import export_file_kind
    from srn_tf.checkpoints.saved_model_runner import is_saved_model
    from srn_tf.processor import resolve_precision

    exported = export_file_kind(checkpoint_path) is not None or is_saved_model(checkpoint_path)
    if exported and FLAGS.precision not in ("auto", "float32"):
        fail(f"--precision={FLAGS.precision}: {checkpoint_path} is an export, which runs in "
             "float32 only (give --precision=auto or float32)")
    if FLAGS.precision == INT8:
        from srn_tf.inference.int8 import cache_folder
        from srn_tf.processor import PrecisionChoice

        return PrecisionChoice(INT8, "onnxruntime; quantized on the first run for a model, "
                                     f"then read from {cache_folder()}")
    return resolve_precision(FLAGS.precision, exported)


def print_device(gpu_flag="gpu", checkpoint_path=None):
    """Prints `device_line` on stdout, with the script's --`gpu_flag` when the user gave it
    (None: the script has no such flag), and the precision --precision makes for the
    model at `checkpoint_path` (None: the line leaves precision out)."""
    given = gpu_flag is not None and FLAGS[gpu_flag].present
    precision = precision_choice(checkpoint_path) if checkpoint_path is not None else None
    print(device_line(FLAGS[gpu_flag].value if given else None, precision), flush=True)


def fail(message):
    """Prints a one-line error and exits with status 1."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def pass_unknown_flags(argv):
    """An absl `flags_parser` that parses this program's flags and returns every other
    argument, after the program name, for main to hand on (srn-batch's Beam options)."""
    try:
        return FLAGS(argv, known_only=True)
    except flags.Error as error:
        fail(str(error))


def run_console_script(main, module_name, flags_parser=None):
    """Runs `main` as an absl app whose `--help` lists `module_name`'s flags.

    absl's `--help` shows the flags of the script named in sys.argv[0]; a console
    script's flags live in the package module, so they are registered for both.
    `flags_parser` replaces absl's (e.g. `pass_unknown_flags`).
    """
    from absl import app, flags

    def quiet_main(argv):
        quiet_tensorflow()
        return main(argv)

    sys.modules["__main__"].__doc__ = sys.modules[module_name].__doc__
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    # absl knows --help and -? but not -h, which every other command-line tool takes.
    sys.argv[1:] = ["--help" if argument == "-h" else argument for argument in sys.argv[1:]]
    help_requested = any(argument in ("--help", "-?", "--helpshort", "--helpfull")
                         for argument in sys.argv[1:])
    try:
        if flags_parser is None:
            app.run(quiet_main)
        else:
            app.run(quiet_main, flags_parser=flags_parser)
    except KeyboardInterrupt as interruption:
        # Ctrl-C: one line instead of a traceback (a run over files says in it what
        # was done), and the shell's status for a run stopped by SIGINT. Outputs are
        # written under temporary names and renamed, so none is left half written.
        print(f"interrupted{': ' + str(interruption) if str(interruption) else ''}",
              file=sys.stderr, flush=True)
        sys.exit(130)
    except SystemExit as exit_request:
        # absl exits with status 1 after printing help; asking for help is no error.
        if help_requested and exit_request.code == 1:
            sys.exit(0)
        raise
