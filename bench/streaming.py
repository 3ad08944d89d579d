"""Benchmark 4: streamed plans (LLMCompiler-style). The scripted LLM emits a plan at a fixed token rate;
streamed, each task starts once its JSON object is complete, otherwise after the whole plan. Measured at
the client through /v1/chat/completions with stream=true: time to the first `task_started` event and to
`done`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from bench.client import TIMEOUT, chat_stream_timed
from bench.llm import chunk_delay_for, generation_seconds, plan_text, script_rate, tokens_of
from bench.stats import summary
from tests.scripted_llm import ScriptedLLM, _word_pieces

PLANS: dict[str, list[dict[str, Any]]] = {
    "chain": [
        {"id": 0, "task": "text-to-image", "dep": [], "args": {"text": "a lighthouse on a cliff at dusk"}},
        {"id": 1, "task": "image-to-text", "dep": [0], "args": {"image": "<GENERATED>-0"}},
        {
            "id": 2,
            "task": "translation",
            "dep": [1],
            "args": {"text": "<GENERATED>-1", "target_language": "French"},
        },
        {"id": 3, "task": "text-to-speech", "dep": [2], "args": {"text": "<GENERATED>-2"}},
    ],
    "dag": [
        {"id": 0, "task": "text-to-image", "dep": [], "args": {"text": "a harbour at night with boats"}},
        {"id": 1, "task": "object-detection", "dep": [0], "args": {"image": "<GENERATED>-0"}},
        {"id": 2, "task": "image-classification", "dep": [0], "args": {"image": "<GENERATED>-0"}},
        {"id": 3, "task": "image-to-text", "dep": [0], "args": {"image": "<GENERATED>-0"}},
        {
            "id": 4,
            "task": "summarization",
            "dep": [1, 2, 3],
            "args": {"text": "<GENERATED>-1 <GENERATED>-2 <GENERATED>-3"},
        },
    ],
}


async def _measure(url: str, reps: int) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        await chat_stream_timed(client, "warm up")  # unrecorded: first request through a new replica
        return [await chat_stream_timed(client, f"request {i}") for i in range(reps)]


TOKEN_MAPPING = (
    "tokens = characters / 4; the scripted LLM streams word chunks (split at spaces) with "
    "chunk_delay_s = tokens / rate / (chunks - 1), so a plan streams in tokens / rate seconds; "
    "not streamed, the whole reply arrives after that same time"
)


def describe(tokens_per_s: float, latency_s: float) -> dict[str, Any]:
    """The report's entry before any measurement: the plans and how they are emitted."""
    plans = {}
    for shape, tasks in PLANS.items():
        text = plan_text(tasks)
        plans[shape] = {
            "tasks": len(tasks),
            "plan_chars": len(text),
            "plan_tokens": round(tokens_of(text), 1),
            "chunks": len(_word_pieces(text)),
            "chunk_delay_s": round(chunk_delay_for(text, tokens_per_s), 5),
            "generation_s": round(generation_seconds(text, tokens_per_s), 3),
            "modes": {},
        }
    return {
        "tokens_per_s": tokens_per_s,
        "expert_latency_s": latency_s,
        "token_mapping": TOKEN_MAPPING,
        "plans": plans,
    }


def measure(
    result: dict[str, Any],
    url: str,
    llm: ScriptedLLM,
    streamed: bool,
    reps: int,
    progress: Callable[[str], None],
) -> None:
    """Every plan shape against the app deployed now (stream_plan = ``streamed``), into ``result``."""
    mode = "streamed" if streamed else "not_streamed"
    for shape, tasks in PLANS.items():
        progress(f"[4] streaming plans: {shape}, {mode}, {reps} requests")
        script_rate(llm, plan_text(tasks), result["tokens_per_s"], streamed)
        runs = asyncio.run(_measure(url, reps))
        ok = [r for r in runs if r["ok"]]
        entry = {
            "first_expert_call_s": summary([r["first_task_started_s"] for r in ok]),
            "e2e_s": summary([r["done_s"] for r in ok]),
            "errors": [r["error"] for r in runs if not r["ok"]],
            "runs": runs,
        }
        result["plans"][shape]["modes"][mode] = entry
        progress(
            f"  first expert call p50 {entry['first_expert_call_s'].get('p50')} s, "
            f"e2e p50 {entry['e2e_s'].get('p50')} s, errors {len(entry['errors'])}"
        )
