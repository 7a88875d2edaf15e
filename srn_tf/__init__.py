"""srn-tf: SRN-DeblurNet (Tao et al., CVPR 2018) in TensorFlow 2 / Keras 3.

Public API:
    build_model(model_type, **config)    a built SRNDeblurNet ("color", "gray", "lstm")
    load_tf1_checkpoint(model, path)     the original release's weights into a model
    save_model(model, path)              a checkpoint folder with the model config
    load_model(path)                     rebuild and restore from such a folder (or a
                                         preset's name, "default"), its inference
                                         defaults attached
    load_deblur_model(path)              any checkpoint kind: srn_tf folder, SavedModel,
                                         TF1 checkpoint, preset name; None: the bundled model
    InferenceOptions(...)                what runs around the network (flips, flat
                                         level, kernel refinement, denoise)
    quality_options(name)                the InferenceOptions of a quality mode
                                         ("network", "standard", "best")
    predict_any_size(model, images)      any height and width, gray models on RGB
    synthesize_dataset(output_dir, ...)  GOPRO-style blurred/sharp pairs from sharp images
    deblur_image(model, image, options)  one numpy image (any size, dtype, channels);
                                         options None: the model's own
    deblur_video(model, input, output)   a video, every frame as a photo, its timing
                                         and sound kept, resumable (the video extra)
    psnr(image, reference)               MATLAB's psnr on 8-bit images (the paper's)
    ssim(image, reference, definition)   MATLAB's 3-D ssim ("matlab") or "per_channel"
    export_model(model, path, format)    a SavedModel, ONNX, LiteRT or .keras file
    export_saved_model(model, export_dir) a SavedModel serving any size with TF alone
    export_keras_file(model, path)       a .keras file, loaded on every Keras backend
    train(TrainingConfig(...))           the release's training recipe, resumable

Names are imported on first use, so that the console scripts can set up
TensorFlow's environment (log level, visible GPUs) before TensorFlow loads, and
so that the network, model folders and the JAX training step load on the JAX and
PyTorch backends without TensorFlow (docs/backends.md).

`SRNDeblurNet` is registered with Keras's serialisation ("srn_tf>SRNDeblurNet")
as soon as both `srn_tf` and `keras` are imported, in either order, so that
`keras.saving.load_model("model.keras")` needs nothing but `import srn_tf`.
"""

import importlib
import importlib.util
import sys

_EXPORTS = {
    "InferenceOptions": "srn_tf.models.inference_options",
    "MODEL_TYPES": "srn_tf.models.model_types",
    "SRNDeblurNet": "srn_tf.models.srn_deblur_net",
    "TrainingConfig": "srn_tf.training.trainer",
    "build_model": "srn_tf.models.model_types",
    "deblur_image": "srn_tf.inference.deblur",
    "deblur_video": "srn_tf.inference.deblur_video",
    "export_keras_file": "srn_tf.export.keras_file",
    "export_model": "srn_tf.export.formats",
    "export_saved_model": "srn_tf.export.saved_model",
    "load_deblur_model": "srn_tf.checkpoints.loading",
    "load_model": "srn_tf.checkpoints.model_folder",
    "load_tf1_checkpoint": "srn_tf.checkpoints.tf1_checkpoint",
    "model_type_of": "srn_tf.models.model_types",
    "predict_any_size": "srn_tf.models.padding",
    "predict_levels_any_size": "srn_tf.models.padding",
    "psnr": "srn_tf.evaluation.metrics",
    "quality_options": "srn_tf.models.inference_options",
    "save_model": "srn_tf.checkpoints.model_folder",
    "synthesize_dataset": "srn_tf.data.synth.dataset",
    "ssim": "srn_tf.evaluation.metrics",
    "train": "srn_tf.training.trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'srn_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


_NETWORK_MODULE = "srn_tf.models.srn_deblur_net"


class _RegisterOnKerasImport:
    """A one-shot import hook: once `keras` has been imported, imports the network's
    module, whose decorators register its classes with Keras.

    Why a hook and not a plain mechanism: Keras offers none for a package outside its
    own. `keras.saving.load_model` finds "srn_tf>SRNDeblurNet" only among classes
    already registered (or passed as `custom_objects`): it imports a config's module
    only for keras, keras_hub, keras_cv and keras_nlp, and reads no entry point.
    Registering means running `keras.saving.register_keras_serializable`, which needs
    Keras imported, and importing Keras loads its backend, TensorFlow: 5 to 10 s on
    every `import srn_tf`, and before the console scripts check their flags (all of
    them import this package first). So registration waits for Keras's own import.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute_keras = spec.loader.exec_module

        def exec_module(module):
            execute_keras(module)
            importlib.import_module(_NETWORK_MODULE)

        spec.loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    importlib.import_module(_NETWORK_MODULE)
else:
    sys.meta_path.insert(0, _RegisterOnKerasImport())
