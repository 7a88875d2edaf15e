"""Exporting a model as a LiteRT (.tflite) file of one fixed image size.

The graph is the SavedModel's (`srn_tf.export.graph`), traced at
(1, height, width, 3), its variables frozen into constants, and converted by
TensorFlow's TFLite converter with the TFLite builtin ops only (no Flex/select-TF
ops), so LiteRT runs it with its builtin kernels and XNNPACK.

Why frozen: converting a concrete function that captures the model's variables
keeps them as resource variables (VAR_HANDLE / READ_VARIABLE ops) that nothing
in the file initialises: the file holds no weights and outputs NaN.

Why one fixed size: the network computes each level's size as
round(side * scale) in float64 (`srn_tf.models.legacy_resize.scaled_length`,
Python 2's rounding), and TFLite's builtins have no float64 arithmetic; with a
fixed size those sizes are constants. The padding to the size multiple is still
in the graph, so height and width need not be multiples of 16.

Input `images` and output `deblurred`: (1, height, width, 3) float32 in [0, 1]
(or uint8 in and out, as the SavedModel's `serving_uint8`). The metadata
(`srn_tf.export.metadata`) is a JSON buffer named "srn_tf" in the model's
metadata list, read back by `srn_tf.checkpoints.litert_metadata.read_metadata`.
"""

import json
import os

import tensorflow as tf

from srn_tf.atomic_files import atomic_file
from srn_tf.checkpoints.litert_metadata import METADATA_NAME
from srn_tf.write_safety import check_destination
from srn_tf.export.graph import export_graph_function
from srn_tf.export.metadata import export_metadata


def convert_to_litert(model, height, width, input_dtype="float32"):
    """The .tflite bytes of `model` at (1, height, width, 3) (see this module's docstring).

    Raises:
        ValueError: a side below the model's size multiple.
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    if min(height, width) < model.size_multiple:
        raise ValueError(f"a LiteRT export needs height and width of at least "
                         f"{model.size_multiple}. Received: {height}x{width}")
    function = export_graph_function(model, "nhwc", input_dtype, shape=(1, height, width))
    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    # The frozen function holds no variables: an empty module is the object it
    # belongs to (without one the converter takes its deprecated path).
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def with_metadata(content, metadata):
    """`content` (.tflite bytes) with `metadata` ({str: str}) as the JSON buffer "srn_tf"."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    buffer = schema.BufferT()
    buffer.data = list(json.dumps(metadata, sort_keys=True).encode("utf-8"))
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def export_litert(model, path, height, width, input_dtype="float32", metadata=None,
                  overwrite=False):
    """Writes `model` as a .tflite file for (1, height, width, 3) images.

    Args:
        model: a built `SRNDeblurNet`.
        path: the .tflite file to write (a temporary file beside it is renamed onto it).
        height, width: the image size the file takes, at least the size multiple.
        input_dtype: "float32" or "uint8".
        metadata: extra {str: str} for `export_metadata` (preset, release_name, license).
        overwrite: replace an existing `path`, which must then be a file this function
            wrote (`srn_tf.write_safety.is_litert_export`); any other file is refused.

    Returns:
        `path`.

    Raises:
        srn_tf.write_safety.OutputRefused: `path` is not an export to replace.
        FileExistsError: `path` is one and `overwrite` is False.
        ValueError: a bad size or input dtype.
    """
    path = os.fspath(path)
    check_destination(path, "litert", overwrite)
    content = convert_to_litert(model, height, width, input_dtype)
    content = with_metadata(content, export_metadata(model, "nhwc", input_dtype,
                                                     **(metadata or {})))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_file(path) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(content)
    return path
