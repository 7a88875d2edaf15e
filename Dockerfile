# srn-tf on the official TensorFlow image whose version setup.py pins
# (tests/test_docker.py checks that they match).
#
#   docker build -t srn-tf .                             # GPU (CUDA inside the image)
#   docker build --build-arg VARIANT= -t srn-tf:cpu .    # CPU only
#   docker run --gpus all srn-tf srn-train --flagfile=/srn-tf/flags/gopro.cfg --model=lstm ...
#   docker run srn-tf                                    # lists the srn-* commands
ARG TF_VERSION=2.21.0
ARG VARIANT=-gpu
FROM tensorflow/tensorflow:${TF_VERSION}${VARIANT}
ARG TF_VERSION

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srn-tf
COPY . /srn-tf

# The base image's TensorFlow is the one to keep: install srn-tf without its
# dependencies, then every dependency except TensorFlow (read from the installed
# package's metadata, so setup.py stays the only list), and check nothing
# replaced TensorFlow. opencv-python-headless is the requirement, not the GUI
# build, which fails to import without libGL.
RUN python3 -m pip install --no-deps . \
 && python3 docker/requirements_without_tensorflow.py srn-tf > /tmp/requirements.txt \
 && python3 -m pip install -r /tmp/requirements.txt \
 && python3 -c "import tensorflow as tf, cv2, srn_tf; \
assert tf.__version__ == '${TF_VERSION}', f'TensorFlow {tf.__version__} replaced ${TF_VERSION}'" \
 && chmod +x docker/entrypoint.sh

ENTRYPOINT ["/srn-tf/docker/entrypoint.sh"]
