"""The one expert deployment class: a dedicated model (bound once per hot catalog model) and the
multiplexed pool (the long tail of the catalog, loaded on demand) are this class with different options.

Each replica runs its model on a worker thread (the event loop stays free for health checks and queued
requests), batches with @serve.batch where the model batches (Serve splits a batch by multiplexed model
id, so a pooled batch is one model's), and reports unhealthy when its models keep failing so that Serve
replaces it. ``user_config`` (batching, batch size and wait, the failure threshold) applies to both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from deployments.metrics import ExpertMetrics
from experts.adapters import ExpertContext
from experts.artifacts import ArtifactStore
from experts.cancel import AllOf, CancelToken, run_with
from experts.catalog import Catalog, ModelSpec
from experts.errors import Cancelled, ExpertInputError, ExpertUnavailable, StorageError
from experts.host import ExpertHost, failure_code

log = logging.getLogger("ray.serve")

POOL_MODELS_PER_REPLICA = 4  # the pool keeps the most recently used few loaded (LRU)


class ExpertUserConfig(BaseModel):
    """Knobs that change without a redeploy (serve_config.yaml `user_config`)."""

    model_config = ConfigDict(extra="forbid")

    batching: bool = True
    max_batch_size: int = Field(8, ge=1, le=256)
    batch_wait_timeout_s: float = Field(0.01, ge=0, le=5)
    unhealthy_after_failures: int = Field(5, ge=1)  # consecutive internal failures


class BatchStats:
    """How many inputs each successful model call took; benchmarks read it through ``stats()``."""

    def __init__(self) -> None:
        self.batch_sizes: Counter[int] = Counter()

    def record(self, batch: int) -> None:
        self.batch_sizes[batch] += 1

    def snapshot(self) -> dict[str, Any]:
        calls = sum(self.batch_sizes.values())
        inputs = sum(size * n for size, n in self.batch_sizes.items())
        return {
            "model_calls": calls,
            "inputs": inputs,
            "batch_sizes": {str(size): n for size, n in sorted(self.batch_sizes.items())},
        }


class _Failed:
    """A per-input failure inside a batch: returned, not raised, so one bad input fails only its caller."""

    def __init__(self, error: Exception):
        self.error = error


@serve.deployment(
    ray_actor_options={"num_cpus": 0},
    max_ongoing_requests=16,
    max_queued_requests=32,  # bounded: past it a call fails at once (expert_unavailable), never waits on
    health_check_period_s=10,
    health_check_timeout_s=30,
    graceful_shutdown_timeout_s=30,
)
class ExpertDeployment:
    """Bind with ``model=`` (a ModelSpec dump: one model, loaded at start) or ``catalog=`` (the pool: any
    runnable catalog model, loaded when a request's multiplexed model id first names it)."""

    def __init__(
        self,
        artifact_store: str,
        device: str = "auto",
        *,
        model: dict[str, Any] | None = None,
        catalog: Catalog | None = None,
    ):
        if (model is None) == (catalog is None):
            raise ValueError("bind an expert deployment with exactly one of model= or catalog=")
        self.ctx = ExpertContext(store=ArtifactStore(artifact_store), device=device)
        self.catalog = catalog
        self.config = ExpertUserConfig()
        self.metrics: dict[str, ExpertMetrics] = {}
        self.consecutive_failures = 0
        self.batch_stats = BatchStats()
        self.loads: Counter[str] = Counter()  # a pooled model loaded twice was evicted in between
        self.dedicated = self._load(ModelSpec.model_validate(model)) if model is not None else None

    def _load(self, spec: ModelSpec) -> ExpertHost:
        started = time.perf_counter()
        host = ExpertHost(spec, self.ctx)
        self.loads[spec.id] += 1
        log.info("loaded %s (%s) in %.2f s", spec.id, spec.task, time.perf_counter() - started)
        self.metrics.setdefault(spec.id, ExpertMetrics(spec.id, host.task))
        return host

    @serve.multiplexed(max_num_models_per_replica=POOL_MODELS_PER_REPLICA)
    async def get_expert(self, model_id: str) -> ExpertHost:
        spec = self.catalog.get(model_id) if self.catalog is not None else None
        if spec is None or not spec.runnable:
            reason = "is not in the catalog" if spec is None else f"cannot run: {spec.unavailable_reason}"
            raise ExpertUnavailable(f"{model_id} {reason}")
        return await asyncio.to_thread(self._load, spec)

    async def _host(self) -> ExpertHost:
        """This request's model: the dedicated one, or the pool's for the request's multiplexed model id."""
        if self.dedicated is not None:
            return self.dedicated
        return await self.get_expert(serve.get_multiplexed_model_id())

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        self.config = ExpertUserConfig.model_validate(user_config or {})
        self._batched.set_max_batch_size(self.config.max_batch_size)
        self._batched.set_batch_wait_timeout_s(self.config.batch_wait_timeout_s)

    async def __call__(self, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        host = await self._host()
        host.check_task(task)
        # Serve cancels this coroutine when the caller goes away (client gone, deadline passed); the
        # token carries that to the worker thread, whose model stops at its next step.
        token = CancelToken()
        try:
            if self.config.batching and host.batchable:  # the others gain nothing from @serve.batch
                result = await self._batched((inputs, token))
                if isinstance(result, _Failed):
                    raise result.error
                return result
            return await asyncio.to_thread(run_with, token, self._run_one, host, inputs)
        except asyncio.CancelledError:
            token.cancel()
            raise

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def _batched(
        self, items: list[tuple[dict[str, Any], CancelToken]]
    ) -> list[dict[str, Any] | _Failed]:
        host = await self._host()  # one model per batch: Serve splits batches by multiplexed model id
        batch = [inputs for inputs, _ in items]
        return await asyncio.to_thread(run_with, AllOf(t for _, t in items), self._run_batch, host, batch)

    def _run_one(self, host: ExpertHost, inputs: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            out = host.expert.run(inputs)
        except Exception as e:
            self._failed(host, e)
            raise
        self._succeeded(host, time.perf_counter() - start, 1)
        return out

    def _run_batch(self, host: ExpertHost, batch: list[dict[str, Any]]) -> list[dict[str, Any] | _Failed]:
        start = time.perf_counter()
        try:
            outs: list[dict[str, Any] | _Failed] = list(host.expert.run_batch(batch))
        except Exception:
            # One bad input must not fail its batch-mates: retry each alone.
            outs = []
            for inputs in batch:
                try:
                    outs.append(self._run_one(host, inputs))
                except Exception as e:
                    outs.append(_Failed(e))
            return outs
        self._succeeded(host, time.perf_counter() - start, len(batch))
        return outs

    def _succeeded(self, host: ExpertHost, seconds: float, batch: int) -> None:
        self.consecutive_failures = 0
        self.metrics[host.spec.id].ran(seconds, batch)
        self.batch_stats.record(batch)

    def _failed(self, host: ExpertHost, e: Exception) -> None:
        self.metrics[host.spec.id].failed(failure_code(e))
        # The caller's fault, an abandoned call or a full/read-only store says nothing about this
        # replica: restarting it would not help (and would restart healthy replicas in a loop).
        if not isinstance(e, ExpertInputError | Cancelled | StorageError):
            self.consecutive_failures += 1

    def stats(self) -> dict[str, Any]:
        """This replica's model calls by batch size since it started, its current batching config, and how
        often it loaded each model (the pool reloads a model its LRU evicted)."""
        batchable = self.dedicated.batchable if self.dedicated is not None else True
        snapshot = self.batch_stats.snapshot()
        return {
            **snapshot,
            "batching": self.config.batching and batchable,
            "max_batch_size": self.config.max_batch_size,
            "batch_wait_timeout_s": self.config.batch_wait_timeout_s,
            "loads": dict(self.loads),
        }

    def check_health(self) -> None:
        if self.consecutive_failures >= self.config.unhealthy_after_failures:
            raise RuntimeError(
                f"{self.consecutive_failures} expert calls failed in a row; asking Serve for a new replica"
            )
