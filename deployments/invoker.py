"""The controller's ExpertInvoker over DeploymentHandles, and which experts are live from Serve's status."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from ray import serve
from ray.exceptions import RayActorError, RayTaskError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle

from experts.errors import ExpertError, ExpertOverloaded, ExpertUnavailable


def deployment_name(model_id: str) -> str:
    """A readable deployment name per model: 'facebook/detr-resnet-50' -> 'expert:facebook--detr-resnet-50'."""
    return "expert:" + re.sub(r"[^A-Za-z0-9._-]+", "--", model_id)


POOL_DEPLOYMENT = "expert-pool"
INGRESS_DEPLOYMENT = "Ingress"  # the FastAPI ingress (deployments.ingress)
ON_DEMAND = "ON_DEMAND"  # a pooled model: loaded by the pool when first asked for


class HandleInvoker:
    """A model with a deployment of its own is called there; any other pooled model goes to the pool."""

    def __init__(
        self, handles: Mapping[str, DeploymentHandle], pool: DeploymentHandle | None, pooled: set[str]
    ):
        self.handles = dict(handles)
        self.pool = pool
        self.pooled = pooled

    def _handle(self, model_id: str) -> DeploymentHandle:
        if model_id in self.handles:
            return self.handles[model_id]
        if self.pool is not None and model_id in self.pooled:
            return self.pool.options(multiplexed_model_id=model_id)
        raise ExpertUnavailable(f"{model_id} is not deployed in this application")

    async def invoke(self, model_id: str, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._call(model_id, task, inputs)
        except RayActorError:
            # The replica died mid-call (killed, OOM, node lost). Expert calls are idempotent (outputs are
            # content-addressed), so once more: Serve routes it to a live replica, or starts one.
            try:
                return await self._call(model_id, task, inputs)
            except RayActorError:
                raise ExpertUnavailable(f"{model_id}: its replica died during the call, twice") from None

    async def _call(self, model_id: str, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        response = self._handle(model_id).remote(task, inputs)
        try:
            return await response
        except asyncio.CancelledError:
            response.cancel()  # the request was abandoned: free the expert replica too
            raise
        except BackPressureError:
            # The deployment's bounded queue is full: fail now (hybrid inference overflows to a remote
            # route; otherwise the client gets 503 + Retry-After).
            raise ExpertOverloaded(f"{model_id} is at capacity; its queue is full") from None
        except DeploymentUnavailableError as e:
            raise ExpertUnavailable(f"{model_id} has no running replica: {e}") from None
        except RayTaskError as e:
            # Show the expert's own error (typed, user-safe), not Ray's wrapper with its traceback.
            cause = e.cause if isinstance(getattr(e, "cause", None), Exception) else None
            if isinstance(cause, ExpertError):
                raise cause from None
            raise ExpertUnavailable(
                f"{model_id} failed: {type(cause).__name__ if cause else 'error'}: {cause}"
            ) from None


class ServeStates:
    """model id -> deployment status (HEALTHY, UPDATING, UNHEALTHY, ...; ON_DEMAND for pooled models
    while the pool is healthy). Stale-while-revalidate: once a first answer exists, a request never
    waits for ``serve.status()`` (hundreds of ms); an answer older than ``ttl_s`` starts one refresh in
    the background and the request goes on with what is known."""

    def __init__(
        self,
        app_name: str,
        names: Mapping[str, str],
        pooled: set[str],
        ttl_s: float,
        read: Callable[[], Any] | None = None,
    ):
        self.app_name = app_name
        self.model_of = {deployment: model for model, deployment in names.items()}
        self.pooled = pooled
        self.ttl_s = ttl_s
        self._status = read or serve.status
        self._cached: dict[str, str] | None = None
        self._at = 0.0
        self._refresh: asyncio.Task | None = None

    async def __call__(self) -> dict[str, str]:
        if self._cached is None:
            await self._refreshed()  # the very first request has nothing to go on
        elif time.monotonic() - self._at > self.ttl_s and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self._refreshed())
        assert self._cached is not None
        return dict(self._cached)

    async def _refreshed(self) -> None:
        try:
            self._cached = await asyncio.to_thread(self._read)
            self._at = time.monotonic()
        except Exception:  # keep serving the last known states; the next request tries again
            if self._cached is None:
                raise

    def _read(self) -> dict[str, str]:
        states = dict.fromkeys(self.model_of.values(), "UNKNOWN")
        app = self._status().applications.get(self.app_name)
        deployments = {
            name: str(getattr(d.status, "value", d.status))
            for name, d in (app.deployments if app else {}).items()
        }
        for name, model in self.model_of.items():
            states[model] = deployments.get(name, "UNKNOWN")
        pool = deployments.get(POOL_DEPLOYMENT, "UNKNOWN")
        for model in self.pooled - set(states):
            states[model] = ON_DEMAND if pool in ("HEALTHY", "UPSCALING", "DOWNSCALING") else pool
        return states
