"""srn-tf: SRN-DeblurNet (Tao et al., CVPR 2018) in TensorFlow 2 / Keras 3.

Public API:
    build_model(model_type, **config)    a built SRNDeblurNet ("color", "gray", "lstm")
    load_tf1_checkpoint(model, path)     the original release's weights into a model
    save_model(model, path)              a checkpoint folder with the model config
    load_model(path)                     rebuild and restore from such a folder
    predict_any_size(model, images)      any height and width, gray models on RGB
"""

from srn_tf.model import SRNDeblurNet
from srn_tf.model_types import MODEL_TYPES, build_model, model_type_of
from srn_tf.padding import predict_any_size, predict_levels_any_size
from srn_tf.saving import load_model, save_model
from srn_tf.tf1_checkpoint import load_tf1_checkpoint

__all__ = [
    "MODEL_TYPES",
    "SRNDeblurNet",
    "build_model",
    "load_model",
    "load_tf1_checkpoint",
    "model_type_of",
    "predict_any_size",
    "predict_levels_any_size",
    "save_model",
]
