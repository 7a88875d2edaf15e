r"""srn-deblur: deblur an image, a video, a folder tree or a glob of images and videos.

    srn-deblur --checkpoint=models/color --input_path=photos --output_path=sharp
    srn-deblur --checkpoint=checkpoints/lstm/checkpoints --model=lstm \
        --input_path=testing_set --output_path=testing_res --height=720 --width=1280
    srn-deblur --input_path=clip.mp4 --output_path=clip_sharp.mp4    # needs srn-tf[video]

Every image runs at full resolution unless --height/--width ask for the release's
fixed-size mode. Outputs mirror the input tree in the input's format and bit depth.
Unreadable files (corrupt, truncated, above --max_megapixels) are reported one line
each and the others still done; the exit status is 1 if any failed. Files of image
types no reader takes (.gif, .heic, camera raw...) are listed as skipped
(unsupported type) and do not change the exit status. A video keeps its timing and
sound; a stopped run resumes where it stopped when run again (docs/video.md).
"""

import os

from absl import flags

from srn_tf.cli.common import (MODEL_SOURCES, check_checkpoint, check_file_run_flags,
                               check_image_input, check_max_megapixels, check_output_file,
                               check_output_folder, check_outputs_spare_inputs,
                               check_quality_flags, check_tile_flags, check_video_extra,
                               check_video_flags, define_device_flags, define_file_run_flags,
                               define_max_megapixels_flag, define_model_flags,
                               define_quality_flags, define_video_flags, fail,
                               options_from_flags, print_device, run_console_script,
                               select_gpu)
from srn_tf.data.video import is_video_path
from srn_tf.tensorflow_startup import import_tensorflow

FLAGS = flags.FLAGS
define_model_flags("Model to run: " + MODEL_SOURCES)
define_device_flags()
define_quality_flags()
flags.DEFINE_string("input_path", "./testing_set",
                    "An image or video file, a folder (searched recursively for .png, .jpg, "
                    ".jpeg, .bmp, .webp, .tif, .tiff and the videos .mp4, .mov, .m4v, .mkv, "
                    ".webm, .avi) or a quoted glob pattern ('**' matches subfolders).")
flags.DEFINE_string("output_path", "./testing_res",
                    "Folder for the results; file names and subfolders mirror the input "
                    "(videos keep their name and extension). For a single video, the output "
                    "video FILE, its extension choosing the container (or with "
                    "--frames_only, the folder of its frames).")
define_file_run_flags()
define_video_flags()
flags.DEFINE_bool("frames_only", False,
                  "Write each video's deblurred frames as numbered images (frame_000001.png, "
                  "...) into a folder instead of a video: PNG, or TIFF with --format=tif; "
                  "16-bit for 10/12-bit video. In a folder run, one folder per video, named "
                  "as the video without its extension.")
define_max_megapixels_flag()
flags.DEFINE_string("side_by_side", None,
                    "PNG file to write a comparison sheet into: each image as blurred | "
                    "deblurred, shrunk to at most 360 pixels high; images skipped because "
                    "their output exists are shown with that output.")


def frames_format():
    """The image format of --frames_only's frames: TIFF with --format=tif, else PNG; None
    without --frames_only."""
    if not FLAGS.frames_only:
        return None
    return "tif" if FLAGS.format in ("tif", "tiff") else "png"


def _check_video_readable(path):
    """Exits unless the video at `path` can be read (`probe_video`: demuxing only, fast):
    a truncated file, a file whose extension lies, one without video are refused here
    in one line, before TensorFlow loads."""
    from srn_tf.data.video import VideoError
    from srn_tf.data.video.probe import probe_video

    try:
        probe_video(path)
    except VideoError as error:
        fail(str(error))


def _check_paths():
    """Exits unless --input_path names images or videos and the outputs can be written
    without replacing an input. A single video needs PyAV here; in a folder, a video
    without PyAV fails on its own when its turn comes."""
    single_video = os.path.isfile(FLAGS.input_path) and is_video_path(FLAGS.input_path)
    check_image_input(FLAGS.input_path, "input_path", videos=True)
    if single_video:
        check_video_extra(FLAGS.input_path)
        _check_video_readable(FLAGS.input_path)
        if FLAGS.frames_only:
            check_output_folder(FLAGS.output_path)
        else:
            check_output_file(FLAGS.output_path)
    else:
        check_output_folder(FLAGS.output_path)
    if FLAGS.side_by_side is not None:
        check_output_file(FLAGS.side_by_side, ".png")
    planned = check_outputs_spare_inputs(FLAGS.input_path, FLAGS.output_path, FLAGS.format,
                                         FLAGS.side_by_side, videos=True,
                                         frames_only=FLAGS.frames_only)
    videos = [target for source, _, target in planned if is_video_path(source)]
    if videos and FLAGS.height is not None:
        fail("--height/--width (the fixed-size mode) are for photos; videos run at full "
             "resolution (leave them out, or deblur the videos in another run)")
    if not FLAGS.frames_only:
        check_video_flags(videos)


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    check_file_run_flags()
    max_megapixels = check_max_megapixels()
    _check_paths()
    checkpoint_path = check_checkpoint(FLAGS.checkpoint)
    check_tile_flags(FLAGS.tile, FLAGS.tile_overlap, checkpoint_path, zero_means_untiled=True)
    check_quality_flags()
    select_gpu(FLAGS.gpu)
    import_tensorflow()
    print_device(checkpoint_path=checkpoint_path)

    from srn_tf.inference.deblur_files import deblur_files

    try:
        summary = deblur_files(
            FLAGS.input_path, FLAGS.output_path, checkpoint=FLAGS.checkpoint,
            model_type=FLAGS.model, height=FLAGS.height, width=FLAGS.width,
            precision=FLAGS.precision, tile=FLAGS.tile, tile_overlap=FLAGS.tile_overlap,
            output_format=FLAGS.format, overwrite=FLAGS.overwrite,
            side_by_side_path=FLAGS.side_by_side, max_megapixels=max_megapixels,
            options=options_from_flags(FLAGS.checkpoint), videos=True,
            codec=FLAGS.video_codec, crf=FLAGS.crf, frames_only=frames_format())
    except (FileNotFoundError, ValueError) as error:
        fail(str(error))
    if summary.side_by_side:
        print(f"side by side: {summary.side_by_side}")
    print(f"done {len(summary.done)}, skipped {len(summary.skipped)} (output exists), "
          f"failed {len(summary.failed)}, {summary.seconds:.1f} s")
    for path in summary.skipped:
        print(f"skipped: {path}")
    for path in summary.unsupported:
        print(f"skipped (unsupported type): {path}")
    for _, message in summary.failed:
        print(f"failed: {message}")
    if summary.failed:
        raise SystemExit(1)


def run():
    run_console_script(main, __name__)


if __name__ == "__main__":
    run()
