"""HTTP clients for the benchmarks: one plan or chat request timed, and a closed-loop load generator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(300.0, connect=10.0)


@dataclass
class Outcome:
    """One request: wall time as the client saw it, and whether everything in it succeeded."""

    seconds: float
    ok: bool
    error: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # what kind of request it was, for breakdowns


def run_errors(status: int, body: dict[str, Any]) -> str | None:
    """Why a HuggingGPT response is not a full success (HTTP, pipeline errors, a task not ok), or None."""
    if status != 200:
        return f"HTTP {status}: {json.dumps(body)[:200]}"
    summary = body.get("hugginggpt", body)
    if summary.get("errors"):
        return f"pipeline error: {summary['errors'][0].get('message', '')[:200]}"
    bad = [r for r in summary.get("results", []) if r.get("status") != "ok"]
    if bad:
        return f"task {bad[0]['task_id']} ({bad[0]['task']}) {bad[0]['status']}: {bad[0].get('error')}"
    if not summary.get("results"):
        return "no task ran"
    return None


async def execute_plan(client: httpx.AsyncClient, tasks: list[dict[str, Any]]) -> Outcome:
    start = time.perf_counter()
    r = await client.post("/v1/plans/execute", json={"tasks": tasks, "request": ""})
    seconds = time.perf_counter() - start
    body = r.json()
    error = run_errors(r.status_code, body)
    return Outcome(seconds, error is None, error, body)


async def chat(client: httpx.AsyncClient, text: str) -> Outcome:
    start = time.perf_counter()
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "hugginggpt", "messages": [{"role": "user", "content": text}]},
    )
    seconds = time.perf_counter() - start
    try:
        body = r.json()
    except ValueError:
        body = {"raw": r.text[:200]}
    error = run_errors(r.status_code, body)
    return Outcome(seconds, error is None, error, body)


async def chat_stream_timed(client: httpx.AsyncClient, text: str) -> dict[str, Any]:
    """A streamed chat completion with the client-side time of each pipeline event: when the first expert
    call started (first ``task_started``), when the plan was complete, and when the run was done."""
    start = time.perf_counter()
    times: dict[str, float] = {}
    done: dict[str, Any] = {}
    body = {"model": "hugginggpt", "stream": True, "messages": [{"role": "user", "content": text}]}
    async with client.stream("POST", "/v1/chat/completions", json=body) as r:
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {(await r.aread())[:200]!r}")
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:]).get("hugginggpt")
            if not event:
                continue
            times.setdefault(event["type"], time.perf_counter() - start)
            if event["type"] == "done":
                done = event
    error = run_errors(200, done) if done else "no done event"
    return {
        "first_task_started_s": times.get("task_started"),
        "plan_event_s": times.get("plan"),
        "done_s": times.get("done"),
        "ok": error is None,
        "error": error,
        "n_tasks": len(done.get("tasks", [])),
    }


async def closed_loop(
    request: Callable[[int], Awaitable[Outcome]], concurrency: int, total: int
) -> tuple[list[Outcome], float]:
    """``concurrency`` workers issue ``total`` requests back to back; returns outcomes and wall seconds."""
    next_index = 0
    outcomes: list[Outcome] = []

    async def worker() -> None:
        nonlocal next_index
        while next_index < total:
            i = next_index
            next_index += 1
            try:
                outcomes.append(await request(i))
            except Exception as e:  # a transport failure is a counted error, not the end of the run
                outcomes.append(Outcome(0.0, False, f"{type(e).__name__}: {e}"[:200]))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes, time.perf_counter() - start
