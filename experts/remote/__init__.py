"""Remote experts: models served by Hugging Face Inference Providers or dedicated inference endpoints,
reached through huggingface_hub's InferenceClient (see config, endpoint, tasks, experts)."""

from experts.remote.config import EndpointConfig, RemoteConfig
from experts.remote.experts import RemoteCall, RemoteExperts, remote_routes
from experts.remote.tasks import REMOTE_CALLS

__all__ = ["REMOTE_CALLS", "EndpointConfig", "RemoteCall", "RemoteConfig", "RemoteExperts", "remote_routes"]
