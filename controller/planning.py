"""Stage 1: ask the LLM for a plan, repair what can be repaired, retry once, else fall back to chat."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from contextlib import aclosing
from dataclasses import dataclass

from controller.config import ControllerConfig
from controller.demos import DemoSource, StaticDemos
from controller.llm import LLMClient
from controller.messages import Conversation, trim_history
from controller.plan_parser import parse_plan
from controller.plan_stream import StreamedPlan
from controller.prompts import PLAN_RETRY, plan_messages, plan_schema
from controller.schema import Plan, PlanError, StageUsage, Task

log = logging.getLogger(__name__)


@dataclass
class PlanOutcome:
    plan: Plan | None  # None: answer as a plain chat (see chitchat_reason)
    chitchat_reason: str | None = None
    attempts: int = 1


class Planner:
    def __init__(self, llm: LLMClient, config: ControllerConfig, demos: DemoSource | None = None):
        self.llm = llm
        self.config = config
        self.demos = demos or StaticDemos()

    async def _prepare(self, conv: Conversation, offered: Collection[str]) -> tuple[list[dict], dict, int]:
        demos = await self.demos.find(conv.request, self.config.plan_demos, offered)
        history = trim_history(conv.history, self.config.history_token_budget)
        messages = plan_messages(conv.request, history, offered, demos, self.config.max_tasks)
        schema = plan_schema(offered, self.config.max_tasks)
        return messages, schema, 160 * self.config.max_tasks + 64

    async def plan(self, conv: Conversation, offered: Collection[str], usage: StageUsage) -> PlanOutcome:
        """Raises LLMUnavailable when the LLM cannot be reached; every other failure is a chat answer."""
        messages, schema, max_tokens = await self._prepare(conv, offered)
        reply = await self.llm.complete(messages, usage, json_schema=schema, max_tokens=max_tokens)
        try:
            plan = parse_plan(reply, offered, self.config.max_tasks)
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
            plan = parse_plan(reply, offered, self.config.max_tasks)
        except PlanError as second:
            return PlanOutcome(None, f"no usable plan after one retry: {second}", attempts=2)
        return self._outcome(plan, attempts=2)

    @staticmethod
    def _outcome(plan: Plan, attempts: int) -> PlanOutcome:
        if not plan.tasks:
            return PlanOutcome(None, "the request needs no model (empty plan)", attempts)
        return PlanOutcome(plan, None, attempts)
