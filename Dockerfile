# The trainer image: every Vertex AI trial runs `python -m trainer.task` in it.
#
# Layers go from what changes least to what changes most: the TensorFlow GPU base, the pinned
# trainer dependencies, the runtime user, then the trainer code and the labels that name the
# commit. A change to trainer/ alone rebuilds only the last layers. See docs/image.md.

# The TensorFlow project's GPU image (Ubuntu 22.04, Python 3.11, CUDA 12) for the TensorFlow that
# requirements/tensorflow.txt pins for local runs; keep the two versions equal (a test checks it).
ARG TENSORFLOW_VERSION=2.21.0
FROM tensorflow/tensorflow:${TENSORFLOW_VERSION}-gpu

ARG TENSORFLOW_VERSION
# PYTHONPATH: `python -m trainer.task` finds the code whatever the working directory.
ENV PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The trainer's dependencies from the same pinned files as `make install`. The base image brings
# TensorFlow itself; the lock pins every shared dependency (numpy, protobuf, ...) to the versions the
# tests run with, and the check below fails the build if anything replaced the base's TensorFlow.
COPY requirements/trainer.txt requirements/constraints.txt requirements/
RUN python -m pip install --no-cache-dir pip==26.3 \
    && python -m pip install --no-cache-dir -r requirements/trainer.txt -c requirements/constraints.txt \
    && python -c "import importlib.metadata as m, sys; v = m.version('tensorflow'); \
sys.exit(0 if v == '${TENSORFLOW_VERSION}' else 'TensorFlow ' + v + ' is not ${TENSORFLOW_VERSION}')"

# Trials run without root. Vertex AI hands the trial its outputs as gs:// URIs (AIP_MODEL_DIR and
# friends) and cloudml-hypertune writes under /tmp, so nothing needs root at run time.
RUN groupadd --gid 10001 trainer \
    && useradd --no-log-init --create-home --uid 10001 --gid 10001 trainer

COPY trainer/ trainer/
RUN python -m compileall -q trainer

# Last, because they change with every commit.
ARG SOURCE=""
ARG REVISION=""
LABEL org.opencontainers.image.title="vertex-hpt-trainer" \
      org.opencontainers.image.description="TensorFlow trainer for Vertex AI hyperparameter tuning trials" \
      org.opencontainers.image.base.name="tensorflow/tensorflow:${TENSORFLOW_VERSION}-gpu" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}"

# The numeric id of the `trainer` user made above, so that the runtime need not look it up.
USER 10001:10001
ENTRYPOINT ["python", "-m", "trainer.task"]
