"""The controller's ExpertInvoker over DeploymentHandles, and which experts are live from Serve's status."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import Any

from ray import serve
from ray.exceptions import RayTaskError
from ray.serve.handle import DeploymentHandle

from experts.errors import ExpertError, ExpertUnavailable


def deployment_name(model_id: str) -> str:
    """A readable deployment name per model: 'facebook/detr-resnet-50' -> 'expert:facebook--detr-resnet-50'."""
    return "expert:" + re.sub(r"[^A-Za-z0-9._-]+", "--", model_id)


class HandleInvoker:
    def __init__(self, handles: Mapping[str, DeploymentHandle]):
        self.handles = dict(handles)

    async def invoke(self, model_id: str, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        handle = self.handles.get(model_id)
        if handle is None:
            raise ExpertUnavailable(f"{model_id} has no deployment in this application")
        response = handle.remote(task, inputs)
        try:
            return await response
        except asyncio.CancelledError:
            response.cancel()  # the request was abandoned: free the expert replica too
            raise
        except RayTaskError as e:
            # Show the expert's own error (typed, user-safe), not Ray's wrapper with its traceback.
            cause = e.cause if isinstance(getattr(e, "cause", None), Exception) else None
            if isinstance(cause, ExpertError):
                raise cause from None
            raise ExpertUnavailable(f"{model_id} failed: {type(cause).__name__ if cause else 'error'}: {cause}") from None


class ServeStates:
    """model id -> deployment status (HEALTHY, UPDATING, UNHEALTHY, ...), cached for ``ttl_s``."""

    def __init__(self, app_name: str, names: Mapping[str, str], ttl_s: float):
        self.app_name = app_name
        self.model_of = {deployment: model for model, deployment in names.items()}
        self.ttl_s = ttl_s
        self._cached: dict[str, str] = {}
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def __call__(self) -> dict[str, str]:
        async with self._lock:
            if time.monotonic() - self._at > self.ttl_s or not self._cached:
                self._cached = await asyncio.to_thread(self._read)
                self._at = time.monotonic()
            return dict(self._cached)

    def _read(self) -> dict[str, str]:
        states = dict.fromkeys(self.model_of.values(), "UNKNOWN")
        app = serve.status().applications.get(self.app_name)
        if app is None:
            return states
        for name, deployment in app.deployments.items():
            if name in self.model_of:
                states[self.model_of[name]] = str(getattr(deployment.status, "value", deployment.status))
        return states
