"""Stage 1: ask the LLM for a plan, repair what can be repaired, retry once, else fall back to chat."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from controller.config import ControllerConfig
from controller.demos import DemoSource
from controller.llm import LLMClient
from controller.messages import Conversation, trim_history
from controller.plan_parser import parse_plan
from controller.prompts import PLAN_RETRY, plan_messages, plan_schema
from controller.retrieval import default_demos
from controller.schema import Plan, PlanError, StageUsage

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
        # Retrieved TaskBench demos when the bundled embedding model is installed, else static ones.
        self.demos = demos or default_demos()

    async def plan(self, conv: Conversation, offered: Collection[str], usage: StageUsage) -> PlanOutcome:
        """Raises LLMUnavailable when the LLM cannot be reached; every other failure is a chat answer."""
        demos = await self.demos.find(conv.request, self.config.plan_demos, offered)
        history = trim_history(conv.history, self.config.history_token_budget)
        messages = plan_messages(conv.request, history, offered, demos, self.config.max_tasks)
        schema = plan_schema(offered, self.config.max_tasks)
        max_tokens = 160 * self.config.max_tasks + 64
        reply = await self.llm.complete(messages, usage, json_schema=schema, max_tokens=max_tokens)
        try:
            plan = parse_plan(reply, offered, self.config.max_tasks)
        except PlanError as first:
            log.info("plan rejected, retrying once: %s", first)
            messages += [
                {"role": "assistant", "content": reply[:4000]},
                {"role": "user", "content": PLAN_RETRY.format(reasons="; ".join(first.reasons))},
            ]
            reply = await self.llm.complete(messages, usage, json_schema=schema, max_tokens=max_tokens)
            try:
                plan = parse_plan(reply, offered, self.config.max_tasks)
            except PlanError as second:
                return PlanOutcome(None, f"no usable plan after one retry: {second}", attempts=2)
            return self._outcome(plan, attempts=2)
        return self._outcome(plan, attempts=1)

    @staticmethod
    def _outcome(plan: Plan, attempts: int) -> PlanOutcome:
        if not plan.tasks:
            return PlanOutcome(None, "the request needs no model (empty plan)", attempts)
        return PlanOutcome(plan, None, attempts)
