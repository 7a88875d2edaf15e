"""Writing files and folders atomically: a temporary name beside the target, then a rename.

Every output this package writes (images, JSON and CSV reports, checkpoint and
SavedModel folders) goes through here, so an interrupted or failed run never
leaves a partial file under the final name, and a failure is reported as
"<final path>: cannot write (<reason>)": the temporary names never show.

    with atomic_file("out/a.png") as temporary:
        encode(temporary)                  # renamed onto out/a.png on success

    with atomic_folder("export", replace="saved_model") as staging:
        save_everything_into(staging)      # renamed onto export/ on success; an
                                           # existing export/ only if srn-tf wrote it

Only the standard library is used, so console scripts can use this before
TensorFlow loads.
"""

import contextlib
import errno
import json
import os
import shutil
import uuid

from srn_tf.write_safety import check_replaceable


def temporary_name(path, kind):
    """A hidden name in `path`'s folder, unique to this process, with `path`'s extension.

    `path` may be a URI ("gs://bucket/a/b.png"): only its last "/" is split on.
    """
    folder, name = os.path.split(path)
    extension = os.path.splitext(name)[1]
    return os.path.join(folder, f".{name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}{extension}")


def _names(error, temporary):
    """True when an OSError is about `temporary` (so its message would show that name)."""
    return temporary in (error.filename, error.filename2) or temporary in str(error)


def write_error(path, error):
    """An OSError of `error`'s kind whose one-line message names `path`, not a temporary.

    Args:
        path: the final path the write was for.
        error: an OSError (its strerror, e.g. "Permission denied", is the reason)
            or a string giving the reason.
    """
    if isinstance(error, OSError):
        reason = error.strerror or str(error)
        kind = type(error)
        code = error.errno
    else:
        reason, kind, code = str(error), OSError, None
    translated = kind(f"{path}: cannot write ({reason})")
    # Kept for callers that test it; set after construction, so the message stays as is.
    translated.errno = code
    return translated


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        with contextlib.suppress(OSError):
            os.remove(path)


@contextlib.contextmanager
def atomic_file(path):
    """Yields a temporary path beside `path`; renames it onto `path` when the block ends well.

    The temporary file is created (empty, with the usual permissions) before the
    block runs, so an unwritable or missing folder fails here, with a message
    naming `path`. It keeps `path`'s extension, so encoders that pick the format
    from the name (OpenCV, tifffile) write the right one into it. On any
    exception the temporary file is removed and `path` is left as it was.

    Raises:
        OSError: the folder cannot be written, or the rename fails; the message
            is "<path>: cannot write (<reason>)". An OSError raised in the block
            that names the temporary file is rewritten the same way; other
            exceptions pass through unchanged.
    """
    path = os.fspath(path)
    temporary = temporary_name(path, "tmp")
    try:
        with open(temporary, "xb"):
            pass
    except OSError as error:
        raise write_error(path, error) from None
    try:
        yield temporary
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        if _names(error, temporary) or error.filename == path:
            raise write_error(path, error) from None
        raise
    except BaseException:
        _remove(temporary)
        raise


@contextlib.contextmanager
def atomic_folder(path, replace=None):
    """Yields an empty staging folder beside `path`; moves it onto `path` when the block ends well.

    An existing `path` is refused unless `replace` names the kind of output it
    must be (a key of `srn_tf.write_safety.KINDS`, e.g. "saved_model"): then it
    is replaced only when srn-tf wrote it (or it is an empty folder), never a
    folder of the user's. The old folder is renamed aside, the new one renamed
    into place, and only then is the old one removed, so `path` always holds
    either the old or the new complete folder. On any exception the staging
    folder is removed and `path` is untouched.

    Raises:
        FileExistsError: `path` exists and `replace` is None (checked before and
            after the block).
        srn_tf.write_safety.OutputRefused: `path` is not an output of kind
            `replace` (checked before and after the block).
        OSError: the parent folder cannot be written or a rename fails, as
            "<path>: cannot write (<reason>)".
    """
    path = os.path.normpath(os.fspath(path))
    _check_replaceable(path, replace)
    staging = temporary_name(path, "staging")
    try:
        os.mkdir(staging)
    except OSError as error:
        raise write_error(path, error) from None
    try:
        yield staging
        if os.path.lexists(path):
            _check_replaceable(path, replace)
            old = temporary_name(path, "old")
            os.rename(path, old)
            try:
                os.rename(staging, path)
            except OSError:
                os.rename(old, path)
                raise
            _remove(old)
        else:
            os.rename(staging, path)
    except OSError as error:
        _remove(staging)
        if isinstance(error, FileExistsError) and not error.filename:
            raise
        if _names(error, staging) or error.filename == path:
            raise write_error(path, error) from None
        raise
    except BaseException:
        _remove(staging)
        raise


def _check_replaceable(path, replace):
    """Raises unless `path` is absent, or an output of kind `replace` (`atomic_folder`)."""
    if not os.path.lexists(path):
        return
    if replace is None:
        raise FileExistsError(f"{path}: already exists (pass overwrite to replace it)")
    check_replaceable(path, replace)


def write_text(text, path):
    """Writes `text` (str) to `path` atomically, UTF-8."""
    with atomic_file(path) as temporary:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)


def write_json(data, path):
    """Writes `data` as indented JSON with sorted keys and a final newline, atomically."""
    write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", path)
