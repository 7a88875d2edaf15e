"""srn-serve's short video uploads: checked from the container before they queue,
deblurred frame by frame by `deblur_video`, handed back in the upload's container.

An upload is probed (`probe_video`: the packets, no decoding), refused in one line
naming the client's file when it is no video PyAV reads (400) or longer than the
server's limit (413), and otherwise becomes a `VideoJob` whose progress counts
frames. The result keeps the input's timing and sound (docs/video.md).
"""

import os

from srn_tf.serve.jobs import QueuedUpload

# The container families probe_video names (FFmpeg demuxers), the extensions each may be
# written back as (the client's own when it is one of them, else the first), and the
# content type of each extension.
_EXTENSIONS_OF_DEMUXER = {
    "mov,mp4,m4a,3gp,3g2,mj2": (".mp4", ".mov", ".m4v"),
    "matroska,webm": (".mkv", ".webm"),
    "avi": (".avi",),
}
CONTENT_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
                 ".mkv": "video/x-matroska", ".webm": "video/webm", ".avi": "video/x-msvideo"}


class VideoJob(QueuedUpload):
    """One uploaded video: its files, state, times and frames deblurred so far.

    It answers what `DeblurService` asks of a photo's `Job` (`QueuedUpload`'s state,
    size, megapixels for the queue's ETA, download name) and counts frames
    (`advance`) for the page's progress.
    """

    kind = "video"

    def __init__(self, job_id, folder, filename, extension, info):
        super().__init__(job_id, folder, filename, extension)
        self.height, self.width, self.channels = info.height, info.width, 3
        self.bit_depth = info.bit_depth
        self.frames = info.frame_count
        self.duration = info.duration
        self.frames_done = 0
        # Every frame's pixels: the queue's ETA weighs a video by all its frames.
        self.megapixels = self.frames * self.height * self.width / 1e6

    @property
    def input_file(self):
        return os.path.join(self.folder, "input" + self.extension)

    @property
    def output_file(self):
        return os.path.join(self.folder, "deblurred" + self.extension)

    @property
    def content_type(self):
        return CONTENT_TYPES[self.extension]

    def advance(self, frames):
        """Counts `frames` more deblurred frames (called from the model's thread)."""
        self.frames_done += frames


def video_extension(info, filename):
    """The extension a video is kept and written back under: the client's own when it
    names the container probe found, else that container's usual one.

    Raises:
        ValueError: a container srn-serve does not write back (one line).
    """
    extensions = _EXTENSIONS_OF_DEMUXER.get(info.container)
    if extensions is None:
        raise ValueError(f"its container ({info.container}) is not one srn-serve writes "
                         "back (MP4, MOV, MKV, WebM or AVI)")
    own = os.path.splitext(filename or "")[1].lower()
    return own if own in extensions else extensions[0]


def probe_upload(path, filename, max_seconds):
    """The `VideoInfo` and output extension of an uploaded video at `path`.

    Raises:
        ValueError: not a video PyAV reads, or a container not written back; the
            message (one line) does not name the private path.
        OverflowError: longer than `max_seconds` (one line naming --max_video_seconds).
    """
    from srn_tf.data.video.probe import probe_video

    try:
        info = probe_video(path)
    except ValueError as error:  # VideoError: "<path>: <problem>"
        raise ValueError(getattr(error, "problem", str(error))) from None
    if info.duration > max_seconds:
        raise OverflowError(f"{info.duration:.1f} s is above the limit of {max_seconds:g} s "
                            "(--max_video_seconds)")
    return info, video_extension(info, filename)


def video_runner(model, options=None, precision="auto"):
    """`DeblurService`'s `run_video` for a loaded model: (input path, output path,
    on_frame) -> the video deblurred as srn-deblur deblurs it (`deblur_video`, the
    codec by the output's extension), `on_frame(n)` told of each frame done."""
    from srn_tf.inference.deblur_video import deblur_video
    from srn_tf.models.inference_options import options_for

    options = options_for(model, options)

    def run(input_path, output_path, on_frame):
        deblur_video(model, input_path, output_path, options, precision, progress=False,
                     on_frame=on_frame)

    return run
