"""srn-tf: SRN-DeblurNet (Tao et al., CVPR 2018) in TensorFlow 2 / Keras 3."""

from setuptools import find_packages, setup

# The Dockerfile's base image (tensorflow/tensorflow:<version>-gpu) must match this;
# tests/test_docker.py checks it.
TENSORFLOW_VERSION = "2.21.0"

setup(
    name="srn-tf",
    version="0.1.0",
    description="Scale-recurrent Network for Deep Image Deblurring (SRN-DeblurNet) in TF2/Keras 3",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["srn_tf", "srn_tf.*"]),
    include_package_data=True,
    package_data={"srn_tf": ["models/presets/**/*", "serve/static/*"]},
    install_requires=[
        f"tensorflow=={TENSORFLOW_VERSION}",
        "keras>=3.0",
        "numpy",
        "scipy",
        "scikit-image",
        "absl-py",
        "opencv-python-headless",
        "PyWavelets",
        "tifffile",
        "pillow",
        "tensorboard",
    ],
    extras_require={
        "test": ["pytest"],
        "plot": ["matplotlib"],
        # srn-serve (docs/serve.md); playwright and httpx for its tests only (the
        # browser is Debian's chromium, never a downloaded one).
        "serve": ["fastapi", "uvicorn", "python-multipart", "httpx", "playwright"],
        # srn-batch (docs/batch.md): Beam 2.77 pins protobuf < 7 and numpy < 2.5, which
        # TensorFlow 2.21 (protobuf >= 6.31.1, < 8) meets with protobuf 6.33.
        "batch": ["apache-beam==2.77.0"],
        # The network on Keras's other backends (docs/backends.md); tested with jax
        # 0.10.2 and torch 2.13.0. The torch range admits the build already installed:
        # the README installs the CPU wheel 2.13.0 first, so pip downloads no CUDA build.
        "jax": ["jax>=0.10"],
        "torch": ["torch>=2.13"],
        # srn-export --format=onnx and srn-deblur on .onnx files (docs/export.md), and
        # --precision=int8, quantized by onnxruntime (docs/precision-and-speed.md): tf2onnx
        # has no maintainer, so it and the onnx it builds on are pinned to the tested pair.
        "onnx": ["tf2onnx==1.17.0", "onnx==1.23.2", "onnxruntime>=1.32,<2"],
        # srn-deblur on .tflite files (TensorFlow's converter writes them).
        "litert": ["ai-edge-litert>=2.3,<3"],
        # Video in srn-deblur, srn-batch and srn-serve (docs/video.md): PyAV, FFmpeg's
        # libraries in a wheel (nothing to apt-get); tested with 18.1.
        "video": ["av>=18.1,<19"],
    },
    entry_points={
        "console_scripts": [
            "srn-convert=srn_tf.cli.convert:run",
            "srn-synth=srn_tf.cli.synth:run",
            "srn-deblur=srn_tf.cli.deblur:run",
            "srn-eval=srn_tf.cli.evaluate:run",
            "srn-export=srn_tf.cli.export:run",
            "srn-train=srn_tf.cli.train:run",
            "srn-serve=srn_tf.cli.serve:run",
            "srn-batch=srn_tf.cli.batch:run",
        ],
    },
)
