"""Colour tags of a video stream: FFmpeg's names for its numbers, and what swscale needs.

A stream's colour is four numbers from FFmpeg's enums (AVColorPrimaries,
AVColorTransferCharacteristic, AVColorSpace, AVColorRange). `VideoInfo.color` keeps them
under FFmpeg's own names (what `ffprobe` prints), so a manifest or a message reads
"bt709", not 1; the encoder takes the numbers back from these tables. PyAV exposes the
numbers but not FFmpeg's name functions (av_color_*_name), hence the tables.
"""

PRIMARIES = {1: "bt709", 2: "unknown", 4: "bt470m", 5: "bt470bg", 6: "smpte170m",
             7: "smpte240m", 8: "film", 9: "bt2020", 10: "smpte428", 11: "smpte431",
             12: "smpte432", 22: "ebu3213"}
TRANSFER = {1: "bt709", 2: "unknown", 4: "gamma22", 5: "gamma28", 6: "smpte170m",
            7: "smpte240m", 8: "linear", 9: "log100", 10: "log316", 11: "iec61966-2-4",
            12: "bt1361e", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12",
            16: "smpte2084", 17: "smpte428", 18: "arib-std-b67"}
MATRIX = {0: "gbr", 1: "bt709", 2: "unknown", 4: "fcc", 5: "bt470bg", 6: "smpte170m",
          7: "smpte240m", 8: "ycgco", 9: "bt2020nc", 10: "bt2020c", 11: "smpte2085",
          12: "chroma-derived-nc", 13: "chroma-derived-c", 14: "ictcp"}
RANGE = {0: "unknown", 1: "tv", 2: "pc"}

TABLES = {"primaries": PRIMARIES, "transfer": TRANSFER, "matrix": MATRIX, "range": RANGE}

# The YUV matrices swscale converts with (SWS_CS_* numbers, as PyAV's Colorspace enum):
# an untagged stream is converted as BT.601, as FFmpeg does.
SWSCALE_MATRIX = {"bt709": 1, "fcc": 4, "bt470bg": 5, "smpte170m": 5, "unknown": 5,
                  "smpte240m": 7, "bt2020nc": 9, "bt2020c": 9}


def color_names(primaries, transfer, matrix, color_range):
    """{"primaries", "transfer", "matrix", "range"}: FFmpeg's names for the four numbers
    (an unlisted number reads "unknown")."""
    numbers = {"primaries": primaries, "transfer": transfer, "matrix": matrix,
               "range": color_range}
    return {key: TABLES[key].get(number, "unknown") for key, number in numbers.items()}


def color_number(key, name):
    """The FFmpeg number of colour tag `key` ("primaries", ...) named `name`."""
    return {value: number for number, value in TABLES[key].items()}[name]


def tag_codec_context(context, color):
    """Sets a codec context's four colour tags from `color` (FFmpeg's names, as in
    `VideoInfo.color`): the encoder's stream, and the joined output's."""
    context.color_primaries = color_number("primaries", color["primaries"])
    context.color_trc = color_number("transfer", color["transfer"])
    context.colorspace = color_number("matrix", color["matrix"])
    context.color_range = color_number("range", color["range"])
