r"""srn-eval: PSNR and SSIM of a model on paired test images, as the paper reports them.

    srn-eval --checkpoint=models/color --gopro_dir=GOPRO_Large --output_dir=eval/color
    srn-eval --checkpoint=checkpoints/lstm/checkpoints --model=lstm \
        --datalist=test_list.txt --output_dir=eval/lstm --contact_sheet=eval/lstm/worst.png

Each blurred image is deblurred, converted as the release writes results (clip,
* 255, truncate to 8 bits) and scored against its sharp image, beside the
blurred input's own scores. PSNR and SSIM are MATLAB's (the paper's) unless
--ssim=per_channel. A pair with a missing, unreadable or mismatched file (size or
channels: a gray blurred image with an RGB sharp one), or an image above
--max_megapixels, is found from the headers before the model loads, named in one
line and left out; a file that fails to decode mid-run is reported the same way.
The other pairs are scored, the summary says over how many of the listed pairs
its means are (a mean over part of a test set is not that set's score), and the
exit status is 1 when any pair could not be scored. A missing or malformed list,
or one with no usable pair, is refused.
"""

from absl import flags

from srn_tf.cli.common import (MODEL_SOURCES, check_checkpoint, check_input_path,
                               check_max_megapixels, check_output_file, check_output_folder,
                               check_quality_flags, check_tile_flags, define_device_flags,
                               define_max_megapixels_flag, define_model_flags,
                               define_quality_flags, fail, options_from_flags, print_device,
                               run_console_script, select_gpu)
from srn_tf.tensorflow_startup import import_tensorflow

FLAGS = flags.FLAGS
define_model_flags("Model to evaluate: " + MODEL_SOURCES)
define_device_flags(precision="float32")  # paper figures: the release's arithmetic
define_quality_flags()
flags.DEFINE_string("datalist", None,
                    "Test list in the release's format: one 'sharp_path blur_path' pair per "
                    "line, relative to --data_root.")
flags.DEFINE_string("data_root", None, "Folder the --datalist paths are relative to "
                    "(default: the list file's folder).")
flags.DEFINE_string("gopro_dir", None,
                    "GOPRO_Large folder; its test/<scene>/<blur_folder>|sharp/*.png pairs are "
                    "evaluated (instead of --datalist).")
flags.DEFINE_string("blur_folder", "blur",
                    "With --gopro_dir: 'blur' (the paper's inputs) or 'blur_gamma'.")
flags.DEFINE_integer("max_images", 0, "Evaluate only the first N pairs (0: all).")
flags.DEFINE_integer("tile", None, "Run images in overlapping tiles of at most this side "
                     "(pixels) to bound memory; default: whole images.")
flags.DEFINE_integer("tile_overlap", None, "Least overlap of neighbouring tiles in pixels.")
flags.DEFINE_enum("ssim", "matlab", ["matlab", "per_channel"],
                  "SSIM definition: 'matlab' (3-D window over RGB, the paper's) or "
                  "'per_channel' (2-D SSIM per channel averaged, as scikit-image).")
flags.DEFINE_string("output_dir", None,
                    "Folder for per_image.csv and summary.json (and images/ with "
                    "--save_images).")
flags.DEFINE_bool("save_images", False,
                  "Write each deblurred image to <output_dir>/images/<path as listed>.")
flags.DEFINE_string("contact_sheet", None,
                    "PNG file for blurred | deblurred | sharp strips of the images with the "
                    "smallest PSNR gain.")
flags.DEFINE_integer("contact_sheet_count", 4, "How many images the contact sheet shows.")
define_max_megapixels_flag()


