"""One expert deployment class, bound once per catalog model the config deploys.

Each replica loads its model once, runs it on a worker thread (the event loop stays free for health
checks and queued requests), batches with @serve.batch where the model batches, and reports unhealthy
when its model keeps failing so that Serve replaces it.
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
from experts.catalog import ModelSpec
from experts.errors import ExpertInputError
from experts.host import ExpertHost, failure_code

log = logging.getLogger("ray.serve")


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
    health_check_period_s=10,
    health_check_timeout_s=30,
    graceful_shutdown_timeout_s=30,
)
class ExpertDeployment:
    def __init__(self, model: dict[str, Any], artifact_store: str, device: str = "auto"):
        self.spec = ModelSpec.model_validate(model)
        started = time.perf_counter()
        self.host = ExpertHost(self.spec, ExpertContext(store=ArtifactStore(artifact_store), device=device))
        log.info("loaded %s (%s) in %.2f s", self.spec.id, self.spec.task, time.perf_counter() - started)
        self.config = ExpertUserConfig()
        self.metrics = ExpertMetrics(self.spec.id, self.spec.task)
        self.consecutive_failures = 0
        self.batch_stats = BatchStats()
        self.batchable = self.host.batchable  # the others gain nothing from @serve.batch

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        self.config = ExpertUserConfig.model_validate(user_config or {})
        self._batched.set_max_batch_size(self.config.max_batch_size)
        self._batched.set_batch_wait_timeout_s(self.config.batch_wait_timeout_s)

    async def __call__(self, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        self.host.check_task(task)
        if self.config.batching and self.batchable:
            result = await self._batched(inputs)
            if isinstance(result, _Failed):
                raise result.error
            return result
        return await asyncio.to_thread(self._run_one, inputs)

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def _batched(self, batch: list[dict[str, Any]]) -> list[dict[str, Any] | _Failed]:
        return await asyncio.to_thread(self._run_batch, batch)

    def _run_one(self, inputs: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            out = self.host.expert.run(inputs)
        except Exception as e:
            self._failed(e)
            raise
        self._succeeded(time.perf_counter() - start, 1)
        return out

    def _run_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any] | _Failed]:
        start = time.perf_counter()
        try:
            outs: list[dict[str, Any] | _Failed] = list(self.host.expert.run_batch(batch))
        except Exception:
            # One bad input must not fail its batch-mates: retry each alone.
            outs = []
            for inputs in batch:
                try:
                    outs.append(self._run_one(inputs))
                except Exception as e:
                    outs.append(_Failed(e))
            return outs
        self._succeeded(time.perf_counter() - start, len(batch))
        return outs

    def _succeeded(self, seconds: float, batch: int) -> None:
        self.consecutive_failures = 0
        self.metrics.ran(seconds, batch)
        self.batch_stats.record(batch)

    def stats(self) -> dict[str, Any]:
        """This replica's model calls by batch size since it started, and its current batching config."""
        return {**self.batch_stats.snapshot(), "batching": self.config.batching and self.batchable}

    def _failed(self, e: Exception) -> None:
        self.metrics.failed(failure_code(e))
        if not isinstance(e, ExpertInputError):  # the caller's fault says nothing about this replica
            self.consecutive_failures += 1

    def check_health(self) -> None:
        if self.consecutive_failures >= self.config.unhealthy_after_failures:
            raise RuntimeError(
                f"{self.spec.id} failed {self.consecutive_failures} calls in a row; asking Serve for a new replica"
            )
