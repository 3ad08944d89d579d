"""Stage 1: the ``Planner`` seam, and the LLM planner: ask the LLM for a plan, repair what can be
repaired, retry once, else fall back to chat (or to a second planner, see ``FallbackPlanner``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol

from controller.config import ControllerConfig
from controller.demos import DemoSource
from controller.llm import LLMClient
from controller.messages import Conversation, trim_history
from controller.plan_parser import parse_plan
from controller.plan_stream import StreamedPlan
from controller.prompts import PLAN_RETRY, plan_messages, plan_schema
from controller.retrieval import default_demos
from controller.schema import Plan, PlanError, StageUsage, Task

log = logging.getLogger(__name__)


@dataclass
class PlanOutcome:
    plan: Plan | None  # None: answer as a plain chat (see chitchat_reason)
    chitchat_reason: str | None = None
    attempts: int = 1
    ask: str | None = None  # the reply, written without an LLM: the input to ask for, why not, what can run
    unusable: bool = False  # the planner's output could not be made into a plan (not a chat decision)


class Planner(Protocol):
    """Stage 1. ``plan`` raises LLMUnavailable only when an LLM it needs cannot be reached."""

    async def plan(self, conv: Conversation, offered: Collection[str], usage: StageUsage) -> PlanOutcome: ...

    def stream(
        self, conv: Conversation, offered: Collection[str], usage: StageUsage, outcome: list[PlanOutcome]
    ) -> AsyncIterator[Task]: ...


class LLMPlanner:
    def __init__(self, llm: LLMClient, config: ControllerConfig, demos: DemoSource | None = None):
        self.llm = llm
        self.config = config
        # Retrieved TaskBench demos when the bundled embedding model is installed, else static ones.
        self.demos = demos or default_demos()

    async def _prepare(self, conv: Conversation, offered: Collection[str]) -> tuple[list[dict], dict, int]:
        demos = await self.demos.find(conv.request, self.config.plan_demos, offered)
        history = trim_history(conv.history, self.config.history_token_budget)
        messages = plan_messages(conv.request, history, offered, demos, self.config.max_tasks)
        schema = plan_schema(offered, self.config.max_tasks)
        return messages, schema, self.config.plan_max_tokens or 64 + 96 * self.config.max_tasks

    async def plan(self, conv: Conversation, offered: Collection[str], usage: StageUsage) -> PlanOutcome:
        """Raises LLMUnavailable when the LLM cannot be reached; every other failure is a chat answer."""
        messages, schema, max_tokens = await self._prepare(conv, offered)
        reply = await self.llm.complete(messages, usage, json_schema=schema, max_tokens=max_tokens)
        try:
            plan = await asyncio.to_thread(parse_plan, reply, offered, self.config.max_tasks)
        except PlanError as first:
            return await self._retry(messages, reply, first, offered, schema, max_tokens, usage)
        return self._outcome(plan, attempts=1)

    async def stream(
        self, conv: Conversation, offered: Collection[str], usage: StageUsage, outcome: list[PlanOutcome]
    ) -> AsyncIterator[Task]:
        """Tasks as the LLM writes them (see plan_stream); ``outcome`` receives the PlanOutcome at the end.
        A reply from which nothing could be released gets the same retry as ``plan``."""
        messages, schema, max_tokens = await self._prepare(conv, offered)
        streamed = StreamedPlan(offered, self.config.max_tasks)
        deltas = self.llm.stream(messages, usage, json_schema=schema, max_tokens=max_tokens)
        async with aclosing(streamed.tasks(deltas)) as tasks:
            async for task in tasks:
                yield task
        if streamed.plan is not None:
            outcome.append(self._outcome(streamed.plan, attempts=1))
            return
        retried = await self._retry(
            messages, streamed.reply, streamed.error, offered, schema, max_tokens, usage
        )
        outcome.append(retried)
        for task in retried.plan.tasks if retried.plan else []:
            yield task

    async def _retry(
        self, messages, reply: str, error: PlanError, offered, schema, max_tokens: int, usage: StageUsage
    ) -> PlanOutcome:
        log.info("plan rejected, retrying once: %s", error)
        messages = [
            *messages,
            {"role": "assistant", "content": reply[:4000]},
            {"role": "user", "content": PLAN_RETRY.format(reasons="; ".join(error.reasons))},
        ]
        reply = await self.llm.complete(messages, usage, json_schema=schema, max_tokens=max_tokens)
        try:
            plan = await asyncio.to_thread(parse_plan, reply, offered, self.config.max_tasks)
        except PlanError as second:
            return PlanOutcome(None, f"no usable plan after one retry: {second}", attempts=2, unusable=True)
        return self._outcome(plan, attempts=2)

    @staticmethod
    def _outcome(plan: Plan, attempts: int) -> PlanOutcome:
        if not plan.tasks:
            return PlanOutcome(None, "the request needs no model (empty plan)", attempts)
        return PlanOutcome(plan, None, attempts)


class FallbackPlanner:
    """The LLM plans; when its reply stays unusable after the retry, the trained planner plans instead
    (a configured LLM that answers garbage must not turn a clear request into a chat reply)."""

    def __init__(self, primary: Planner, fallback: Planner):
        self.primary = primary
        self.fallback = fallback

    def warm(self) -> None:
        for planner in (self.primary, self.fallback):
            if warm := getattr(planner, "warm", None):
                warm()

    async def plan(self, conv: Conversation, offered: Collection[str], usage: StageUsage) -> PlanOutcome:
        outcome = await self.primary.plan(conv, offered, usage)
        if outcome.unusable:
            log.info("LLM plan unusable (%s); using the trained planner", outcome.chitchat_reason)
            return await self.fallback.plan(conv, offered, usage)
        return outcome

    async def stream(
        self, conv: Conversation, offered: Collection[str], usage: StageUsage, outcome: list[PlanOutcome]
    ) -> AsyncIterator[Task]:
        first: list[PlanOutcome] = []
        released = 0
        async with aclosing(self.primary.stream(conv, offered, usage, first)) as tasks:
            async for task in tasks:
                released += 1
                yield task
        unusable = bool(first) and first[0].unusable
        if unusable and not released:  # nothing has started: the trained planner may plan from scratch
            async with aclosing(self.fallback.stream(conv, offered, usage, outcome)) as tasks:
                async for task in tasks:
                    yield task
            return
        outcome.extend(first)
