"""Whether a path may be written: the one place every command asks before it writes.

Three rules, each for every console script and for the library functions behind them:

- A destination is writable only if writing there works: `write_problem` creates
  and removes a uniquely named file in the folder that would hold it (or in its
  nearest existing ancestor), so /proc, /sys, read-only mounts and missing
  permissions fail before any work, for root too (where permission bits say yes).
- `overwrite` replaces only what srn-tf itself wrote: `replace_refusal` recognises
  an output of each kind (an srn-export SavedModel folder, .onnx, .tflite or
  .keras file, an srn_tf checkpoint folder) from its own signature and refuses
  anything else, so `--overwrite` never deletes a folder of photos.
- Outputs never replace inputs: `first_replaced_input` finds an output that
  would be one of the inputs (the same file, compared by device and inode, so
  also through symlinks, hard links and another spelling of the path).

Only the standard library is used, so console scripts check before TensorFlow loads.
"""

import errno
import json
import os
import re
import tempfile
import zipfile

from srn_tf.config_file import CONFIG_FILE

# Leftovers of an interrupted atomic write (`atomic_files.temporary_name`).
TEMPORARY_NAME = re.compile(r"^\..+\.(tmp|staging|old)-\d+-[0-9a-f]{8}(\.[^.]*)?$")
# What `tf.saved_model.save` and `export_saved_model` put in an export folder.
_SAVED_MODEL_NAMES = {"saved_model.pb", CONFIG_FILE, "variables", "assets", "fingerprint.pb"}
# What `save_model`, srn-convert and srn-train put in a checkpoint folder.
_CHECKPOINT_NAME = re.compile(
    r"^(checkpoint|flags\.json|train|srn_config\.json"
    r"|(model|ckpt)-\d+(\.index|\.data-\d+-of-\d+|\.weights\.h5))$")
# A .keras file's config names the registered class (`srn_tf.models.srn_deblur_net`).
_KERAS_CLASS = "srn_tf>SRNDeblurNet"
# ONNX files of `export_onnx` start with ir_version (field 1) and then producer_name
# (field 2) "srn-tf": protobuf writes fields in number order.
_ONNX_PRODUCER = b"\x12\x06srn-tf"
# LiteRT files are FlatBuffers with the identifier "TFL3" at byte 4; `export_litert`
# adds a metadata buffer named "srn_tf".
_TFLITE_IDENTIFIER = b"TFL3"
_TFLITE_METADATA = b"srn_tf"


class OutputRefused(FileExistsError):
    """An existing path that a write would replace is not srn-tf's to replace, or an
    output would replace an input. The message is one line naming the path."""


def write_problem(path, folder=False):
    """Why a file (or, with `folder`, a folder) cannot be written at `path`; None when it can.

    The check is real: a uniquely named empty file is created and removed in the
    folder that would hold the destination (for a missing folder, its nearest
    existing ancestor, where the missing folders would be created).

    Returns:
        None, or the reason as a short phrase ("Not a directory", "Permission
        denied", "Read-only file system", "No such file or directory" for /proc).
    """
    path = os.path.abspath(os.fspath(path))
    if folder and os.path.lexists(path) and not os.path.isdir(path):
        return os.strerror(errno.ENOTDIR)
    if not folder and os.path.isdir(path):
        return os.strerror(errno.EISDIR)
    where = path if folder and os.path.isdir(path) else os.path.dirname(path)
    while not os.path.lexists(where):
        where = os.path.dirname(where)
    if not os.path.isdir(where):
        return os.strerror(errno.ENOTDIR)
    try:
        handle, probe = tempfile.mkstemp(prefix=".srn-write-check-", dir=where)
    except OSError as error:
        return error.strerror or str(error)
    os.close(handle)
    os.remove(probe)
    return None


