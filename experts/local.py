"""In-process expert invocation: the ``ExpertInvoker`` that the controller's tests, the benchmarks and
tools use without Ray. Production swaps this for Ray Serve deployment handles with the same signature.

Each model loads once, on first use, under a per-model lock, into the same ``ExpertHost`` the
deployments serve; calls run on worker threads so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from experts.adapters import Expert, ExpertContext
from experts.catalog import Catalog, load_catalog
from experts.errors import ExpertUnavailable
from experts.host import ExpertHost


class LocalExperts:
    def __init__(self, catalog: Catalog | None = None, ctx: ExpertContext | None = None):
        self.catalog = catalog or load_catalog()
        self.ctx = ctx or ExpertContext()
        self._hosts: dict[str, ExpertHost] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def host(self, model_id: str) -> ExpertHost:
        """The loaded host for ``model_id`` (blocking on first use)."""
        if model_id in self._hosts:
            return self._hosts[model_id]
        spec = self.catalog.get(model_id)
        if spec is None:
            raise ExpertUnavailable(f"model {model_id!r} is not in the {self.catalog.profile or ''} catalog")
        with self._guard:
            lock = self._locks.setdefault(model_id, threading.Lock())
        with lock:
            if model_id not in self._hosts:
                self._hosts[model_id] = ExpertHost(spec, self.ctx)
        return self._hosts[model_id]

    def expert(self, model_id: str) -> Expert:
        """The loaded adapter for ``model_id`` (blocking on first use)."""
        return self.host(model_id).expert

    def loaded(self) -> list[str]:
        return list(self._hosts)

    async def invoke(self, model_id: str, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        host = await asyncio.to_thread(self.host, model_id)
        return await host.run(task, inputs)

    async def invoke_batch(
        self, model_id: str, task: str, batch: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        host = await asyncio.to_thread(self.host, model_id)
        return await host.run_batch(task, batch)
