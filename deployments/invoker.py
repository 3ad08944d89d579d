"""The controller's ExpertInvoker over DeploymentHandles, and which experts are live from Serve's status."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
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
# Serve marks a deployment UNHEALTHY when a replica dies (killed, OOM, its node lost) until a new one runs.
STRANDED_STATUSES = frozenset({"UNHEALTHY", "DEPLOY_FAILED", "UNKNOWN"})


class HandleInvoker:
    """A model with a deployment of its own is called there; any other pooled model goes to the pool."""

    def __init__(
        self,
        handles: Mapping[str, DeploymentHandle],
        pool: DeploymentHandle | None,
        pooled: set[str],
        stranded: Callable[[str], Awaitable[bool]] | None = None,
        replica_wait_s: float = 30.0,
        poll_s: float = 1.0,
    ):
        """``stranded(model_id)``: whether the model's deployment has no running replica and none it can
        start (see ServeStates.stranded). A call that waits on such a deployment for ``replica_wait_s``
        fails ``expert_unavailable``: Serve's handle would otherwise hold it until a replica exists again
        (a lost node may never come back), and only the task's timeout would end it."""
        self.handles = dict(handles)
        self.pool = pool
        self.pooled = pooled
        self.stranded = stranded
        self.replica_wait_s = replica_wait_s
        self.poll_s = poll_s

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
            return await self._bounded(model_id, response)
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

    async def _bounded(self, model_id: str, response: Any) -> dict[str, Any]:
        """The call's result; but once its deployment has been stranded for ``replica_wait_s`` the call
        is withdrawn and fails. A call queued behind busy replicas, or waiting for a deployment scaled to
        zero to start one, is never cut short here: only its task timeout and the deadline bound it."""
        if self.stranded is None:
            return await response
        call = asyncio.ensure_future(_result(response))
        stranded_since: float | None = None
        try:
            while True:
                done, _ = await asyncio.wait({call}, timeout=self.poll_s)
                if done:
                    return call.result()
                if not await self.stranded(model_id):
                    stranded_since = None
                    continue
                now = time.monotonic()
                stranded_since = stranded_since or now
                if now - stranded_since >= self.replica_wait_s:
                    response.cancel()
                    raise ExpertUnavailable(
                        f"{model_id} has had no running replica for {self.replica_wait_s:g} s (its node "
                        "may be lost); Serve starts one where resources allow, try again later"
                    )
        finally:
            if not call.done():
                call.cancel()
            call.add_done_callback(_dropped)


async def _result(response: Any) -> Any:
    return await response


def _dropped(call: asyncio.Future) -> None:
    """Retrieve a withdrawn call's outcome (its cancellation), so asyncio does not log it as lost."""
    if not call.cancelled():
        call.exception()


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
        self._stranded: frozenset[str] = frozenset()  # models whose deployment can serve no call now
        self._at = 0.0
        self._refresh: asyncio.Task | None = None

    async def __call__(self) -> dict[str, str]:
        if self._cached is None:
            await self._refreshed()  # the very first request has nothing to go on
        elif time.monotonic() - self._at > self.ttl_s and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self._refreshed())
        assert self._cached is not None
        return dict(self._cached)

    async def stranded(self, model_id: str) -> bool:
        """Whether ``model_id``'s deployment has no running replica while Serve calls it UNHEALTHY (its
        replicas died and new ones are not running yet: pending on a lost node's resources, say). A
        deployment scaling up from zero is not stranded: it is starting the replica the call waits for."""
        await self()
        return model_id in self._stranded

    async def _refreshed(self) -> None:
        try:
            self._cached, self._stranded = await asyncio.to_thread(self._read)
            self._at = time.monotonic()
        except Exception:  # keep serving the last known states; the next request tries again
            if self._cached is None:
                raise

    def _read(self) -> tuple[dict[str, str], frozenset[str]]:
        states = dict.fromkeys(self.model_of.values(), "UNKNOWN")
        app = self._status().applications.get(self.app_name)
        found = app.deployments if app else {}
        deployments = {name: str(getattr(d.status, "value", d.status)) for name, d in found.items()}
        stranded = {
            name
            for name, status in deployments.items()
            if status in STRANDED_STATUSES
            and not (getattr(found[name], "replica_states", None) or {}).get("RUNNING")
        }
        for name, model in self.model_of.items():
            states[model] = deployments.get(name, "UNKNOWN")
        pool = deployments.get(POOL_DEPLOYMENT, "UNKNOWN")
        for model in self.pooled - set(states):
            states[model] = ON_DEMAND if pool in ("HEALTHY", "UPSCALING", "DOWNSCALING") else pool
        gone = {m for n, m in self.model_of.items() if n in stranded or n not in deployments}
        if POOL_DEPLOYMENT in stranded or POOL_DEPLOYMENT not in deployments:
            gone |= self.pooled
        return states, frozenset(gone)