def _srn_config(folder):
    """True when `folder` holds an srn_tf `srn_config.json` (a model's config)."""
    try:
        with open(os.path.join(folder, CONFIG_FILE), encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "model" in config and "format_version" in config


def _foreign_names(folder, allowed):
    """The names in `folder` that `allowed` (a set or a compiled pattern) does not cover,
    leftover temporary names aside."""
    names = [name for name in os.listdir(folder) if not TEMPORARY_NAME.match(name)]
    if isinstance(allowed, set):
        return [name for name in names if name not in allowed]
    return [name for name in names if not allowed.match(name)]


def is_saved_model_export(path):
    """True when folder `path` is a SavedModel `export_saved_model` wrote: saved_model.pb
    and srn_config.json, and nothing a SavedModel does not hold."""
    return (os.path.isfile(os.path.join(path, "saved_model.pb")) and _srn_config(path)
            and not _foreign_names(path, _SAVED_MODEL_NAMES))


def is_checkpoint_folder(path):
    """True when folder `path` is an srn_tf checkpoint folder (`save_model`, srn-convert,
    srn-train): srn_config.json beside checkpoint files, and nothing else."""
    return _srn_config(path) and not _foreign_names(path, _CHECKPOINT_NAME)


def is_onnx_export(path):
    """True when file `path` is an ONNX file `export_onnx` wrote (producer "srn-tf")."""
    with open(path, "rb") as handle:
        head = handle.read(32)
    if not head.startswith(b"\x08"):
        return False
    end = 1
    while end < len(head) and head[end] & 0x80:  # the ir_version varint
        end += 1
    return head[end + 1:end + 1 + len(_ONNX_PRODUCER)] == _ONNX_PRODUCER


def is_litert_export(path):
    """True when file `path` is a LiteRT (.tflite) file `export_litert` wrote: the
    FlatBuffer identifier "TFL3" and srn-tf's metadata buffer."""
    with open(path, "rb") as handle:
        content = handle.read()
    return content[4:8] == _TFLITE_IDENTIFIER and _TFLITE_METADATA in content


def is_keras_export(path):
    """True when file `path` is a .keras archive of an `SRNDeblurNet` (`export_keras_file`)."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return False
    return isinstance(config, dict) and config.get("registered_name") == _KERAS_CLASS


# Each kind of output srn-tf writes: (is it a folder, its recogniser, what it is called).
KINDS = {
    "saved_model": (True, is_saved_model_export, "an srn-export output"),
    "onnx": (False, is_onnx_export, "an srn-export output"),
    "litert": (False, is_litert_export, "an srn-export output"),
    "keras": (False, is_keras_export, "an srn-export output"),
    "checkpoint": (True, is_checkpoint_folder, "an srn_tf checkpoint folder"),
}


def is_empty_folder(path, kind):
    """True when `kind` is a folder kind and `path` an empty folder (new, in effect)."""
    return KINDS[kind][0] and os.path.isdir(path) and not os.path.islink(path) and not (
        os.listdir(path))


def replace_refusal(path, kind, choose=None):
    """Why the existing `path` must not be replaced by an output of `kind`; None when it may.

    It may when it is an output of that kind srn-tf wrote (the kind's recogniser
    says so) or, for folder kinds, an empty folder. Anything else is refused.

    Args:
        path: the existing destination.
        kind: a key of `KINDS` ("saved_model", "onnx", "litert", "keras", "checkpoint").
        choose: what the user should change, e.g. "--output" (None: "another path").

    Returns:
        None, or the one-line refusal: "<path>: not an srn-export output; refusing to
        replace it (choose another --output)".
    """
    is_folder, recognise, called = KINDS[kind]
    path = os.fspath(path)
    if is_empty_folder(path, kind):
        return None
    if is_folder and os.path.isdir(path) and not os.path.islink(path):
        try:
            if recognise(path):
                return None
        except OSError:
            pass
    elif not is_folder and os.path.isfile(path) and not os.path.islink(path):
        try:
            if recognise(path):
                return None
        except OSError:
            pass
    return (f"{path}: not {called}; refusing to replace it "
            f"(choose another {choose or 'path'})")


def check_replaceable(path, kind, choose=None):
    """Raises `OutputRefused` unless an existing `path` may be replaced (`replace_refusal`);
    a path that does not exist passes."""
    if os.path.lexists(path):
        refusal = replace_refusal(path, kind, choose)
        if refusal:
            raise OutputRefused(refusal)


def check_destination(path, kind, overwrite, choose=None):
    """Raises unless an output of `kind` may be written at `path`: nothing is there (or an
    empty folder, for a folder kind), or `overwrite` is given and what is there is an
    output of that kind srn-tf wrote.

    Something srn-tf did not write is refused first, whatever `overwrite` says, so
    the message never suggests overwriting a user's files.

    Args:
        path: the destination.
        kind: a key of `KINDS`.
        overwrite: whether the caller asked to replace an existing output.
        choose: the flag naming the destination ("--output"); None for the library.

    Raises:
        OutputRefused: what is there is not srn-tf's (`replace_refusal`).
        FileExistsError: an output of `kind` is there and `overwrite` is False.
    """
    if not os.path.lexists(path) or is_empty_folder(path, kind):
        return
    check_replaceable(path, kind, choose)
    if not overwrite:
        what = "already holds a checkpoint" if kind == "checkpoint" else "already exists"
        flag = "--overwrite" if choose else "overwrite"
        raise FileExistsError(f"{os.fspath(path)}: {what} (pass {flag} to replace it)")


def run_folder_refusal(path, choose):
    """Why srn-train must not write its run into folder `path`; None when it may.

    It may write into a new or empty folder, or resume in one that holds an srn_tf
    `srn_config.json`; any other folder (photos, a release TF1 checkpoint, whose
    `checkpoint` file a run would replace) is refused.
    """
    if not os.path.lexists(path) or is_empty_folder(path, "checkpoint"):
        return None
    if os.path.isdir(path) and _srn_config(path):
        return None
    return (f"{path}: not an srn_tf checkpoint folder; refusing to write into it "
            f"(choose another {choose})")


def _identity(path):
    """(device, inode) of the file `path` names (symlinks followed), or None."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def first_replaced_input(inputs, outputs):
    """The first output that is one of the inputs: the same file, however it is spelled.

    Args:
        inputs: paths of the input files.
        outputs: paths the run would write (those that do not exist yet cannot be
            an input).

    Returns:
        (input path, output path), or None when no output is an input.
    """
    by_identity = {}
    for path in inputs:
        identity = _identity(path)
        if identity is not None:
            by_identity.setdefault(identity, path)
    for output in outputs:
        identity = _identity(output)
        if identity in by_identity:
            return by_identity[identity], output
    return None


def replaced_input_message(replaced, choose):
    """The one-line refusal for `first_replaced_input`'s (input, output) pair."""
    source, output = replaced
    if os.path.abspath(source) == os.path.abspath(output):
        return (f"{source}: the output would replace this input; outputs never replace "
                f"inputs (choose another {choose})")
    return (f"{source}: the output {output} would replace this input; outputs never "
            f"replace inputs (choose another {choose})")


def is_within(path, folder):
    """True when `path` is `folder` or lies inside it, both resolved (symlinks, "..")."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
