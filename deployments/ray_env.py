"""The environment Ray itself runs with, from serve_config.yaml (no other imports: the CLI reads it at start)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def ray_env(serve_config: Mapping[str, Any]) -> dict[str, str]:
    """The first application's ``runtime_env.env_vars``. Serve applies them to the app's replicas only;
    whoever starts Ray (``hugginggpt serve``, the benchmarks, the test session) sets them in Ray's own
    environment too, so that Serve's proxy runs as the replicas do (the inter-replica transport)."""
    apps = serve_config.get("applications") or [{}]
    env_vars = (apps[0].get("runtime_env") or {}).get("env_vars") or {}
    return {str(k): str(v) for k, v in env_vars.items()}


def export_ray_env(serve_config: Mapping[str, Any]) -> None:
    """``ray_env`` as defaults of this process's environment, which the Ray it starts next inherits."""
    for name, value in ray_env(serve_config).items():
        os.environ.setdefault(name, value)
