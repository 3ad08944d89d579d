"""Stage 2: for each task, rank the live catalog models and let the LLM pick one when there is a choice."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Collection

from controller.jsonish import JSONishError, extract_json
from controller.llm import LLMClient, LLMUnavailable
from controller.prompts import select_messages, select_schema
from controller.schema import Selection, StageUsage, Task
from experts.catalog import Catalog, ModelSpec

log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z][a-z0-9]{3,}")
_STOP = frozenset(
    "this that with from what have your about into please could would image text audio video".split()
)


def rank(models: list[ModelSpec], context: str) -> list[ModelSpec]:
    """Best first. JARVIS sorts by likes alone; we weigh likes and downloads on a log scale and add a
    boost for models whose id or tags name words of the request (a 'financial' text -> finbert)."""
    words = {w for w in _WORD.findall(context.lower()) if w not in _STOP}

    def score(m: ModelSpec) -> float:
        own = set(_WORD.findall(" ".join([m.id, *m.tags]).lower()))
        relevance = min(3, len(words & own))
        return math.log10(1 + m.likes) + 0.5 * math.log10(1 + m.downloads) + 1.5 * relevance

    return sorted(models, key=lambda m: (-score(m), m.id))


class ModelSelector:
    def __init__(self, llm: LLMClient, catalog: Catalog, top_k: int):
        self.llm = llm
        self.catalog = catalog
        self.top_k = top_k

    def candidates(self, task: Task, request: str, live: Collection[str]) -> list[ModelSpec]:
        models = [m for m in self.catalog.models_for(task.task) if m.id in live]
        context = request + " " + " ".join(str(v) for v in task.args.values())
        return rank(models, context)[: self.top_k]

    async def select(self, task: Task, request: str, live: Collection[str], usage: StageUsage) -> Selection:
        ranked = self.candidates(task, request, live)
        ids = [m.id for m in ranked]
        base = {"task_id": task.id, "task": task.task, "candidates": ids}
        if not ranked:
            return Selection(**base, model_id=None, reason=f"no live model can run {task.task}")
        if len(ranked) == 1:
            return Selection(**base, model_id=ids[0], reason="the only live model for this task")
        try:
            reply = await self.llm.complete(
                select_messages(request, task.model_dump(), ranked),
                usage,
                json_schema=select_schema(ids),
                max_tokens=200,
            )
        except LLMUnavailable as e:
            return Selection(
                **base, model_id=ids[0], reason=f"top-ranked (LLM unavailable for selection: {e})"
            )
        try:
            choice = extract_json(reply)
        except JSONishError as e:
            return Selection(**base, model_id=ids[0], reason=f"top-ranked (LLM choice unreadable: {e})")
        chosen = str(choice.get("id", "")).strip() if isinstance(choice, dict) else ""
        reason = str(choice.get("reason", "")).strip() if isinstance(choice, dict) else ""
        if chosen not in ids:
            log.info("LLM chose %r, not a candidate for %s", chosen, task.task)
            return Selection(
                **base,
                model_id=ids[0],
                llm_used=True,
                reason=f"top-ranked (the LLM chose {chosen!r}, which is not a live candidate)",
            )
        return Selection(**base, model_id=chosen, llm_used=True, reason=reason or "chosen by the LLM")