def _check_flags():
    """Exits on a bad flag or path; returns the checkpoint's path (`check_checkpoint`)."""
    if (FLAGS.datalist is None) == (FLAGS.gopro_dir is None):
        fail("give exactly one of --datalist and --gopro_dir")
    if FLAGS.data_root is not None and FLAGS.datalist is None:
        fail("--data_root goes with --datalist")
    if FLAGS.save_images and FLAGS.output_dir is None:
        fail("--save_images needs --output_dir")
    if FLAGS.contact_sheet is not None and not FLAGS.contact_sheet.lower().endswith(".png"):
        fail(f"--contact_sheet={FLAGS.contact_sheet}: must be a .png file")
    if FLAGS.max_images < 0 or FLAGS.contact_sheet_count < 0:
        fail("--max_images and --contact_sheet_count must not be negative")
    check_input_path(FLAGS.datalist, "file")
    check_input_path(FLAGS.data_root, "folder")
    check_input_path(FLAGS.gopro_dir, "folder")
    if FLAGS.output_dir is not None:
        check_output_folder(FLAGS.output_dir)
    if FLAGS.contact_sheet is not None:
        check_output_file(FLAGS.contact_sheet, ".png")
    checkpoint_path = check_checkpoint(FLAGS.checkpoint)
    check_tile_flags(FLAGS.tile, FLAGS.tile_overlap, checkpoint_path)
    return checkpoint_path


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    checkpoint_path = _check_flags()
    max_megapixels = check_max_megapixels()
    check_quality_flags()
    select_gpu(FLAGS.gpu)

    import os
    import sys

    import_tensorflow()
    print_device(checkpoint_path=checkpoint_path)

    from srn_tf.data import pairs as pair_lists

    try:
        if FLAGS.datalist is not None:
            pairs = pair_lists.read_datalist(FLAGS.datalist, FLAGS.data_root, check=False)
            dataset = os.path.abspath(FLAGS.datalist)
        else:
            pairs = pair_lists.read_gopro(FLAGS.gopro_dir, blur_folder=FLAGS.blur_folder,
                                             check=False)
            dataset = os.path.join(os.path.abspath(FLAGS.gopro_dir), "test", FLAGS.blur_folder)
    except pair_lists.PairListError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        fail(f"{len(error.problems)} problem(s) in the test set's list; nothing was evaluated")
    if FLAGS.max_images:
        pairs = pairs[:FLAGS.max_images]
    listed = len(pairs)
    pairs, skipped = pair_lists.usable_pairs(pairs, max_megapixels=max_megapixels)
    for problem in skipped:
        print(f"skipped: {problem}", file=sys.stderr, flush=True)
    if not pairs:
        fail(f"none of the {listed} pairs can be scored (each problem named above); "
             "nothing was evaluated")

    from srn_tf.evaluation import evaluate as evaluation
    from srn_tf.checkpoints.loading import load_deblur_model
    from srn_tf.models.srn_deblur_net import SRNDeblurNet
    from srn_tf.models.model_types import model_type_of
    from srn_tf.models.presets import resolve_model_path

    try:
        model = load_deblur_model(FLAGS.checkpoint, FLAGS.model)
    except (OSError, ValueError) as error:
        fail(str(error))
    model_type = model_type_of(model) if isinstance(model, SRNDeblurNet) else "saved_model"
    checkpoint = resolve_model_path(FLAGS.checkpoint)
    metadata = {"checkpoint": os.path.abspath(checkpoint), "model_type": model_type,
                "dataset": dataset, "skipped": skipped}
    summary = evaluation.evaluate(
        model, pairs, output_dir=FLAGS.output_dir, ssim_definition=FLAGS.ssim,
        precision=FLAGS.precision, tile=FLAGS.tile, tile_overlap=FLAGS.tile_overlap,
        save_images=FLAGS.save_images, contact_sheet_path=FLAGS.contact_sheet,
        contact_sheet_count=FLAGS.contact_sheet_count, metadata=metadata,
        progress=lambda line: print(line, flush=True), max_megapixels=max_megapixels,
        listed=listed, options=options_from_flags(FLAGS.checkpoint))
    print(evaluation.format_summary(summary))
    for failure in summary["failures"]:
        print(f"error: {failure}", file=sys.stderr)
    if summary["images"] < listed:
        fail(f"{listed - summary['images']} of {listed} pairs could not be scored; the means "
             f"are over the other {summary['images']}")


def run():
    run_console_script(main, __name__)


if __name__ == "__main__":
    run()
