"""The srn_tf metadata an `srn-export` LiteRT (.tflite) file carries, read back.

`srn_tf.export.litert_file` writes it as one JSON buffer named `METADATA_NAME`
in the model's metadata list (`srn_tf.export.metadata` lists its keys);
`LiteRTRunner` reads its `srn_config` back. The reader lives here, below the
exporters, so that running a file does not import the export layer.
"""

import json

METADATA_NAME = "srn_tf"


def read_metadata(content):
    """The "srn_tf" metadata of .tflite bytes as {str: str} ({} if it has none)."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAs(content, 0)
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if entry.Name() == METADATA_NAME.encode():
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            return json.loads(bytes(data).decode("utf-8"))
    return {}
