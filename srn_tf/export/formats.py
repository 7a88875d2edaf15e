"""One call for every export format: `export_model(model, path, format=...)`, which
`srn_tf.export` re-exports.

    export_model(model, "exported/default")                          # a SavedModel folder
    export_model(model, "model.onnx", "onnx", layout="nchw")          # any size, NCHW
    export_model(model, "model.tflite", "litert", height=720, width=1280)
    export_model(model, "model.keras", "keras")

Formats (docs/export.md): `saved_model` (a folder that TensorFlow alone runs, any
size; `srn_tf.export.saved_model`), `onnx` (one file, any size, NHWC or NCHW,
float32 or uint8; needs the onnx extra; `srn_tf.export.onnx_file`), `litert` (one
.tflite file of one fixed size, TFLite builtin ops only;
`srn_tf.export.litert_file`) and `keras` (a Keras 3 .keras file;
`srn_tf.export.keras_file`). Every export holds the network alone; the model's
post-processing defaults are recorded with it (srn_config.json or the file's
metadata), not run by it.

Importing this module loads no TensorFlow, so that srn-export checks its flags
against the same rules (`FORMAT_ARGUMENTS`, `EXTENSIONS`, `missing_modules`) first.
"""

import importlib.util
import os

FORMATS = ("saved_model", "onnx", "litert", "keras")
# The extension each file format's path must have (a SavedModel is a folder).
EXTENSIONS = {"onnx": ".onnx", "litert": ".tflite", "keras": ".keras"}
# The arguments beyond model, path and overwrite that each format takes.
FORMAT_ARGUMENTS = {"saved_model": (), "keras": (),
                    "onnx": ("layout", "input_dtype", "opset", "metadata"),
                    "litert": ("height", "width", "input_dtype", "metadata")}
# The modules each format needs beyond TensorFlow, and the extra that installs them.
REQUIREMENTS = {"onnx": (("tf2onnx", "onnx"), "onnx")}
MIN_OPSET = 17


def missing_modules(format):
    """(the modules `format` needs that are not installed, the extra installing them)."""
    modules, extra = REQUIREMENTS.get(format, ((), None))
    return [module for module in modules if importlib.util.find_spec(module) is None], extra


def export_model(model, path, format="saved_model", *, overwrite=False, layout=None,
                 input_dtype=None, opset=None, height=None, width=None, metadata=None):
    """Writes `model` to `path` in `format`, atomically (never a partial export at `path`).

    Args:
        model: a built `SRNDeblurNet`.
        path: the folder (saved_model) or the file with the format's extension
            (`EXTENSIONS`: .onnx, .tflite, .keras) to write.
        format: one of `FORMATS`.
        overwrite: replace an existing `path`, which must then be an export of this
            format that srn-tf wrote (`srn_tf.write_safety`); anything else is refused.
        layout: onnx only: "nhwc" (default) or "nchw", the input's and output's axis order.
        input_dtype: onnx and litert: "float32" (default; in [0, 1] in and out) or "uint8".
        opset: onnx only: the ONNX opset, at least `MIN_OPSET` (the default).
        height, width: litert only, and required there: the one image size the file
            takes, each at least the model's size multiple.
        metadata: onnx and litert: {"preset", "release_name", "license"} strings for the
            file's metadata (`srn_tf.export.metadata.export_metadata`; None: empty).

    Returns:
        `path`.

    Raises:
        ValueError: an unknown format, an argument the format does not take, a missing
            or bad value, or a path without the format's extension.
        ImportError: the format's extra is not installed (the message names it).
        srn_tf.write_safety.OutputRefused: `path` is not an export to replace.
        FileExistsError: `path` exists and `overwrite` is False.
        OSError: `path` cannot be written ("<path>: cannot write (<reason>)").
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}. Received: format={format!r}")
    given = {"layout": layout, "input_dtype": input_dtype, "opset": opset, "height": height,
             "width": width, "metadata": metadata}
    for name, value in given.items():
        if value is not None and name not in FORMAT_ARGUMENTS[format]:
            raise ValueError(f"{name} does not apply to format={format!r}")
    path = os.fspath(path)
    if format in EXTENSIONS and not path.endswith(EXTENSIONS[format]):
        raise ValueError(f"{path}: must be a {EXTENSIONS[format]} file")
    missing, extra = missing_modules(format)
    if missing:
        raise ImportError(f"format={format!r} needs {' and '.join(missing)}, not installed: "
                          f"pip install 'srn-tf[{extra}]'")
    if format == "saved_model":
        from srn_tf.export.saved_model import export_saved_model

        return export_saved_model(model, path, overwrite=overwrite)
    if format == "keras":
        from srn_tf.export.keras_file import export_keras_file

        return export_keras_file(model, path, overwrite=overwrite)
    if format == "onnx":
        from srn_tf.export.onnx_file import export_onnx

        return export_onnx(model, path, layout=layout or "nhwc",
                           input_dtype=input_dtype or "float32", metadata=metadata,
                           overwrite=overwrite, opset=MIN_OPSET if opset is None else opset)
    if height is None or width is None:
        raise ValueError("a litert export takes one fixed size: give height and width")
    from srn_tf.export.litert_file import export_litert

    return export_litert(model, path, height, width, input_dtype=input_dtype or "float32",
                         metadata=metadata, overwrite=overwrite)
