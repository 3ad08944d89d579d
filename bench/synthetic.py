"""A synthetic expert: a fixed latency, no model, outputs shaped like a real expert's for its task type.

Benchmarks put it where the models would be, so that what they measure on top of the fixed latency is the
orchestration's own cost (scheduling, handle hops, HTTP). Media fields hold valid artifact ids
(``<sha256>.<ext>``) that name no stored bytes: the scheduler only passes them along.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

from ray import serve

from experts.tasks import TASK_TYPES

_EXTENSIONS = {"image": "png", "audio": "wav", "video": "mp4"}


def synthetic_outputs(task: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Every output field of ``task`` in the shape its real adapter writes, derived from the inputs."""
    digest = hashlib.sha256(f"{task}:{json.dumps(inputs, sort_keys=True, default=str)}".encode()).hexdigest()
    label = {"label": "synthetic", "score": 1.0}
    out: dict[str, Any] = {}
    for field in TASK_TYPES[task].outputs:
        if field == "text":
            out["text"] = f"{task} result {digest[:8]}"
        elif field in _EXTENSIONS:
            out[field] = f"{digest}.{_EXTENSIONS[field]}"
        elif field == "labels":
            out["labels"] = [label]
        elif field == "score":
            out["score"] = 1.0
        elif field == "boxes":
            out["boxes"] = [{**label, "box": {"xmin": 0.0, "ymin": 0.0, "xmax": 1.0, "ymax": 1.0}}]
        elif field == "entities":
            out["entities"] = [{"entity": "MISC", "word": "synthetic", "start": 0, "end": 9, "score": 1.0}]
        elif field == "segments":
            out["segments"] = [{**label, "mask": f"{digest}.png"}]
    return out


class SyntheticExpert:
    """In-process: an ExpertInvoker whose every call takes ``latency_s`` (asyncio.sleep, so calls overlap)."""

    def __init__(self, latency_s: float):
        self.latency_s = latency_s
        self.calls = 0
        self.busy_s = 0.0  # its own time, sleep overshoot included: the profile's "expert" span

    async def invoke(self, model_id: str, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        self.calls += 1
        await asyncio.sleep(self.latency_s)
        out = synthetic_outputs(task, inputs)
        self.busy_s += time.perf_counter() - start
        return out


@serve.deployment(
    ray_actor_options={"num_cpus": 0},
    max_ongoing_requests=1000,  # calls only sleep: never the bottleneck of what is measured
    health_check_period_s=10,
)
class SyntheticDeployment:
    """One per task type, named like the real expert's deployment so the controller treats it as one."""

    def __init__(self, task: str, latency_s: float):
        if task not in TASK_TYPES:
            raise ValueError(f"unknown task type {task!r}")
        self.task = task
        self.expert = SyntheticExpert(latency_s)

    async def __call__(self, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if task != self.task:
            raise ValueError(f"this synthetic expert runs {self.task}, not {task}")
        return await self.expert.invoke("", task, inputs)

    def stats(self) -> dict[str, Any]:
        e = self.expert
        return {"task": self.task, "latency_s": e.latency_s, "calls": e.calls, "busy_s": e.busy_s}
