"""What the HTTP API serves, without Ray: the pipeline, the artifact store, the catalog, live experts.

The ingress deployment builds one with DeploymentHandles behind it; tests and tools build one with
in-process experts. Keeping this Ray-free lets the HTTP contract be tested in milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from controller.pipeline import HuggingGPT
from controller.schema import Event
from deployments.http.security import AccessPolicy, AccessState
from experts.artifacts import ArtifactStore
from experts.catalog import Catalog

log = logging.getLogger(__name__)

# States of an expert that takes requests: Serve's deployment states, "LOCAL" (an in-process expert),
# "REMOTE" (a remote endpoint not marked unavailable).
LIVE_STATES = frozenset({"HEALTHY", "UPSCALING", "DOWNSCALING", "ON_DEMAND", "LOCAL", "REMOTE"})


def live(states: Mapping[str, str]) -> set[str]:
    return {m for m, state in states.items() if state in LIVE_STATES}


class Metrics(Protocol):
    def request(self, route: str, status: int, seconds: float) -> None: ...
    def access(self, key_id: str, outcome: str) -> None: ...
    def event(self, event: Event) -> None: ...


class NoMetrics:
    def request(self, route: str, status: int, seconds: float) -> None:
        pass

    def access(self, key_id: str, outcome: str) -> None:
        pass

    def event(self, event: Event) -> None:
        pass


@dataclass
class Service:
    gpt: HuggingGPT
    store: ArtifactStore
    catalog: Catalog
    # model id -> local deployment state ("HEALTHY", "UPDATING", "UNHEALTHY", ...)
    expert_states: Callable[[], Awaitable[Mapping[str, str]]]
    llm_description: str  # what /v1/models and /readyz say about the LLM
    llm_ready: bool = True  # False: no LLM is configured; chat routes answer 503 with what to set
    # model id -> {status, provider} of its remote endpoint (remote / hybrid inference)
    remote_states: Callable[[], Mapping[str, Mapping[str, str]]] = dict
    metrics: Metrics = field(default_factory=NoMetrics)
    public_model_name: str = "hugginggpt"
    max_body_bytes: int = 25 * 1024 * 1024
    max_active_requests: int = 64  # pipeline runs at once; one more is refused with 503 + Retry-After
    access: AccessState = field(default_factory=lambda: AccessState(AccessPolicy()))

    async def states(self) -> dict[str, str]:
        """Every expert's state: its local deployment's, else its remote endpoint's."""
        remote = {m: s["status"] for m, s in self.remote_states().items()}
        return {**remote, **(await self.expert_states())}

    async def live_models(self) -> set[str]:
        return live(await self.states())

    def observe(self, event: Event) -> None:
        """Feed one pipeline event to the metrics; a broken metrics backend must not break a request."""
        try:
            self.metrics.event(event)
        except Exception:
            log.exception("metrics backend failed")


# One Service per process. Kept behind module functions: Ray pickles the deployment class by value
# (its globals are copies), but functions of an importable module travel by reference.
_current: Service | None = None


def set_current_service(service: Service) -> None:
    global _current
    _current = service


def current_service() -> Service:
    if _current is None:
        raise RuntimeError("the service has not finished starting")
    return _current
