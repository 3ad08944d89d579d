"""The scripted LLM (tests/scripted_llm.py) set up for benchmarks: plans by keyword, a token rate, selection."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.scripted_llm import ScriptedLLM, _word_pieces

CHARS_PER_TOKEN = 4  # the usual estimate for English/JSON with BPE tokenizers; the scripted LLM uses it too


def plan_text(tasks: list[dict[str, Any]]) -> str:
    """A plan as an LLM writes it (JARVIS's shape, spaces after separators so that it streams in words)."""
    return json.dumps({"tasks": tasks})


def tokens_of(text: str) -> float:
    return len(text) / CHARS_PER_TOKEN


def chunk_delay_for(text: str, tokens_per_s: float) -> float:
    """Seconds between the scripted LLM's word chunks so that the whole text streams in
    tokens(text) / tokens_per_s seconds: a chunk of several tokens waits as long as its tokens take."""
    pieces = len(_word_pieces(text))
    return tokens_of(text) / tokens_per_s / max(1, pieces - 1)


def generation_seconds(text: str, tokens_per_s: float) -> float:
    return tokens_of(text) / tokens_per_s


_CANDIDATE = re.compile(r'^- id: "([^"]+)"', re.MULTILINE)


def choose_first_candidate(body: dict[str, Any]) -> str:
    """Selection stage: the first (top-ranked) candidate the controller showed, as a valid JSON choice."""
    user = next((m["content"] for m in body.get("messages", []) if m.get("role") == "user"), "")
    found = _CANDIDATE.findall(str(user))
    return json.dumps({"id": found[0] if found else "", "reason": "top-ranked"})


def script_instant(llm: ScriptedLLM, plans: dict[str, str], answer: str = "Done.") -> None:
    """Plans chosen by a keyword of the user's message, answered at once; selection and answer too."""
    llm.reset()
    for keyword, text in plans.items():
        llm.on("plan", text, contains=keyword)
    llm.on("select", choose_first_candidate)
    llm.on("respond", answer)


def script_rate(llm: ScriptedLLM, plan: str, tokens_per_s: float, streamed: bool) -> None:
    """One plan emitted at ``tokens_per_s``: streamed chunk by chunk, or (a non-streaming call) all at once
    after the same generation time. The answer stage is instant in both, so only planning differs."""
    llm.reset()
    if streamed:
        llm.on("plan", plan, chunk_delay_s=chunk_delay_for(plan, tokens_per_s))
    else:
        llm.on("plan", plan, delay_s=generation_seconds(plan, tokens_per_s))
    llm.on("select", choose_first_candidate)
    llm.on("respond", "Done.")
