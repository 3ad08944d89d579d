"""A file the user names and also attaches ("Describe cat.jpg" with cat.jpg attached) is that attachment,
whichever planner wrote the plan. The attachment reaches the planner only as ``[attached image: <URL>]``, so
an LLM copies the name it reads ("cat.jpg"), which no expert can open; this wrapper puts the URL there."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import aclosing

from controller.messages import Conversation
from controller.planning import Planner, PlanOutcome
from controller.schema import StageUsage, Task
from controller.trained_planner.arguments import named_attachments
from experts.tasks import TASK_TYPES


def bind_task(task: Task, names: dict[str, str]) -> Task:
    """``task`` with each media input that names an attached file replaced by the file's URL."""
    spec = TASK_TYPES.get(task.task)
    if spec is None or not names:
        return task
    args = dict(task.args)
    for inp in spec.inputs:
        value = args.get(inp.name)
        if inp.kind != "text" and isinstance(value, str) and value.strip().lower() in names:
            args[inp.name] = names[value.strip().lower()]
    return task if args == task.args else task.model_copy(update={"args": args})


class AttachedFiles:
    """Wraps a planner: its tasks reach the scheduler with named attachments bound to their URLs."""

    def __init__(self, inner: Planner):
        self.inner = inner

    def warm(self) -> None:
        if warm := getattr(self.inner, "warm", None):
            warm()

    async def plan(self, conv: Conversation, offered: Collection[str], usage: StageUsage) -> PlanOutcome:
        outcome = await self.inner.plan(conv, offered, usage)
        _bind_outcome(outcome, named_attachments(conv.request, conv.history))
        return outcome

    async def stream(
        self, conv: Conversation, offered: Collection[str], usage: StageUsage, outcome: list[PlanOutcome]
    ) -> AsyncIterator[Task]:
        names = named_attachments(conv.request, conv.history)
        async with aclosing(self.inner.stream(conv, offered, usage, outcome)) as tasks:
            async for task in tasks:
                yield bind_task(task, names)
        for o in outcome:
            _bind_outcome(o, names)


def _bind_outcome(outcome: PlanOutcome, names: dict[str, str]) -> None:
    if outcome.plan is not None and names:
        tasks = [bind_task(t, names) for t in outcome.plan.tasks]
        outcome.plan = outcome.plan.model_copy(update={"tasks": tasks})
