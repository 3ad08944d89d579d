"""LLMCompiler-style planning: read the plan while the LLM writes it and hand each task to the scheduler
as soon as its JSON object is complete and the plan so far is a valid DAG.

A task is released only when every task it references has been released, so the scheduler never sees
a dangling dependency. When the whole reply turns out unusable, tasks already released keep running
and the plan is cut to them (recorded as a repair); when nothing was released, the planner's ordinary
retry-then-chat path takes over.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from typing import Any

from controller.jsonish import JSONishError, loads_lenient
from controller.llm import LLMUnavailable
from controller.plan_parser import parse_plan, plan_from_data
from controller.schema import Plan, PlanError, Task

log = logging.getLogger(__name__)


class TaskObjectScanner:
    """Fed text deltas, returns each top-level object of the plan's task list once its closing brace
    arrives. Understands ``{"tasks": [{...}, ...]}`` and a bare ``[{...}, ...]``."""

    def __init__(self) -> None:
        self.text = ""
        self._pos = 0
        self._in_list = False
        self._depth = 0  # nesting inside the task list
        self._start = -1
        self._string: str | None = None
        self._escaped = False

    def feed(self, delta: str) -> list[str]:
        self.text += delta
        found: list[str] = []
        while self._pos < len(self.text):
            c = self.text[self._pos]
            if self._string:
                if self._escaped:
                    self._escaped = False
                elif c == "\\":
                    self._escaped = True
                elif c == self._string:
                    self._string = None
            elif c == '"':
                self._string = c
            elif not self._in_list:
                self._in_list = c == "["
            elif c in "{[":
                if self._depth == 0 and c == "{":
                    self._start = self._pos
                self._depth += 1
            elif c in "}]":
                if self._depth == 0:  # the task list closed
                    self._in_list = False
                else:
                    self._depth -= 1
                    if self._depth == 0 and c == "}" and self._start >= 0:
                        found.append(self.text[self._start : self._pos + 1])
                        self._start = -1
            self._pos += 1
        return found


class StreamedPlan:
    """Tasks released while the reply streams; ``plan`` and ``error`` are set when the stream ends."""

    def __init__(self, offered: Collection[str], max_tasks: int):
        self.offered = offered
        self.max_tasks = max_tasks
        self.released: list[Task] = []
        self.plan: Plan | None = None
        self.error: PlanError | None = None
        self.reply = ""

    async def tasks(self, deltas: AsyncIterator[str]) -> AsyncIterator[Task]:
        scanner = TaskObjectScanner()
        items: list[dict[str, Any]] = []
        try:
            async for delta in deltas:
                for raw in scanner.feed(delta):
                    try:
                        item = loads_lenient(raw)
                    except JSONishError:
                        continue  # the final parse of the whole reply reports it
                    if isinstance(item, dict):
                        items.append(item)
                        for task in self._releasable(items):
                            yield task
        except LLMUnavailable as e:
            if not self.released:
                raise
            # Tasks already running keep their results; the plan is what arrived before the break.
            self.plan = Plan(
                tasks=self.released, repairs=[f"the plan stream broke off ({e}); kept the tasks before it"]
            )
            return
        self.reply = scanner.text
        for task in self._finish():
            yield task

    def _releasable(self, items: list[dict[str, Any]]) -> list[Task]:
        try:
            prefix = plan_from_data(items, self.offered, self.max_tasks)
        except PlanError:
            return []  # e.g. a reference to a task not written yet: wait for more of the plan
        return self._new(prefix)

    def _new(self, plan: Plan) -> list[Task]:
        seen = {t.id for t in self.released}
        fresh = _producers_first([t for t in plan.tasks if t.id not in seen])
        self.released += fresh
        return fresh

    def _finish(self) -> list[Task]:
        try:
            whole = parse_plan(self.reply, self.offered, self.max_tasks)
        except PlanError as e:
            if not self.released:
                self.error = e
                return []
            self.plan = Plan(tasks=self.released, repairs=[f"the rest of the streamed plan was dropped: {e}"])
            return []
        fresh = self._new(whole)
        # Released tasks ran as released; the final plan reports those versions.
        self.plan = Plan(tasks=self.released, repairs=whole.repairs)
        return fresh


def _producers_first(tasks: list[Task]) -> list[Task]:
    """The scheduler takes a task only after every task it depends on: a consumer written before its
    producer (``{"id": 0, ... "<GENERATED>-1"}`` first) is released right after it."""
    ordered: list[Task] = []
    pending = list(tasks)
    while pending:
        waiting = {t.id for t in pending}
        ready = [t for t in pending if not waiting.intersection(t.dep)] or pending  # plans are acyclic
        ordered += ready
        pending = [t for t in pending if t not in ready]
    return ordered
