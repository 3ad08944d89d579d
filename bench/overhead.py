"""Benchmark 1: orchestration overhead. TaskBench gold plans replayed through the deployed app over
synthetic experts of fixed latency; the lower bound of each plan is its critical path (depth × latency).
The DAG scheduler and JARVIS's polling discipline run the same plans in the same run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from ray import serve

from bench.apps import APP, synthetic_app
from bench.client import TIMEOUT, execute_plan
from bench.plans import SHAPES, GoldPlan
from bench.stats import summary
from controller.config import ControllerConfig


def schedulers_available() -> list[str]:
    """ "dag" always; "polling" once the controller has JARVIS's discipline (ControllerConfig.scheduler)."""
    return ["dag", "polling"] if "scheduler" in ControllerConfig.model_fields else ["dag"]


def plan_row(plan: GoldPlan, latency_s: float, seconds: float, body: dict[str, Any]) -> dict[str, Any]:
    """What one replay says about overhead: against the critical path, per task and per handle hop."""
    critical = plan.depth * latency_s
    overhead = seconds - critical
    hops = [r["elapsed_s"] - latency_s for r in body.get("results", []) if r.get("status") == "ok"]
    execute = body.get("timings", {}).get("execute_s")
    return {
        "id": plan.id,
        "shape": plan.shape,
        "n_tasks": plan.n_tasks,
        "depth": plan.depth,
        "critical_path_s": round(critical, 4),
        "e2e_s": round(seconds, 4),
        "execute_s": round(execute, 4) if execute is not None else None,
        "ratio": round(seconds / critical, 4),
        "overhead_s": round(overhead, 4),
        "overhead_per_task_s": round(overhead / plan.n_tasks, 4),
        "overhead_per_level_s": round(overhead / plan.depth, 4),
        "hop_overhead_s": round(sum(hops) / len(hops), 4) if hops else None,
    }


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def of(key: str, subset: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return summary([r[key] for r in subset if r.get(key) is not None])

    out: dict[str, Any] = {
        "plans": len(rows),
        "tasks": sum(r["n_tasks"] for r in rows),
        "ratio": of("ratio", rows),
        "overhead_s": of("overhead_s", rows),
        "overhead_per_task_s": of("overhead_per_task_s", rows),
        "overhead_per_level_s": of("overhead_per_level_s", rows),
        "hop_overhead_s": of("hop_overhead_s", rows),
        "by_shape": {},
    }
    for shape in SHAPES:
        subset = [r for r in rows if r["shape"] == shape]
        if subset:
            out["by_shape"][shape] = {
                "plans": len(subset),
                "ratio": of("ratio", subset),
                "overhead_per_task_s": of("overhead_per_task_s", subset),
            }
    return out


async def replay(
    url: str, plans: Sequence[GoldPlan], latency_s: float, progress: Callable[[str], None]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Plans one at a time (no queueing in the numbers); a few unrecorded warm-up runs first."""
    rows, errors = [], []
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        for plan in plans[:3]:
            await execute_plan(client, plan.body())
        for i, plan in enumerate(plans):
            outcome = await execute_plan(client, plan.body())
            if not outcome.ok:
                errors.append(f"{plan.id}: {outcome.error}")
                continue
            rows.append(plan_row(plan, latency_s, outcome.seconds, outcome.body))
            if (i + 1) % 25 == 0:
                progress(f"  {i + 1}/{len(plans)} plans")
    return rows, errors


def run(
    url: str,
    llm_base_url: str,
    artifact_store: str,
    plans: Sequence[GoldPlan],
    latency_s: float,
    polling_interval_s: float,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "expert_latency_s": latency_s,
        "polling_interval_s": polling_interval_s,
        "schedulers": {},
    }
    for scheduler in schedulers_available():
        controller: dict[str, Any] = {}
        if scheduler == "polling":
            controller = {"scheduler": "polling", "polling_interval_s": polling_interval_s}
        elif "scheduler" in ControllerConfig.model_fields:
            controller = {"scheduler": "dag"}
        progress(f"[1] overhead: {scheduler} scheduler, {len(plans)} plans")
        serve.run(
            synthetic_app(llm_base_url, artifact_store, latency_s, controller), name=APP, route_prefix="/"
        )
        rows, errors = asyncio.run(replay(url, plans, latency_s, progress))
        result["schedulers"][scheduler] = {"summary": summarise(rows), "errors": errors, "plans": rows}
        s = result["schedulers"][scheduler]["summary"]
        progress(
            f"  ratio p50 {s['ratio'].get('p50')} p95 {s['ratio'].get('p95')}, "
            f"overhead/task p50 {s['overhead_per_task_s'].get('p50')} s, errors {len(errors)}"
        )
    if "polling" not in result["schedulers"]:
        result["note"] = "ControllerConfig has no `scheduler` field on this checkout: polling not measured"
    return result
