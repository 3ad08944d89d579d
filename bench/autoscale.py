"""Benchmark 6: autoscaling you can see. Through the real Ingress, one expert is driven past its
``target_ongoing_requests`` and then left idle, while Serve's replica counts are sampled: how long scaling up
takes under load, and scaling down after it (short delays in this benchmark's autoscaling_config, where
serve_config.yaml keeps Serve's cautious defaults). Then a real tiny model scaled to zero is called cold and
warm: the cold-start cost a long-tail expert pays for holding no replica while unused.

python -m bench --only 6            # or --quick
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from ray import serve
from ray.serve import Application

from bench.apps import APP, llm_args
from bench.client import TIMEOUT, Outcome, execute_plan
from bench.cluster import ReplicaSampler, scale_events
from bench.stats import summary
from bench.synthetic import SyntheticDeployment
from deployments.expert import ExpertDeployment
from deployments.ingress import Ingress
from deployments.invoker import deployment_name
from deployments.settings import decide

DRIVEN = "offline/tiny-stable-diffusion"  # a synthetic expert of fixed latency stands in for it
COLD = "offline/tiny-t5-summarization"  # a real tiny model: its cold start includes loading it
# Serve's defaults wait 30 s to scale up and 600 s to scale down; short delays make both visible in a run.
DRIVEN_SCALING = {
    "min_replicas": 1,
    "max_replicas": 4,
    "target_ongoing_requests": 2,
    "upscale_delay_s": 2,
    "downscale_delay_s": 10,
    "look_back_period_s": 5,
}
TO_ZERO_SCALING = {
    "min_replicas": 0,
    "initial_replicas": 0,
    "max_replicas": 1,
    "target_ongoing_requests": 2,
    "upscale_delay_s": 0,
    "downscale_delay_s": 5,
    "downscale_to_zero_delay_s": 10,
    "look_back_period_s": 5,
}
FULL = {"concurrency": 16, "load_s": 40.0, "latency_s": 0.5, "idle_max_s": 90.0, "warm_calls": 5}
QUICK = {"concurrency": 8, "load_s": 15.0, "latency_s": 0.5, "idle_max_s": 60.0, "warm_calls": 2}


def app(llm_base_url: str, artifact_store: str, latency_s: float) -> Application:
    decided = decide({"profile": "offline", "llm": llm_args(llm_base_url), "artifact_store": artifact_store})
    cold = decided.catalog.get(COLD)
    assert cold is not None, COLD
    experts = {
        DRIVEN: SyntheticDeployment.options(
            name=deployment_name(DRIVEN), autoscaling_config=DRIVEN_SCALING, max_ongoing_requests=8
        ).bind("text-to-image", latency_s),
        COLD: ExpertDeployment.options(
            name=deployment_name(COLD), autoscaling_config=TO_ZERO_SCALING, ray_actor_options={"num_cpus": 0}
        ).bind(artifact_store, "cpu", model=cold.model_dump(mode="json")),
    }
    return Ingress.bind(decided, experts, None, None)


def series(samples: list[dict[str, Any]], deployment: str) -> list[tuple[float, int]]:
    return [(s["t"], s["replicas"].get(deployment, 0)) for s in samples if "error" not in s["replicas"]]


def first_at(points: list[tuple[float, int]], after: float, test: Callable[[int], bool]) -> float | None:
    """Seconds from ``after`` to the first sample at or after it whose count passes ``test``."""
    return next((round(t - after, 2) for t, n in points if t >= after and test(n)), None)


def timeline(samples: list[dict[str, Any]], deployment: str, load_start: float, load_end: float) -> dict:
    """Scale-up and scale-down latencies of one deployment read off the sampled replica counts."""
    points = series(samples, deployment)
    before = [n for t, n in points if t <= load_start] or [0]
    base = before[-1]
    during = [n for t, n in points if load_start <= t <= load_end]
    peak = max(during, default=base)
    return {
        "replicas_before": base,
        "replicas_peak": peak,
        "first_scale_up_s": first_at(points, load_start, lambda n: n > base),
        "to_peak_s": first_at(points, load_start, lambda n: n >= peak) if peak > base else None,
        "back_to_before_s": first_at(points, load_end, lambda n: n <= base) if peak > base else None,
    }


def _plan(task: str, text: str) -> list[dict[str, Any]]:
    return [{"id": 0, "task": task, "args": {"text": text}}]


async def _load(url: str, concurrency: int, seconds: float) -> tuple[list[Outcome], float]:
    """``concurrency`` clients issue text-to-image plans back to back for ``seconds``."""
    end = time.perf_counter() + seconds
    outcomes: list[Outcome] = []
    limits = httpx.Limits(max_connections=concurrency + 2)
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT, limits=limits) as client:

        async def worker(w: int) -> None:
            i = 0
            while time.perf_counter() < end:
                i += 1
                try:
                    outcomes.append(await execute_plan(client, _plan("text-to-image", f"kite {w}-{i}")))
                except httpx.HTTPError as e:
                    outcomes.append(Outcome(0.0, False, f"{type(e).__name__}: {e}"[:200]))

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return outcomes, time.perf_counter() - start


async def _one(url: str, task: str, text: str) -> Outcome:
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        return await execute_plan(client, _plan(task, text))


def _wait(check: Callable[[], bool], within_s: float) -> bool:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.5)
    return False


def run(url: str, llm_base_url: str, store: str, size: dict[str, Any], progress) -> dict[str, Any]:
    driven, cold = deployment_name(DRIVEN), deployment_name(COLD)
    progress(f"[6] autoscaling: deploying {driven} (synthetic, 1..4 replicas) and {cold} (real, 0..1)")
    serve.run(app(llm_base_url, store, size["latency_s"]), name=APP, route_prefix="/")
    warm = asyncio.run(_one(url, "text-to-image", "warm-up"))
    sampler = ReplicaSampler(APP, period_s=0.5).start()
    try:
        time.sleep(3)  # a baseline before the load
        load_start = sampler.now()
        sampler.mark(f"load c={size['concurrency']}")
        progress(f"[6] load: concurrency {size['concurrency']} for {size['load_s']:g} s")
        outcomes, wall = asyncio.run(_load(url, size["concurrency"], size["load_s"]))
        load_end = sampler.now()
        sampler.mark("idle")
        progress("[6] idle: waiting for the scale-down")
        _wait(lambda: sampler.latest(driven) == DRIVEN_SCALING["min_replicas"], size["idle_max_s"])
        sampler.mark("cold call")
        progress(f"[6] scale to zero: calling {cold} at 0 replicas, then warm")
        at_zero = sampler.latest(cold) == 0
        first = asyncio.run(_one(url, "summarization", "Ray Serve scales each expert on its own."))
        warm_calls = [
            asyncio.run(_one(url, "summarization", f"Warm call {i}: the replica is up."))
            for i in range(size["warm_calls"])
        ]
        sampler.mark("idle")
        _wait(lambda: sampler.latest(cold) == 0, size["idle_max_s"])
        sampler.mark("end")
    finally:
        sampler.stop()
        serve.delete(APP)
    ok = [o for o in outcomes if o.ok]
    warm_s = summary([o.seconds for o in warm_calls if o.ok])
    return {
        "driven": {
            "deployment": driven,
            "autoscaling_config": DRIVEN_SCALING,
            "latency_s": size["latency_s"],
        },
        "to_zero": {"deployment": cold, "autoscaling_config": TO_ZERO_SCALING},
        "warmup_error": warm.error,
        "load": {
            "concurrency": size["concurrency"],
            "seconds": round(wall, 2),
            "requests": len(outcomes),
            "requests_per_s": round(len(ok) / wall, 2) if wall else None,
            "latency_s": summary([o.seconds for o in ok]),
            "errors": len(outcomes) - len(ok),
        },
        "scaling": timeline(sampler.samples, driven, load_start, load_end),
        "cold_start": {
            "was_at_zero": at_zero,
            "cold_call_s": round(first.seconds, 3),
            "cold_call_error": first.error,
            "warm_call_s": warm_s,
            "cold_start_cost_s": round(first.seconds - warm_s["p50"], 3) if warm_s.get("n") else None,
        },
        "replicas": {
            "events": scale_events(sampler.samples),
            "marks": sampler.marks,
            "samples": sampler.samples,
        },
    }
