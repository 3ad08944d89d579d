"""The same pipeline without Ray: HuggingGPT.run_plan over in-process synthetic experts.

It tells which gold plans execute at all (some TaskBench records wire an image into a text input), and it
measures the scheduler alone, so the deployed numbers can be split into scheduling and Ray's hops."""

from __future__ import annotations

import time
from typing import Any

from bench.apps import one_model_per_task
from bench.synthetic import SyntheticExpert
from controller.config import ControllerConfig, LLMConfig
from controller.llm import LLMClient
from controller.pipeline import HuggingGPT
from controller.schema import DoneEvent, Plan
from experts.catalog import load_catalog

# Never called: every task type has exactly one live model, so selection needs no LLM.
_NO_LLM = LLMConfig(base_url="http://127.0.0.1:9/v1", model="unused", max_retries=0, timeout_s=1)


def pipeline(latency_s: float, **controller: Any) -> HuggingGPT:
    catalog = load_catalog("offline")
    live = set(one_model_per_task(catalog).values())

    async def live_models() -> set[str]:
        return live

    config = ControllerConfig(**controller)
    return HuggingGPT(config, LLMClient(_NO_LLM), catalog, SyntheticExpert(latency_s), live_models)


async def run_plan(gpt: HuggingGPT, plan: Plan) -> tuple[float, DoneEvent]:
    """Seconds to run the plan's tasks (stage 1 skipped, no answer) and the final event."""
    start = time.perf_counter()
    done = None
    async for event in gpt.run_plan(plan, request="", until="results"):
        if isinstance(event, DoneEvent):
            done = event
    assert done is not None, "every run ends with a done event"
    return time.perf_counter() - start, done


async def failure(gpt: HuggingGPT, plan: Plan) -> str | None:
    """Why the plan does not run to the end over synthetic experts, or None when every task is ok."""
    _, done = await run_plan(gpt, plan)
    bad = [r for r in done.results if r.status != "ok"]
    return f"{bad[0].task} {bad[0].status}: {bad[0].error}"[:120] if bad else None


async def executable(plans: list, skipped: dict[str, int]) -> list:
    """The GoldPlans that run to the end with zero-latency experts; the others counted in ``skipped``."""
    gpt = pipeline(0.0)
    kept = []
    for plan in plans:
        why = await failure(gpt, plan.plan)
        if why is None:
            kept.append(plan)
        else:
            reason = "does not execute: " + why.split(":")[0]
            skipped[reason] = skipped.get(reason, 0) + 1
    return kept
