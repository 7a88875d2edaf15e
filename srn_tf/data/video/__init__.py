"""Video files: finding them, reading their layout, decoding, encoding and joining frames.

PyAV (FFmpeg's libraries in a wheel, the `video` extra) does all the container and codec
work; `import av` happens only inside this package, through `import_av`, so the rest of
srn-tf (and every console script's argument check) runs without it. Frames are numpy
arrays: (height, width, 3) RGB, uint8 for 8-bit video, uint16 (full 16-bit scale, like a
16-bit PNG) for 10- and 12-bit video.

Modules, in the order a deblurring run uses them:
    probe     `probe_video`: the stream's layout (every frame's timestamp, key frames,
              rotation, colour tags, streams to copy) from the packets, without decoding.
    segments  `plan_segments`: cutting the frames into runs that start at key frames.
    decode    `segment_frames`: one segment's frames as arrays; `prefetched`.
    encode    `choose_encoding`, `write_segment`: frames into a segment file.
    join      `join_segments`: segment files plus the input's sound into the output.
"""

import os

from srn_tf.data.image_io import is_image_file, list_files

VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")

PIP_LINE = "pip install 'srn-tf[video]'"


class VideoError(ValueError):
    """A video that cannot be read or written as asked; str() is one line starting with its path."""

    def __init__(self, path, problem):
        self.path = os.fspath(path)
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.path}: {self.problem}")


class MissingVideoExtra(ImportError):
    """PyAV is not installed; str() is one line saying what needs it and the pip line."""

    def __init__(self, what="reading video"):
        super().__init__(f"{what} needs PyAV: {PIP_LINE}")


def import_av(what="reading video"):
    """The `av` module (PyAV).

    Args:
        what: the task that needs it, for the message ("reading video", "srn-deblur on
            clip.mp4").

    Raises:
        MissingVideoExtra: PyAV cannot be imported.
    """
    try:
        import av  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise MissingVideoExtra(what) from None
    return av


def is_video_path(path):
    """Whether `path`'s extension (any case) is one of VIDEO_EXTENSIONS."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_EXTENSIONS


def list_videos(input_path, exclude=()):
    """Lists the video files `input_path` names, each with its path relative to the input root.

    The same search as `srn_tf.data.image_io.list_images` (a file, a folder searched
    recursively with hidden files left out, or a glob; `exclude` folders left out), for
    names `is_video_path` accepts.

    Returns:
        Sorted list of (path, relative path) pairs; empty when nothing matches.

    Raises:
        FileNotFoundError: `input_path` is neither a file, a folder nor a glob.
    """
    return list_files(input_path, is_video_path, exclude)


def is_image_or_video_path(path):
    """Whether `path` names an image `srn_tf.data.image_io.read_image` reads or a video
    (`is_video_path`): the files a run that deblurs videos too takes."""
    return is_image_file(path) or is_video_path(path)


def list_images_and_videos(input_path, exclude=()):
    """`list_videos` for images (`srn_tf.data.image_io.list_images`) and videos alike, in
    one search of `input_path`: sorted (path, relative path) pairs of both kinds."""
    return list_files(input_path, is_image_or_video_path, exclude)
