"""RemoteExperts: the ExpertInvoker for models served by remote endpoints. Same signature and the same
typed outputs as the local experts (media in the artifact store), so the scheduler cannot tell them apart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from experts.adapters.base import ExpertContext, Inputs, normalise
from experts.catalog import ModelSpec
from experts.errors import ExpertError, ExpertInputError, ExpertOutputError, ExpertUnavailable
from experts.remote.config import RemoteConfig
from experts.remote.endpoint import Endpoint
from experts.remote.tasks import REMOTE_CALLS, Draft
from experts.tasks import TASK_TYPES, normalize_task_name


def remote_routes(config: RemoteConfig, models: Iterable[ModelSpec]) -> dict[str, str]:
    """model id -> endpoint name: the models named in ``remote.models``, and every hub model (not an
    offline build) of a task in ``remote.tasks``, where InferenceClient has a method for the task."""
    by_id = {m.id: m for m in models}
    routes: dict[str, str] = {}
    for task, name in config.tasks.items():
        if task not in REMOTE_CALLS:
            raise ValueError(f"remote.tasks: InferenceClient has no method for {task!r}")
        routes.update({m.id: name for m in by_id.values() if m.task == task and m.source is None})
    for model_id, name in config.models.items():
        spec = by_id.get(model_id)
        if spec is None:
            raise ValueError(f"remote.models names {model_id!r}, which is not in the catalog")
        if spec.task not in REMOTE_CALLS:
            raise ValueError(f"remote.models: InferenceClient has no method for {spec.task} ({model_id})")
        routes[model_id] = name
    return routes


@dataclass(frozen=True)
class RemoteCall:
    """One finished remote call, for the metrics."""

    endpoint: str
    provider: str  # the provider, or the endpoint's name for a dedicated endpoint
    key: str  # which credential paid: the env variable or Secret file it came from, never the token
    model_id: str
    task: str
    outcome: str  # ok, or the failure's code
    seconds: float
    attempts: int


class RemoteExperts:
    def __init__(
        self,
        config: RemoteConfig,
        routes: Mapping[str, str],
        specs: Mapping[str, ModelSpec],
        ctx: ExpertContext,
        env: Mapping[str, str] | None = None,
        observe: Callable[[RemoteCall], None] | None = None,
    ):
        self.ctx = ctx
        self.routes = dict(routes)
        self.specs = {m: specs[m] for m in self.routes}
        self.endpoints = {name: Endpoint(name, c, c.token(env)) for name, c in config.endpoints.items()}
        self._keys = {
            name: (f"file:{c.token_file}" if c.token_file else f"env:{c.token_env}")
            if self.endpoints[name].token
            else "none"
            for name, c in config.endpoints.items()
        }
        self.observe = observe

    def reachable(self) -> dict[str, str]:
        """model id -> where it would run ("provider" label), for endpoints not marked unavailable."""
        return {
            m: self.endpoints[name].label for m, name in self.routes.items() if self.endpoints[name].available
        }

    def states(self) -> dict[str, dict[str, str]]:
        """model id -> {status: REMOTE, or REMOTE_UNAVAILABLE while its endpoint's breaker is open;
        provider}, as /v1/models shows it."""
        return {
            m: {"status": self.endpoints[name].state, "provider": self.endpoints[name].label}
            for m, name in self.routes.items()
        }

    def label(self, model_id: str) -> str | None:
        name = self.routes.get(model_id)
        return self.endpoints[name].label if name else None

    async def invoke(self, model_id: str, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        name = self.routes.get(model_id)
        if name is None:
            raise ExpertUnavailable(f"{model_id} has no remote endpoint")
        spec = self.specs[model_id]
        if normalize_task_name(task) != spec.task:
            raise ExpertInputError(f"{model_id} runs {spec.task}, not {task}")
        ttype = TASK_TYPES[spec.task]
        reading = Inputs(ttype, inputs, self.ctx)
        call = REMOTE_CALLS[spec.task]
        endpoint = self.endpoints[name]
        drafts: list[Draft] = []

        async def run(client: Any, target: str) -> None:
            drafts.append(Draft(self.ctx.max_pixels))  # a fresh one per attempt
            await call(client, target, reading, drafts[-1])

        start, attempts, outcome = time.perf_counter(), 0, "ok"
        try:
            _, attempts = await endpoint.call(model_id, run)
            try:
                checked = normalise(model_id, ttype, drafts[-1].fields)
            except ExpertUnavailable as e:
                raise ExpertOutputError(str(e)) from None
            return await asyncio.to_thread(drafts[-1].commit, self.ctx.store, checked)
        except ExpertError as e:
            outcome = e.code
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            if self.observe is not None:
                self.observe(
                    RemoteCall(
                        name, endpoint.label, self._keys[name], model_id, spec.task, outcome,
                        time.perf_counter() - start, attempts or len(drafts),
                    )
                )  # fmt: skip

    async def aclose(self) -> None:
        for endpoint in self.endpoints.values():
            await endpoint.aclose()
