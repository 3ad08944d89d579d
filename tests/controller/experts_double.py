"""A timed stand-in for the expert side, for scheduler semantics (ordering, parallelism, failures,
cancellation), where the unit under test is the scheduler, the pipeline or the HTTP layer above it and
seconds of controlled latency matter more than real outputs.

Pipeline tests against real models use experts.local.LocalExperts instead; the same behaviours through
real Ray replicas (cancellation reaching the replica, failures as task results) are in
tests/deployments/test_expert_on_ray.py and test_ray_app.py."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from experts.tasks import TASK_TYPES


class TimedExperts:
    def __init__(self, latency_s: dict[str, float] | None = None, fail: dict[str, str] | None = None):
        self.latency_s = latency_s or {}
        self.fail = fail or {}
        self.calls: list[
            tuple[str, str, dict[str, Any], float, float]
        ] = []  # model, task, inputs, start, end
        self.cancelled: list[str] = []
        self.started: list[str] = []

    async def invoke(self, model_id: str, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        self.started.append(task)
        try:
            await asyncio.sleep(self.latency_s.get(task, 0.0))
        except asyncio.CancelledError:
            self.cancelled.append(task)
            raise
        if task in self.fail:
            raise RuntimeError(self.fail[task])
        self.calls.append((model_id, task, inputs, start, time.perf_counter()))
        outputs: dict[str, Any] = {}
        digest = hashlib.sha256(f"{task}{sorted(inputs.items())}".encode()).hexdigest()
        for field in TASK_TYPES[task].outputs:
            if field == "text":
                outputs["text"] = f"{task} says: {inputs.get('text', 'ok')}"
            elif field == "image":
                outputs["image"] = f"{digest}.png"
            elif field == "audio":
                outputs["audio"] = f"{digest}.wav"
            elif field == "video":
                outputs["video"] = f"{digest}.mp4"
        return outputs
