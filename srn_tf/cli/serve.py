r"""srn-serve: a local web page (and HTTP API) that deblurs photos and short videos with
one model.

    srn-serve                                    # the bundled model, http://127.0.0.1:8000/
    srn-serve --checkpoint=models/lstm --port=8080 --max_upload_mb=200 --max_megapixels=400

Open the printed address in a browser, drop photos on the page, compare before and
after, set the strength and download the results (docs/serve.md). Short videos
(up to --max_video_mb and --max_video_seconds; with `pip install 'srn-tf[video]'`)
come back deblurred with their timing and sound, progress shown over frames. Binds 127.0.0.1
unless --host says otherwise. Ctrl-C stops: the image being deblurred finishes and
is delivered, queued ones are cancelled, the private upload folder is removed.
Needs `pip install 'srn-tf[serve]'`.
"""

import sys
import tempfile

from absl import flags

from srn_tf.cli.common import (MODEL_SOURCES, check_checkpoint, check_max_megapixels,
                               check_quality_flags, define_max_megapixels_flag,
                               define_model_flags, define_precision_flag, define_quality_flags,
                               device_line, fail, options_from_flags, precision_choice,
                               run_console_script)
from srn_tf.tensorflow_startup import import_tensorflow

FLAGS = flags.FLAGS
define_model_flags("Model to serve: " + MODEL_SOURCES)
define_precision_flag("auto")
define_quality_flags()
flags.DEFINE_string("host", "127.0.0.1",
                    "Address to listen on. The default answers this machine only; another "
                    "address (0.0.0.0: every network) lets anyone who reaches it upload "
                    "images, and a warning is printed.")
flags.DEFINE_integer("port", 8000, "Port to listen on; 0 picks a free one (printed).")
flags.DEFINE_float("max_upload_mb", 50, "Largest image file accepted, in MB (2^20 bytes); "
                   "larger uploads get HTTP 413.")
flags.DEFINE_float("max_video_mb", 200, "Largest video file accepted, in MB (2^20 bytes); "
                   "larger uploads get HTTP 413.")
flags.DEFINE_float("max_video_seconds", 60, "Longest video accepted, in seconds (read from "
                   "the container before it queues); longer ones get HTTP 413.")
define_max_megapixels_flag()
flags.DEFINE_integer("max_queue", 32,
                     "How many images may wait for the model; more get HTTP 503 (the page "
                     "retries them). The model runs one image at a time.")


def _describe(checkpoint):
    return "the bundled default model" if checkpoint in (None, "", "default") else checkpoint


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    from srn_tf.serve import missing_dependencies, missing_message

    missing = missing_dependencies()
    if missing:
        fail(missing_message(missing))
    if not 0 <= FLAGS.port <= 65535:
        fail(f"--port must be from 0 to 65535. Received: {FLAGS.port}")
    for name in ("max_upload_mb", "max_video_mb", "max_video_seconds"):
        if not FLAGS[name].value > 0:
            fail(f"--{name} must be above 0. Received: {FLAGS[name].value:g}")
    if FLAGS.max_queue < 1:
        fail(f"--max_queue must be at least 1. Received: {FLAGS.max_queue}")
    max_megapixels = check_max_megapixels()
    checkpoint_path = check_checkpoint(FLAGS.checkpoint)
    check_quality_flags()

    from srn_tf.serve.server import bind, is_loopback, url_of

    try:
        sock = bind(FLAGS.host, FLAGS.port)
    except OSError as error:
        fail(str(error))
    local = is_loopback(FLAGS.host)
    if not local:
        print(f"warning: --host={FLAGS.host} lets every machine that reaches this address "
              "upload images to this server; use the default 127.0.0.1 to keep it to this "
              "machine", file=sys.stderr, flush=True)
    import_tensorflow()

    from srn_tf.checkpoints.loading import load_deblur_model
    from srn_tf.serve.app import create_app
    from srn_tf.data.video import MissingVideoExtra, import_av
    from srn_tf.serve.jobs import DeblurService, memory_check_of, model_runner
    from srn_tf.serve.server import serve
    from srn_tf.serve.videos import video_runner

    try:
        model = load_deblur_model(FLAGS.checkpoint, FLAGS.model)
    except (OSError, ValueError) as error:
        fail(str(error).splitlines()[0])
    folder = tempfile.mkdtemp(prefix="srn-serve-")
    options = options_from_flags(FLAGS.checkpoint)
    run = model_runner(model, options, FLAGS.precision)
    try:
        import_av("deblurring videos in srn-serve")
        run_video, videos_line = video_runner(model, options, FLAGS.precision), None
    except MissingVideoExtra as missing:
        run_video, videos_line = None, f"srn-serve: photos only; {missing}"
    service = DeblurService(run, folder, max_queue=FLAGS.max_queue, min_side=model.size_multiple,
                            description=_describe(FLAGS.checkpoint), log=sys.stdout,
                            max_megapixels=max_megapixels,
                            memory_check=memory_check_of(model), run_video=run_video,
                            max_video_seconds=FLAGS.max_video_seconds)
    app = create_app(service, int(FLAGS.max_upload_mb * 2**20), local_only=local,
                     max_video_bytes=int(FLAGS.max_video_mb * 2**20))
    print(f"srn-serve: {url_of(sock)} serving {_describe(FLAGS.checkpoint)} "
          "(Ctrl-C stops)", flush=True)
    # After the address, which tools read from the first line.
    print(f"srn-serve: {device_line(precision=precision_choice(checkpoint_path))}", flush=True)
    if videos_line:
        print(videos_line, flush=True)
    try:
        serve(app, service, sock)
    except KeyboardInterrupt:
        pass
    finally:
        service.close(wait=False)
        sock.close()
    print("srn-serve: stopped", flush=True)
    return 0


def run():
    run_console_script(main, __name__)


if __name__ == "__main__":
    run()
