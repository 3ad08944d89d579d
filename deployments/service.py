"""What the HTTP API serves, without Ray: the pipeline, the artifact store, the catalog, live experts.

The Controller deployment builds one with DeploymentHandles behind it; tests and tools build one with
in-process experts. Keeping this Ray-free lets the HTTP contract be tested in milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from experts.artifacts import ArtifactStore

from controller.pipeline import HuggingGPT
from controller.schema import Event
from experts.catalog import Catalog

log = logging.getLogger(__name__)

# Serve's deployment states that take requests ("LOCAL": an in-process expert).
LIVE_STATES = frozenset({"HEALTHY", "UPSCALING", "DOWNSCALING", "LOCAL"})


class Metrics(Protocol):
    def request(self, route: str, status: int, seconds: float) -> None: ...
    def event(self, event: Event) -> None: ...


class NoMetrics:
    def request(self, route: str, status: int, seconds: float) -> None:
        pass

    def event(self, event: Event) -> None:
        pass


@dataclass
class Service:
    gpt: HuggingGPT
    store: ArtifactStore
    catalog: Catalog
    # model id -> deployment state ("HEALTHY", "UPDATING", "UNHEALTHY", ...)
    expert_states: Callable[[], Awaitable[Mapping[str, str]]]
    llm_description: str  # what /v1/models and /readyz say about the LLM
    metrics: Metrics = field(default_factory=NoMetrics)
    public_model_name: str = "hugginggpt"
    max_body_bytes: int = 25 * 1024 * 1024

    async def live_models(self) -> set[str]:
        return {m for m, state in (await self.expert_states()).items() if state in LIVE_STATES}

    def observe(self, event: Event) -> None:
        """Feed one pipeline event to the metrics; a broken metrics backend must not break a request."""
        try:
            self.metrics.event(event)
        except Exception:
            log.exception("metrics backend failed")
