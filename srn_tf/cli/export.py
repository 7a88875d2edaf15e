"""srn-export: write a model as a SavedModel, an ONNX, a LiteRT or a .keras file.

    srn-export --export_dir=exported/default
    srn-export --checkpoint=models/color --output=exported/color
    srn-export --format=onnx --output=exported/default.onnx
    srn-export --format=onnx --layout=nchw --output=exported/darktable.onnx
    srn-export --format=litert --height=720 --width=1280 --output=exported/default.tflite
    srn-export --format=keras --output=exported/default.keras
    srn-export --checkpoint=srn_release/color --model=color --format=onnx --output=color.onnx

Formats (docs/export.md): `saved_model` (a folder; TensorFlow alone runs it, any
size, signatures serving_default, serving_uint8 and levels), `onnx` (one file,
any size, NHWC or NCHW, float32 or uint8; pip install 'srn-tf[onnx]'), `litert`
(one .tflite file of one fixed size, TFLite builtin ops only) and `keras` (a
Keras 3 .keras file).

An export holds the network alone. The post-processing a model folder asks for
(the bundled model's flip ensemble, flat level, kernel refinement and denoising)
is not in its graph: it is recorded beside it (srn_config.json) or in the file's
metadata, which srn-deblur and srn-eval read when given the export, and which
other runtimes ignore.
"""

from absl import flags

from srn_tf.cli.common import (check_checkpoint, check_output_file, check_output_folder,
                               check_replaceable_output, define_model_flags, fail,
                               run_console_script)
from srn_tf.export.formats import (EXTENSIONS, FORMAT_ARGUMENTS, FORMATS, MIN_OPSET,
                                   missing_modules)
from srn_tf.tensorflow_startup import import_tensorflow

FLAGS = flags.FLAGS
# The flags that fill each of export_model's format arguments (metadata: two of them).
ARGUMENT_FLAGS = {"layout": ("layout",), "input_dtype": ("input_dtype",), "opset": ("opset",),
                  "height": ("height",), "width": ("width",),
                  "metadata": ("release_name", "license")}

define_model_flags(
    "Model to export: an srn_tf checkpoint folder (srn-convert, srn-train, save_model), an "
    "original release TF1 checkpoint (prefix or folder; then set --model) or a preset's name "
    "('default'). Default: the model bundled with the package. The export holds the "
    "network alone; the folder's post-processing defaults are recorded with it, not run "
    "by it.")
flags.DEFINE_enum("format", "saved_model", list(FORMATS),
                  "What to write: saved_model (a folder), onnx (.onnx), litert (.tflite, one "
                  "fixed size: give --height and --width) or keras (.keras).")
flags.DEFINE_string("output", None,
                    "Where to write: a folder for saved_model, a file with the format's "
                    "extension (.onnx, .tflite, .keras) for the others. Must not exist "
                    "(an empty folder may) unless --overwrite.")
flags.DEFINE_string("export_dir", None,
                    "The SavedModel's folder (--format=saved_model only; the same as "
                    "--output).")
flags.DEFINE_enum("layout", "nhwc", ["nhwc", "nchw"],
                  "--format=onnx: the axis order of the input and output, nhwc (batch, "
                  "height, width, 3) or nchw (batch, 3, height, width; darktable's and "
                  "chaiNNer's).")
flags.DEFINE_enum("input_dtype", "float32", ["float32", "uint8"],
                  "--format=onnx or litert: float32 images in [0, 1] in and out, or uint8 "
                  "in and out (clip(x, 0, 1) * 255 truncated, as the release writes its "
                  "results). srn-deblur runs float32 files only.")
flags.DEFINE_integer("height", None,
                     "--format=litert: the image height the file takes (at least 16; any "
                     "value, the graph pads to a multiple of 16).")
flags.DEFINE_integer("width", None, "--format=litert: the image width the file takes.")
flags.DEFINE_integer("opset", MIN_OPSET, f"--format=onnx: the ONNX opset, at least {MIN_OPSET}.")
flags.DEFINE_string("release_name", None,
                    "--format=onnx or litert: what the weights are, for the file's metadata. "
                    "Default: said from --checkpoint (the bundled model, a release "
                    "checkpoint, a folder's name).")
flags.DEFINE_string("license", None,
                    "--format=onnx or litert: the weights' license, for the file's metadata. "
                    "Default: what srn-tf knows of it from --checkpoint.")
flags.DEFINE_bool("overwrite", False,
                  "Replace an existing --output, only if srn-export wrote it (a SavedModel "
                  "folder with its srn_config.json and nothing else, or an .onnx, .tflite or "
                  ".keras file carrying srn-tf's signature); anything else is refused.")


