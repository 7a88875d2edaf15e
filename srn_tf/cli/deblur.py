r"""srn-deblur: deblur an image, a folder tree or a glob of images.

    srn-deblur --checkpoint=models/color --input_path=photos --output_path=sharp
    srn-deblur --checkpoint=checkpoints/lstm/checkpoints --model=lstm \
        --input_path=testing_set --output_path=testing_res --height=720 --width=1280

Every image runs at full resolution unless --height/--width ask for the release's
fixed-size mode. Outputs mirror the input tree in the input's format and bit depth.
Unreadable files are reported and skipped; the exit status is 1 if any failed.
"""

from absl import flags

from srn_tf.cli.common import (MODEL_SOURCES, check_checkpoint, check_output_file,
                               check_output_folder, check_tile_flags, define_device_flags,
                               define_model_flags, fail, import_tensorflow,
                               run_console_script, run_option_overrides, select_gpu)

FLAGS = flags.FLAGS
define_model_flags("Model to run: " + MODEL_SOURCES)
define_device_flags()
flags.DEFINE_string("input_path", "./testing_set",
                    "An image file, a folder (searched recursively for .png, .jpg, .jpeg, "
                    ".bmp, .tif, .tiff) or a quoted glob pattern ('**' matches subfolders).")
flags.DEFINE_string("output_path", "./testing_res",
                    "Folder for the results; file names and subfolders mirror the input.")
flags.DEFINE_integer("height", None,
                     "With --width: the release's fixed-size mode. Images are turned to "
                     "landscape, shrunk (bicubic) to fit height x width if larger, edge-padded "
                     "to exactly that size, run, cropped, enlarged back and turned back. A "
                     "multiple of 16. Without it, images run at full resolution.")
flags.DEFINE_integer("width", None, "With --height: see --height. A multiple of 16.")
flags.DEFINE_integer("tile", None,
                     "Largest tile side in pixels: big images run in overlapping tiles to "
                     "bound memory. Default: automatic (tile only images above 2 Mpixel per "
                     "model batch; docs/tiling.md gives the memory it keeps to); 0 never tiles. "
                     "The overlap must stay below the tile rounded down to a multiple of 16, "
                     "minus 16.")
flags.DEFINE_integer("tile_overlap", None,
                     "Least overlap of neighbouring tiles in pixels (default 64); more "
                     "overlap is closer to the untiled result and slower.")
flags.DEFINE_enum("format", None, ["png", "jpg", "jpeg", "bmp", "tif", "tiff"],
                  "Output format. Default: each input's own format and bit depth. 16-bit "
                  "images become 8-bit and alpha is dropped where the format cannot hold them.")
flags.DEFINE_string("side_by_side", None,
                    "PNG file to write a comparison sheet into: each image as blurred | "
                    "deblurred, shrunk to at most 360 pixels high; images skipped because "
                    "their output exists are shown with that output.")
flags.DEFINE_bool("overwrite", False,
                  "Replace existing output files; without it they are skipped and reported.")


def _check_paths():
    """Exits unless --input_path names images and the outputs can be written."""
    from srn_tf.data import image_io

    try:
        inputs = image_io.list_images(FLAGS.input_path)
    except FileNotFoundError:
        fail(f"--input_path={FLAGS.input_path}: no such file, folder or matching glob")
    if not inputs:
        fail(image_io.no_images_message(FLAGS.input_path))
    check_output_folder(FLAGS.output_path)
    if FLAGS.side_by_side is not None:
        check_output_file(FLAGS.side_by_side, ".png")


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
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
    _check_paths()
    check_tile_flags(FLAGS.tile, FLAGS.tile_overlap, check_checkpoint(FLAGS.checkpoint),
                     zero_means_untiled=True)
    overrides = run_option_overrides()
    select_gpu(FLAGS.gpu)
    import_tensorflow()

    from srn_tf.inference.deblur_files import deblur_files

    try:
        summary = deblur_files(
            FLAGS.input_path, FLAGS.output_path, checkpoint=FLAGS.checkpoint,
            model_type=FLAGS.model, height=FLAGS.height, width=FLAGS.width,
            precision=FLAGS.precision, tile=FLAGS.tile, tile_overlap=FLAGS.tile_overlap,
            output_format=FLAGS.format, overwrite=FLAGS.overwrite,
            side_by_side_path=FLAGS.side_by_side, **overrides)
    except (FileNotFoundError, ValueError) as error:
        fail(str(error))
    if summary.side_by_side:
        print(f"side by side: {summary.side_by_side}")
    print(f"done {len(summary.done)}, skipped {len(summary.skipped)} (output exists), "
          f"failed {len(summary.failed)}, {summary.seconds:.1f} s")
    for path in summary.skipped:
        print(f"skipped: {path}")
    for _, message in summary.failed:
        print(f"failed: {message}")
    if summary.failed:
        raise SystemExit(1)


def run():
    run_console_script(main, __name__)


if __name__ == "__main__":
    run()
