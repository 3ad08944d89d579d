"""In-process expert invocation: the ``ExpertInvoker`` the controller's tests and ``make run`` use.

Each model loads once, on first use, under a per-model lock; calls run on worker threads so the
event loop stays free. Production swaps this for Ray Serve deployment handles with the same signature.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from experts.adapters import Expert, ExpertContext, load
from experts.catalog import Catalog, load_catalog
from experts.errors import ExpertInputError, ExpertUnavailable
from experts.tasks import normalize_task_name


class LocalExperts:
    def __init__(self, catalog: Catalog | None = None, ctx: ExpertContext | None = None):
        self.catalog = catalog or load_catalog()
        self.ctx = ctx or ExpertContext()
        self._experts: dict[str, Expert] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def expert(self, model_id: str) -> Expert:
        """The loaded expert for ``model_id`` (blocking on first use)."""
        if model_id in self._experts:
            return self._experts[model_id]
        spec = self.catalog.get(model_id)
        if spec is None:
            raise ExpertUnavailable(f"model {model_id!r} is not in the {self.catalog.profile or ''} catalog")
        with self._guard:
            lock = self._locks.setdefault(model_id, threading.Lock())
        with lock:
            if model_id not in self._experts:
                self._experts[model_id] = load(spec, self.ctx)
        return self._experts[model_id]

    def loaded(self) -> list[str]:
        return list(self._experts)

    def _checked_expert(self, model_id: str, task: str) -> Expert:
        expert = self.expert(model_id)
        wanted = normalize_task_name(task)
        if wanted != expert.task.name:
            raise ExpertInputError(f"model {model_id!r} serves {expert.task.name}, not {task!r}")
        return expert

    async def invoke(self, model_id: str, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        expert = await asyncio.to_thread(self._checked_expert, model_id, task)
        return await asyncio.to_thread(expert.run, inputs)

    async def invoke_batch(
        self, model_id: str, task: str, batch: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        expert = await asyncio.to_thread(self._checked_expert, model_id, task)
        return await asyncio.to_thread(expert.run_batch, batch)
