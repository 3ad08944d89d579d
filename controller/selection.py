"""Stage 2: for each task, rank the live catalog models and let the LLM pick one when there is a choice."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Collection, Mapping

from controller.jsonish import JSONishError, extract_json
from controller.llm import LLMClient, LLMUnavailable
from controller.prompts import select_messages, select_schema
from controller.schema import Route, Selection, StageUsage, Task
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

    def candidates(
        self, task: Task, request: str, live: Collection[str], remote: Mapping[str, str] | None = None
    ) -> list[ModelSpec]:
        """Live local models first (a replica is there now), then models a remote endpoint serves."""
        remote = remote or {}
        models = [m for m in self.catalog.models_for(task.task) if m.id in live or m.id in remote]
        context = request + " " + " ".join(str(v) for v in task.args.values())
        return sorted(rank(models, context), key=lambda m: m.id not in live)[: self.top_k]

    async def select(
        self,
        task: Task,
        request: str,
        live: Collection[str],
        usage: StageUsage,
        remote: Mapping[str, str] | None = None,
    ) -> Selection:
        remote = remote or {}
        chosen = await self._choose(task, request, live, usage, remote)
        if chosen.model_id is None:
            return chosen
        routes = routes_for([chosen.model_id, *chosen.candidates], live, remote)
        first = routes[0]
        placement = (
            "local: a live replica"
            if first.runtime == "local"
            else f"{first.ran_on}: no live local replica of this model"
        )
        return chosen.model_copy(update={"routes": routes, "placement": placement})

    async def _choose(
        self, task: Task, request: str, live: Collection[str], usage: StageUsage, remote: Mapping[str, str]
    ) -> Selection:
        ranked = self.candidates(task, request, live, remote)
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


def routes_for(model_ids: list[str], live: Collection[str], remote: Mapping[str, str]) -> list[Route]:
    """Every place the models can run, in order: each model's live replica before its remote endpoint."""
    routes: list[Route] = []
    for model_id in dict.fromkeys(model_ids):
        if model_id in live:
            routes.append(Route(model_id=model_id))
        if model_id in remote:
            routes.append(Route(model_id=model_id, runtime="remote", provider=remote[model_id]))
    return routes
