"""One loaded expert and the rules every server of it follows: load once, check the task (with the task
registry's aliases), run one input or a batch on a worker thread, name a failure with a metrics code.

The Ray deployments (a dedicated model, the multiplexed pool) and the in-process ``LocalExperts`` all
serve an ``ExpertHost``, so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
from typing import Any

from experts.adapters import Expert, ExpertContext, load
from experts.catalog import ModelSpec
from experts.errors import ExpertError, ExpertInputError
from experts.tasks import normalize_task_name


def failure_code(e: Exception) -> str:
    """The metrics label of a failed call: the caller's fault (``bad_input``), an expert error's code, or
    ``internal``."""
    if isinstance(e, ExpertInputError):
        return "bad_input"
    return e.code if isinstance(e, ExpertError) else "internal"


class ExpertHost:
    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        """Loads the model (blocking: seconds for a real one; call it on a thread from async code)."""
        self.spec = spec
        self.expert: Expert = load(spec, ctx)

    @property
    def task(self) -> str:
        return self.expert.task.name

    @property
    def batchable(self) -> bool:
        """Whether the adapter's model takes a batch at once (the others gain nothing from batching)."""
        return type(self.expert)._run_batch is not Expert._run_batch

    def check_task(self, task: str) -> None:
        """Refuse a task this model does not serve; a planner's alias of the right task is fine."""
        if normalize_task_name(task) != self.task:
            raise ExpertInputError(f"{self.spec.id} runs {self.task}, not {task}")

    async def run(self, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        self.check_task(task)
        return await asyncio.to_thread(self.expert.run, inputs)

    async def run_batch(self, task: str, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.check_task(task)
        return await asyncio.to_thread(self.expert.run_batch, batch)
