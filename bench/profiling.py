"""Where one request's time goes: single-task plans replayed one at a time through the proxy, the ingress and
one expert hop, each request's wall time split into consecutive spans that add up to it.

The spans come from three clocks that never need to agree: the client's (the whole request), the
ingress's Server-Timing header (parse, plan, run, render; ``deployments.http.timing``) with the pipeline's
own timings in the body (``execute_s``, ``total_s``) and the task's ``elapsed_s`` (the handle call, seen by
the scheduler), and the synthetic experts' own time (``busy_s``, read from every replica once, after the
run). Every span is a difference of two readings of one clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from bench.client import TIMEOUT
from bench.plans import GoldPlan
from bench.stats import summary
from deployments.http import timing

# (key, what it covers), in the order a request meets them.
SPANS: list[tuple[str, str]] = [
    ("http_proxy", "client ↔ proxy ↔ ingress: HTTP, the proxy's routing and its handle hop, both ways"),
    ("parse", "ingress: middleware, routing, body, JSON and pydantic, up to the route"),
    ("plan", "plan validation (parser, on a worker thread)"),
    ("pipeline", "pipeline around execution: live experts, plan event, done event"),
    ("scheduler", "scheduler: selection, task start, events (execute stage minus the expert call)"),
    ("handle_hop", "handle call to the expert and back: routing, serialisation of inputs and results"),
    ("expert", "the expert itself (synthetic: a sleep of the set latency)"),
    ("answer", "response: summary body, JSON, until the response starts"),
]


def spans(e2e_s: float, server_timing: dict[str, float], body: dict[str, Any], expert_s: float) -> dict:
    """One request's spans in seconds; they sum to ``e2e_s`` (``expert_s``: the expert's own mean time)."""
    result = body["results"][0]
    t = body.get("timings", {})
    run, execute, elapsed = server_timing["run"], t["execute_s"], result["elapsed_s"]
    return {
        "http_proxy": e2e_s - server_timing["app"],
        "parse": server_timing["parse"],
        "plan": server_timing["plan"],
        "pipeline": run - execute,
        "scheduler": execute - elapsed,
        "handle_hop": elapsed - expert_s,
        "expert": expert_s,
        "answer": server_timing["render"],
    }


async def _requests(url: str, plans: Sequence[GoldPlan], reps: int) -> list[tuple[float, dict, dict]]:
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        for _ in range(reps):
            for plan in plans:
                start = time.perf_counter()
                r = await client.post("/v1/plans/execute", json={"tasks": plan.body(), "request": ""})
                e2e = time.perf_counter() - start
                body = r.json()
                header = r.headers.get("server-timing")
                if r.status_code == 200 and header and body["results"][0]["status"] == "ok":
                    out.append((e2e, timing.parse(header), body))
    return out


def synthetic_busy(app_name: str) -> Callable[[], tuple[int, float]]:
    """(calls, busy seconds) summed over the synthetic experts of ``app_name`` (one stats() call each)."""
    from ray import serve

    from bench.cluster import deployment_replicas

    def read() -> tuple[int, float]:
        names = [n for n in deployment_replicas(app_name) if n.startswith("expert:")]
        stats = [serve.get_deployment_handle(n, app_name=app_name).stats.remote().result() for n in names]
        return sum(s["calls"] for s in stats), sum(s["busy_s"] for s in stats)

    return read


def measure(
    url: str,
    plans: Sequence[GoldPlan],
    expert_stats: Callable[[], tuple[int, float]],
    progress: Callable[[str], None],
    reps: int = 3,
) -> dict[str, Any]:
    """Profile the single-task ``plans`` (``reps`` times each) against the app deployed now.
    ``expert_stats()`` -> (calls, busy seconds) summed over the synthetic experts, read before and after."""
    singles = [p for p in plans if p.n_tasks == 1]
    progress(f"[1] profile: {len(singles)} single-task plans × {reps}, one request at a time")
    asyncio.run(_requests(url, singles[:3], 1))  # warm-up, unrecorded
    calls0, busy0 = expert_stats()
    measured = asyncio.run(_requests(url, singles, reps))
    calls1, busy1 = expert_stats()
    expert_s = (busy1 - busy0) / max(1, calls1 - calls0)
    rows = [spans(e2e, st, body, expert_s) | {"e2e": e2e} for e2e, st, body in measured]
    out = {
        "requests": len(rows),
        "expert_mean_s": round(expert_s, 5),
        "spans": {key: summary([r[key] for r in rows]) for key, _ in SPANS},
        "e2e_s": summary([r["e2e"] for r in rows]),
        "described": dict(SPANS),
    }
    p50 = {k: out["spans"][k].get("p50", 0) * 1000 for k, _ in SPANS}
    progress("  p50 ms: " + ", ".join(f"{k} {v:.1f}" for k, v in p50.items()))
    return out
