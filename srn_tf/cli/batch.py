r"""srn-batch: deblur a large collection of images and videos on Apache Beam, as srn-deblur
would.

    srn-batch --input_pattern='photos/**/*.jpg' --output_path=sharp \
        --direct_running_mode=multi_processing --direct_num_workers=4
    srn-batch --input_pattern='gs://BUCKET/photos' --output_path=gs://BUCKET/sharp \
        --runner=DataflowRunner --project=PROJECT --region=REGION ... (docs/batch.md)

Every image gets srn-deblur's output, bit for bit, under the same name in the
output folder. Options that are not srn-batch's own go to Apache Beam: --runner
(default DirectRunner) and the runner's options. Existing outputs are skipped
unless --overwrite, so a rerun finishes an interrupted run. Failed files (corrupt,
truncated, above --max_megapixels: refused from the header before decoding) are
listed in OUTPUT/failures.csv (file, reason), the others still done, and the exit
status is then 1;
OUTPUT/summary.json gives the counts and the seconds per image of each worker.
Videos (local paths) are cut into segments at key frames that the workers deblur
independently, each segment tried up to 3 times, then joined with the sound into
OUTPUT/<same name>; the segments live in srn-deblur's work folder beside the output,
so a rerun of either command resumes them (docs/video.md).
Needs Apache Beam: pip install 'srn-tf[batch]'; videos need PyAV: pip install 'srn-tf[video]'.
"""

import logging
import os

from absl import flags

from srn_tf.cli.common import (MODEL_SOURCES, check_checkpoint, check_file_run_flags,
                               check_image_input, check_max_megapixels, check_output_folder,
                               check_outputs_spare_inputs, check_quality_flags, check_tile_flags,
                               check_video_flags, define_device_flags, define_file_run_flags,
                               define_max_megapixels_flag, define_model_flags,
                               define_quality_flags, define_video_flags, fail,
                               options_from_flags, pass_unknown_flags,
                               run_console_script, select_gpu, verbose)

from srn_tf.data.video import is_video_path

FLAGS = flags.FLAGS
define_model_flags("Model to run: " + MODEL_SOURCES + " A path every worker can read at the "
                   "same place (the bundled model always can).")
define_device_flags()
define_quality_flags()
flags.DEFINE_string("input_pattern", None,
                    "An image or video, a folder (searched recursively) or a quoted glob pattern "
                    "('**' matches subfolders): a local path, listed as srn-deblur lists "
                    "--input_path, or a URI of any Beam filesystem (gs://, s3://, hdfs://).")
flags.DEFINE_string("output_path", None,
                    "Output folder, local or a URI; file names and subfolders mirror the "
                    "input, and failures.csv and summary.json are written into it.")
define_file_run_flags()
define_video_flags()
define_max_megapixels_flag()
flags.DEFINE_integer("batch_size", 8,
                     "Most images one RunInference call takes; same-size images of a "
                     "batch run one after another through the same traced model.")
flags.mark_flags_as_required(["input_pattern", "output_path"])

BEAM_MISSING = "srn-batch needs Apache Beam: pip install 'srn-tf[batch]'"


def _is_uri(path):
    return "://" in path


def _check_paths():
    """Exits unless a local --input_pattern names images or videos and a local
    --output_path can be written without replacing an input (URIs are checked by the
    pipeline itself)."""
    if not _is_uri(FLAGS.input_pattern):
        inputs = check_image_input(FLAGS.input_pattern, "input_pattern", videos=True)
        if not _is_uri(FLAGS.output_path):
            check_video_flags(os.path.join(FLAGS.output_path, relative)
                              for source, relative in inputs if is_video_path(source))
    if not _is_uri(FLAGS.output_path):
        check_output_folder(FLAGS.output_path)
    if not _is_uri(FLAGS.input_pattern) and not _is_uri(FLAGS.output_path):
        check_outputs_spare_inputs(FLAGS.input_pattern, FLAGS.output_path, FLAGS.format)


def _pipeline_options(beam_arguments):
    """Beam's PipelineOptions of the arguments; exits on one neither srn-batch nor
    Beam knows (Beam itself would only warn and drop it)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(beam_arguments)
    unknown = (set(options.get_all_options(retain_unknown_options=True))
               - set(options.get_all_options()))
    if unknown:
        fail(f"unknown option(s): {', '.join('--' + name for name in sorted(unknown))} "
             "(neither srn-batch's nor Apache Beam's)")
    return options


def main(argv):
    beam_arguments = argv[1:]
    if not verbose() and not any(argument.startswith("--default_sdk_harness_log_level")
                                 for argument in beam_arguments):
        # Beam logs every bundle at INFO and routine warnings; -v shows them.
        beam_arguments.append("--default_sdk_harness_log_level=ERROR")
    check_file_run_flags()
    max_megapixels = check_max_megapixels()
    if FLAGS.batch_size < 1:
        fail(f"--batch_size must be at least 1. Received: {FLAGS.batch_size}")
    _check_paths()
    checkpoint = check_checkpoint(FLAGS.checkpoint)
    check_tile_flags(FLAGS.tile, FLAGS.tile_overlap, checkpoint, zero_means_untiled=True)
    check_quality_flags()
    select_gpu(FLAGS.gpu)
    if not verbose():
        logging.getLogger().setLevel(logging.ERROR)
    try:
        import apache_beam  # noqa: F401
    except ImportError:
        fail(BEAM_MISSING)
    pipeline_options = _pipeline_options(beam_arguments)

    from srn_tf.batch.pipeline import FAILURES_FILE, BatchSettings, run_batch
    from srn_tf.write_safety import OutputRefused

    settings = BatchSettings(
        input_pattern=FLAGS.input_pattern, output_path=FLAGS.output_path,
        checkpoint=FLAGS.checkpoint, model_type=FLAGS.model, height=FLAGS.height,
        width=FLAGS.width, precision=FLAGS.precision, tile=FLAGS.tile,
        tile_overlap=FLAGS.tile_overlap, output_format=FLAGS.format,
        overwrite=FLAGS.overwrite, batch_size=FLAGS.batch_size,
        max_megapixels=max_megapixels, options=options_from_flags(FLAGS.checkpoint),
        video_codec=FLAGS.video_codec, crf=FLAGS.crf)
    try:
        summary = run_batch(settings, pipeline_options)
    except OutputRefused as refused:
        fail(str(refused))
    videos = summary["videos"]
    if not summary["images"] and not videos["videos"]:
        fail(f"no images found in {FLAGS.input_pattern}")
    print(f"done {summary['done']}, skipped {summary['skipped']} (output exists), "
          f"failed {summary['failed']}, {summary['seconds']:.1f} s")
    if videos["videos"]:
        segments = videos["segments"]
        print(f"videos: done {videos['done']}, skipped {videos['skipped']} (output exists), "
              f"failed {videos['failed']}; segments: deblurred {segments['deblurred']}, "
              f"already done {segments['already_done']}, failed {segments['failed']}, "
              f"retries {segments['retries']}")
    for worker, figures in summary["workers"].items():
        print(f"worker {worker}: {figures['images']} images, "
              f"{figures['seconds_per_image']:.3f} s/image")
    if summary["failed"] or videos["failed"]:
        print(f"failures: {FLAGS.output_path.rstrip('/')}/{FAILURES_FILE}")
        raise SystemExit(1)


def run():
    run_console_script(main, __name__, flags_parser=pass_unknown_flags)


if __name__ == "__main__":
    run()
