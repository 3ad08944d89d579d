"""Benchmark 1: orchestration overhead. TaskBench gold plans replayed through the deployed app over
synthetic experts of fixed latency; the lower bound of each plan is its critical path (depth × latency).
The DAG scheduler and JARVIS's polling discipline run the same plans in the same run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from bench.client import TIMEOUT, execute_plan
from bench.plans import SHAPES, GoldPlan
from bench.stats import summary


def plan_row(plan: GoldPlan, latency_s: float, seconds: float, body: dict[str, Any]) -> dict[str, Any]:
    """What one replay says about overhead: against the critical path, per task and per handle hop."""
    critical = plan.depth * latency_s
    overhead = seconds - critical
    hops = [r["elapsed_s"] - latency_s for r in body.get("results", []) if r.get("status") == "ok"]
    execute = body.get("timings", {}).get("execute_s")
    outside = seconds - execute if execute is not None else None
    return {
        "id": plan.id,
        "shape": plan.shape,
        "n_tasks": plan.n_tasks,
        "depth": plan.depth,
        "critical_path_s": round(critical, 4),
        "e2e_s": round(seconds, 4),
        "execute_s": round(execute, 4) if execute is not None else None,
        # Split of the overhead: inside the scheduler's execute stage, and around it (HTTP, proxy, the
        # controller's request handling before and after execution).
        "execute_overhead_s": round(execute - critical, 4) if execute is not None else None,
        "outside_execute_s": round(outside, 4) if outside is not None else None,
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
        "execute_overhead_s": of("execute_overhead_s", rows),
        "outside_execute_s": of("outside_execute_s", rows),
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


def measure(
    url: str, plans: Sequence[GoldPlan], latency_s: float, label: str, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Replay the plans against the app deployed now (one scheduler) and summarise."""
    progress(f"[1] overhead: {label} scheduler, {len(plans)} plans")
    rows, errors = asyncio.run(replay(url, plans, latency_s, progress))
    s = summarise(rows)
    progress(
        f"  ratio p50 {s['ratio'].get('p50')} p95 {s['ratio'].get('p95')}, "
        f"overhead/task p50 {s['overhead_per_task_s'].get('p50')} s, "
        f"hop p50 {s['hop_overhead_s'].get('p50')} s, errors {len(errors)}"
    )
    return {"summary": s, "errors": errors, "plans": rows}
