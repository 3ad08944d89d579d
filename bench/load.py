"""Benchmark 2: throughput and latency under load against the offline profile (real tiny models), with the
scripted LLM answering at once with a few plan shapes; autoscaling watched through Serve's status."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from bench.client import TIMEOUT, Outcome, chat, closed_loop
from bench.cluster import ReplicaSampler, scale_events
from bench.llm import plan_text
from bench.stats import summary

# keyword in the user's message -> the plan the scripted LLM answers with
SHAPES: dict[str, list[dict[str, Any]]] = {
    "caption": [  # chain: two dedicated experts
        {"id": 0, "task": "text-to-image", "dep": [], "args": {"text": "a red kite over a beach"}},
        {"id": 1, "task": "image-to-text", "dep": [0], "args": {"image": "<GENERATED>-0"}},
    ],
    "speech": [  # chain: speech synthesis then transcription
        {"id": 0, "task": "text-to-speech", "dep": [], "args": {"text": "The train leaves at seven."}},
        {"id": 1, "task": "automatic-speech-recognition", "dep": [0], "args": {"audio": "<GENERATED>-0"}},
    ],
    "vision": [  # dag: one image, two analyses in parallel
        {"id": 0, "task": "text-to-image", "dep": [], "args": {"text": "a cat on a sofa"}},
        {"id": 1, "task": "object-detection", "dep": [0], "args": {"image": "<GENERATED>-0"}},
        {"id": 2, "task": "image-classification", "dep": [0], "args": {"image": "<GENERATED>-0"}},
    ],
    "summary": [  # single: a model served on demand by the multiplexed pool
        {
            "id": 0,
            "task": "summarization",
            "dep": [],
            "args": {"text": "Ray Serve runs each expert model as a deployment that scales on its own."},
        }
    ],
}


def scripted_plans() -> dict[str, str]:
    return {keyword: plan_text(tasks) for keyword, tasks in SHAPES.items()}


def task_seconds(outcomes: Sequence[Outcome]) -> dict[str, dict[str, Any]]:
    """Expert call time as the controller saw it (queueing at the replica included), by task type."""
    by_task: dict[str, list[float]] = {}
    for o in outcomes:
        for r in o.body.get("hugginggpt", {}).get("results", []):
            if r.get("status") == "ok":
                by_task.setdefault(r["task"], []).append(r["elapsed_s"])
    return {task: summary(values) for task, values in sorted(by_task.items())}


def level_result(concurrency: int, outcomes: Sequence[Outcome], wall_s: float) -> dict[str, Any]:
    ok = [o for o in outcomes if o.ok]
    errors = [o.error for o in outcomes if not o.ok]
    labels = sorted({o.label for o in ok})
    return {
        "concurrency": concurrency,
        "requests": len(outcomes),
        "wall_s": round(wall_s, 2),
        "requests_per_s": round(len(ok) / wall_s, 3) if wall_s else None,
        "latency_s": summary([o.seconds for o in ok]),
        "latency_by_shape_s": {k: summary([o.seconds for o in ok if o.label == k]) for k in labels},
        "task_seconds": task_seconds(ok),
        "errors": len(errors),
        "error_samples": sorted(set(e or "" for e in errors))[:5],
    }


async def _level(url: str, concurrency: int, total: int) -> tuple[list[Outcome], float]:
    keywords = list(SHAPES)
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT, limits=limits) as client:

        async def request(i: int) -> Outcome:
            keyword = keywords[i % len(keywords)]
            outcome = await chat(client, f"{keyword} request {i}")
            outcome.label = keyword
            return outcome

        return await closed_loop(request, concurrency, total)


def run(
    url: str,
    app_name: str,
    levels: Sequence[tuple[int, int]],
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """``levels``: (concurrency, requests) pairs, run in order with replica counts sampled throughout."""
    progress("[2] load: warm-up, one request per plan shape")
    warm, _ = asyncio.run(_level(url, 1, len(SHAPES)))
    sampler = ReplicaSampler(app_name, period_s=1.0).start()
    results = []
    try:
        for concurrency, total in levels:
            sampler.mark(f"c={concurrency}")
            progress(f"[2] load: concurrency {concurrency}, {total} requests")
            outcomes, wall = asyncio.run(_level(url, concurrency, total))
            results.append(level_result(concurrency, outcomes, wall))
            r = results[-1]
            progress(
                f"  {r['requests_per_s']} req/s, p50 {r['latency_s'].get('p50')} s, "
                f"p99 {r['latency_s'].get('p99')} s, errors {r['errors']}"
            )
        sampler.mark("end")
    finally:
        sampler.stop()
    return {
        "shapes": {k: [t["task"] for t in v] for k, v in SHAPES.items()},
        "warmup_errors": [o.error for o in warm if not o.ok],
        "levels": results,
        "replicas": {
            "events": scale_events(sampler.samples),
            "marks": sampler.marks,
            "samples": sampler.samples,
        },
    }
