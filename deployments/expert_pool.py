"""The long tail of the catalog on demand: one deployment that loads any runnable catalog model when a
request names it (Ray Serve model multiplexing), keeping the most recently used few per replica.

Hot models get an ExpertDeployment of their own; everything else the LLM may select still runs here,
after a cold load, instead of being dropped from the catalog.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ray import serve

from deployments.metrics import ExpertMetrics
from experts.adapters import ExpertContext
from experts.artifacts import ArtifactStore
from experts.catalog import Catalog
from experts.errors import ExpertUnavailable
from experts.host import ExpertHost, failure_code

log = logging.getLogger("ray.serve")


@serve.deployment(
    ray_actor_options={"num_cpus": 0},
    max_ongoing_requests=16,
    health_check_period_s=10,
    health_check_timeout_s=30,
)
class ExpertPool:
    def __init__(self, catalog: Catalog, artifact_store: str, device: str = "auto"):
        self.catalog = catalog
        self.ctx = ExpertContext(store=ArtifactStore(artifact_store), device=device)
        self.metrics: dict[str, ExpertMetrics] = {}

    @serve.multiplexed(max_num_models_per_replica=4)
    async def get_expert(self, model_id: str) -> ExpertHost:
        spec = self.catalog.get(model_id)
        if spec is None or not spec.runnable:
            reason = "is not in the catalog" if spec is None else f"cannot run: {spec.unavailable_reason}"
            raise ExpertUnavailable(f"{model_id} {reason}")
        started = time.perf_counter()
        host = await asyncio.to_thread(ExpertHost, spec, self.ctx)
        log.info("pool loaded %s in %.2f s", model_id, time.perf_counter() - started)
        return host

    async def __call__(self, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        model_id = serve.get_multiplexed_model_id()
        host = await self.get_expert(model_id)
        metrics = self.metrics.setdefault(model_id, ExpertMetrics(model_id, host.task))
        start = time.perf_counter()
        try:
            out = await host.run(task, inputs)
        except Exception as e:
            metrics.failed(failure_code(e))
            raise
        metrics.ran(time.perf_counter() - start, 1)
        return out
