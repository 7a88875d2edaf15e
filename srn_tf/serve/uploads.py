"""Multipart uploads streamed into a private folder, with a size limit.

The body is parsed as it arrives (python-multipart's streaming parser): the
`image` (or `video`) field goes straight into a file whose name the server picks, small
text fields (`strength`) are kept in memory, and nothing else is stored. The
client's file name is kept as text for display and download names only
(`display_name`, `download_name`); it never becomes a path.
"""

import dataclasses
import os
import re
import unicodedata
import uuid

from python_multipart.multipart import MultipartParser, parse_options_header

# Multipart overhead allowed on top of the image itself (boundaries, headers, fields).
BODY_SLACK = 64 * 1024
_MAX_FIELD_BYTES = 1024
# An over-size body is read on (and dropped) up to this many times the limit, so that the
# client, which sends its whole body before reading, gets the 413 rather than a reset.
_DRAIN_FACTOR = 4

# The formats srn-serve accepts, told by their first bytes: extension, content type.
# WebP is "RIFF", a 4-byte size, then "WEBP" (`sniff_format` checks both parts).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", ".png", "image/png"),
    (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
    (b"II*\x00", ".tif", "image/tiff"),
    (b"MM\x00*", ".tif", "image/tiff"),
    (b"BM", ".bmp", "image/bmp"),
    (b"RIFF", ".webp", "image/webp"),
)
CONTENT_TYPES = {extension: kind for _, extension, kind in _SIGNATURES}


class UploadError(Exception):
    """An upload refused: `status` (400, 413) and a one-line message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass
class Upload:
    """A received upload: the image's bytes at `path` (a name the server chose), the
    client's file name as text, and the small text fields."""

    path: str
    filename: str
    size: int
    fields: dict


def sniff_format(path):
    """The extension (".png", ".jpg", ".tif", ".bmp", ".webp") a file's first bytes say, or None."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    for signature, extension, _ in _SIGNATURES:
        if head.startswith(signature) and (extension != ".webp" or head[8:12] == b"WEBP"):
            return extension
    return None


def display_name(filename):
    """The client's file name reduced to its last component, as printable text (at most
    120 characters); "image" when nothing is left."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(character for character in name
                   if unicodedata.category(character)[0] not in "CZ" or character == " ")
    name = name.strip(" .")[:120]
    return name or "image"


def download_name(filename, extension, suffix="_deblurred"):
    """A safe file name for a result: the client's stem (letters, digits, ``-_.`` and
    spaces kept, others as ``_``), `suffix`, then `extension` (the output's format)."""
    stem = os.path.splitext(display_name(filename))[0]
    stem = re.sub(r"[^\w\- .]", "_", stem).strip(" .") or "image"
    return f"{stem[:100]}{suffix}{extension}"


def _part_name(headers):
    """(field name, file name) of a part from its Content-Disposition header."""
    _, options = parse_options_header(headers.get(b"content-disposition", b""))
    name = options.get(b"name", b"").decode("utf-8", "replace")
    filename = options.get(b"filename")
    return name, None if filename is None else filename.decode("utf-8", "replace")


async def receive_upload(request, folder, max_bytes, field="image", limit_flag="max_upload_mb"):
    """Reads a multipart/form-data request whose `field` holds an image (or video) file.

    Args:
        request: a Starlette request.
        folder: the private folder the file's bytes are written into.
        max_bytes: the largest file accepted.
        field: the file field's name ("image", "video"); messages call the file so.
        limit_flag: the flag that sets `max_bytes`, named in the 413 message.

    Returns:
        An `Upload`.

    Raises:
        UploadError: 400 (not multipart, no or empty `field`, a malformed body) or
            413 (the image, or the body, above `max_bytes`).
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadError(400, f"send the {field} as multipart/form-data in a field '{field}'")
    too_big = UploadError(413, f"the upload is over the limit of {max_bytes / 2**20:g} MB "
                               f"(--{limit_flag})")
    body_limit = max_bytes + BODY_SLACK
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > _DRAIN_FACTOR * body_limit:
        raise too_big

    path = os.path.join(folder, f"upload-{uuid.uuid4().hex}.bin")
    state = {"headers": {}, "field": b"", "value": b"", "target": None, "size": 0,
             "filename": None, "found": False, "over": False, "fields": {}, "current": None}
    handle = open(path, "wb")

    def on_part_begin():
        state["headers"] = {}
        state["target"] = None
        state["current"] = None

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished():
        name, filename = _part_name(state["headers"])
        if name == field and filename is not None and not state["found"]:
            state["found"] = True
            state["filename"] = filename
            state["target"] = "file"
        elif filename is None and name and name not in state["fields"]:
            state["fields"][name] = b""
            state["current"] = name

    def on_part_data(data, start, end):
        if state["target"] == "file":
            state["size"] += end - start
            if state["size"] > max_bytes:
                state["over"] = True
            else:
                handle.write(data[start:end])
        elif state["current"] is not None:
            value = state["fields"][state["current"]] + data[start:end]
            state["fields"][state["current"]] = value[:_MAX_FIELD_BYTES]

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data})
    received = 0
    try:
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > body_limit:
                    state["over"] = True
                if received > _DRAIN_FACTOR * body_limit:
                    break
                if not state["over"]:
                    parser.write(chunk)
            if not state["over"]:
                parser.finalize()
        except UploadError:
            raise
        except Exception as error:  # the parser's errors name no common base class
            if state["over"]:
                raise too_big from None
            raise UploadError(400, f"malformed multipart body ({error})") from None
        finally:
            handle.close()
        if state["over"]:
            raise too_big
        if not state["found"]:
            raise UploadError(400, f"no file in the field '{field}'")
        if state["size"] == 0:
            raise UploadError(400, f"{display_name(state['filename'])}: the file is empty")
    except UploadError:
        os.remove(path)
        raise
    fields = {name: value.decode("utf-8", "replace") for name, value in state["fields"].items()}
    return Upload(path=path, filename=state["filename"], size=state["size"], fields=fields)
