"""Writing a model for other runtimes: a TensorFlow SavedModel, an ONNX, a LiteRT or a
.keras file, each through `export_model(model, path, format=...)` (`srn_tf.export.formats`).
"""

from srn_tf.export.formats import FORMATS, export_model

__all__ = ["FORMATS", "export_model"]