def check_flags():
    """Exits unless the flags go together and the output can be written; returns the
    output path. Runs before TensorFlow loads."""
    if FLAGS.export_dir is not None:
        if FLAGS.format != "saved_model":
            fail(f"--export_dir is the SavedModel's folder; --format={FLAGS.format} writes "
                 "--output")
        if FLAGS.output is not None and FLAGS.output != FLAGS.export_dir:
            fail("give --output or --export_dir, not both")
    output = FLAGS.output if FLAGS.output is not None else FLAGS.export_dir
    if output is None:
        fail("give --output (or --export_dir for a SavedModel)")
    for argument, names in ARGUMENT_FLAGS.items():
        for name in names:
            if FLAGS[name].present and argument not in FORMAT_ARGUMENTS[FLAGS.format]:
                fail(f"--{name} does not apply to --format={FLAGS.format}")
    if FLAGS.format == "litert":
        if FLAGS.height is None or FLAGS.width is None:
            fail("--format=litert writes one fixed size: give --height and --width")
        for name in ("height", "width"):
            if FLAGS[name].value < 16:
                fail(f"--{name} must be at least 16. Received: {FLAGS[name].value}")
    if FLAGS.format == "onnx" and FLAGS.opset < MIN_OPSET:
        fail(f"--opset must be at least {MIN_OPSET}. Received: {FLAGS.opset}")
    flag = "--export_dir" if FLAGS.output is None else "--output"
    if FLAGS.format == "saved_model":
        check_output_folder(output, staged_beside=True)
    else:
        check_output_file(output, EXTENSIONS[FLAGS.format])
    check_replaceable_output(output, FLAGS.format, flag, FLAGS.overwrite)
    return output


def check_extra():
    """Stops, naming the extra to install, when --format needs a module that is missing."""
    missing, extra = missing_modules(FLAGS.format)
    if missing:
        fail(f"--format={FLAGS.format} needs {' and '.join(missing)}, not installed: "
             f"pip install 'srn-tf[{extra}]'")


def format_arguments(model_source):
    """export_model's format arguments from the flags that --format takes."""
    arguments = {"layout": FLAGS.layout, "input_dtype": FLAGS.input_dtype,
                 "opset": FLAGS.opset, "height": FLAGS.height, "width": FLAGS.width}
    if "metadata" in FORMAT_ARGUMENTS[FLAGS.format]:
        from srn_tf.export.metadata import describe_source

        preset, release_name, license = describe_source(model_source)
        arguments["metadata"] = {
            "preset": preset,
            "release_name": FLAGS.release_name if FLAGS.release_name is not None
            else release_name,
            "license": FLAGS.license if FLAGS.license is not None else license}
    return {name: value for name, value in arguments.items()
            if name in FORMAT_ARGUMENTS[FLAGS.format]}


def described():
    """What was written, for the line srn-export prints."""
    return {"saved_model": "signatures: serving_default, serving_uint8, levels",
            "keras": "keras.saving.load_model restores it",
            "onnx": f"opset {FLAGS.opset}, {FLAGS.input_dtype} {FLAGS.layout.upper()} images "
                    "of any size",
            "litert": f"{FLAGS.input_dtype} images of {FLAGS.height}x{FLAGS.width}, TFLite "
                      "builtins only"}[FLAGS.format]


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    output = check_flags()
    check_checkpoint(FLAGS.checkpoint)
    check_extra()
    import_tensorflow()

    from srn_tf.checkpoints.loading import load_deblur_model
    from srn_tf.export.formats import export_model
    from srn_tf.models.inference_options import RELEASE_OPTIONS, options_of
    from srn_tf.models.presets import resolve_model_path
    from srn_tf.models.srn_deblur_net import SRNDeblurNet

    try:
        model = load_deblur_model(FLAGS.checkpoint, FLAGS.model)
        if not isinstance(model, SRNDeblurNet):
            fail(f"{resolve_model_path(FLAGS.checkpoint)}: is already an export "
                 f"({type(model).__name__}); export the checkpoint it came from")
        export_model(model, output, FLAGS.format, overwrite=FLAGS.overwrite,
                     **format_arguments(FLAGS.checkpoint))
    except (OSError, ValueError) as error:
        fail(str(error))
    print(f"exported {resolve_model_path(FLAGS.checkpoint)} -> {output} ({described()})")
    options = options_of(model)
    if options != RELEASE_OPTIONS:
        steps = ", ".join(f"{name}={value}" for name, value in options.to_config().items())
        recorded = {"saved_model": "recorded in its srn_config.json for srn-deblur and "
                                   "srn-eval, not run by it",
                    "onnx": "recorded in the file's metadata for srn-deblur and srn-eval, "
                            "not run by it",
                    "litert": "recorded in the file's metadata for srn-deblur and srn-eval, "
                              "not run by it",
                    "keras": "not run by it"}[FLAGS.format]
        print(f"the export holds the network alone; the model's post-processing ({steps}) "
              f"is {recorded}")


def run():
    run_console_script(main, __name__)


if __name__ == "__main__":
    run()
