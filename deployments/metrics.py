"""Prometheus metrics through ray.serve.metrics, which Ray exports from every replica (a plain
prometheus_client registry inside a replica is never scraped). Tags add deployment/replica/app."""

from __future__ import annotations

from dataclasses import dataclass

from ray.serve import metrics

from controller.schema import DoneEvent, Event, SelectedEvent, TaskFailedEvent, TaskFinishedEvent
from experts.remote import RemoteCall

_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
_BATCHES = [1, 2, 4, 8, 16, 32, 64]


@dataclass(frozen=True)
class Metric:
    kind: type[metrics.Counter] | type[metrics.Histogram] | type[metrics.Gauge]
    description: str
    tag_keys: tuple[str, ...]
    boundaries: list[float] | None = None  # histograms only

    def make(self, name: str):
        if self.boundaries is None:
            return self.kind(name, self.description, tag_keys=self.tag_keys)
        return self.kind(name, self.description, self.boundaries, tag_keys=self.tag_keys)


# Every metric the app exports (Ray prefixes `ray_`; the Grafana dashboard charts each of them).
METRICS: dict[str, Metric] = {
    "hugginggpt_http_requests": Metric(
        metrics.Counter, "HTTP requests by route and status", ("route", "status")
    ),
    "hugginggpt_api_requests": Metric(
        metrics.Counter, "API requests by key id and access outcome", ("key", "outcome")
    ),
    "hugginggpt_http_request_seconds": Metric(
        metrics.Histogram, "HTTP time to response start", ("route",), _SECONDS
    ),
    "hugginggpt_stage_seconds": Metric(
        metrics.Histogram, "time spent per pipeline stage", ("stage",), _SECONDS
    ),
    "hugginggpt_tasks": Metric(
        metrics.Counter, "finished tasks by task type and outcome", ("task", "outcome")
    ),
    "hugginggpt_task_seconds": Metric(
        metrics.Histogram, "expert call latency seen by the controller", ("task", "model"), _SECONDS
    ),
    "hugginggpt_selections": Metric(
        metrics.Counter, "model selections by how they were made", ("task", "how")
    ),
    "hugginggpt_llm_tokens": Metric(metrics.Counter, "LLM tokens by stage and kind", ("stage", "kind")),
    "hugginggpt_runs": Metric(
        metrics.Counter, "pipeline runs by how the answer was made", ("answer_source", "chitchat")
    ),
    "hugginggpt_expert_seconds": Metric(
        metrics.Histogram, "model run time inside the expert replica", ("model", "task"), _SECONDS
    ),
    "hugginggpt_expert_batch_size": Metric(
        metrics.Histogram, "inputs per model call", ("model", "task"), _BATCHES
    ),
    "hugginggpt_expert_errors": Metric(
        metrics.Counter, "failed expert calls by kind", ("model", "task", "kind")
    ),
    "hugginggpt_runtime_calls": Metric(
        metrics.Counter,
        "expert calls by where they ran (runtime local/remote, provider) and outcome",
        ("runtime", "provider", "outcome"),
    ),
    "hugginggpt_runtime_seconds": Metric(
        metrics.Histogram, "expert call latency by runtime and provider", ("runtime", "provider"), _SECONDS
    ),
    "hugginggpt_overflows": Metric(
        metrics.Counter,
        "tasks sent to a remote endpoint because the local queue was full",
        ("task", "provider"),
    ),
    "hugginggpt_fallbacks": Metric(
        metrics.Counter, "tasks that ran on their next candidate after the first failed", ("task", "runtime")
    ),
    "hugginggpt_remote_calls": Metric(
        metrics.Counter,
        "remote inference calls by provider, API key (its env variable or Secret, never the token) and outcome",
        ("provider", "key", "outcome"),
    ),
}


def _make(name: str):
    return METRICS[name].make(name)


class ServeMetrics:
    """The ingress's view: HTTP requests, stages, tasks by type and outcome, LLM tokens."""

    def __init__(self) -> None:
        self.requests = _make("hugginggpt_http_requests")
        self.request_seconds = _make("hugginggpt_http_request_seconds")
        self.api_requests = _make("hugginggpt_api_requests")
        self.stage_seconds = _make("hugginggpt_stage_seconds")
        self.tasks = _make("hugginggpt_tasks")
        self.task_seconds = _make("hugginggpt_task_seconds")
        self.selections = _make("hugginggpt_selections")
        self.llm_tokens = _make("hugginggpt_llm_tokens")
        self.runs = _make("hugginggpt_runs")
        self.runtime_calls = _make("hugginggpt_runtime_calls")
        self.runtime_seconds = _make("hugginggpt_runtime_seconds")
        self.overflows = _make("hugginggpt_overflows")
        self.fallbacks = _make("hugginggpt_fallbacks")
        self.remote_calls = _make("hugginggpt_remote_calls")

    def remote_call(self, call: RemoteCall) -> None:
        """Fed by RemoteExperts after every remote call (retries included in one call)."""
        self.remote_calls.inc(tags={"provider": call.provider, "key": call.key, "outcome": call.outcome})

    def request(self, route: str, status: int, seconds: float) -> None:
        self.requests.inc(tags={"route": route, "status": str(status)})
        self.request_seconds.observe(seconds, tags={"route": route})

    def access(self, key_id: str, outcome: str) -> None:
        self.api_requests.inc(tags={"key": key_id, "outcome": outcome})

    def event(self, event: Event) -> None:
        if isinstance(event, TaskFinishedEvent | TaskFailedEvent):
            r = event.result
            self.tasks.inc(tags={"task": r.task, "outcome": r.status})
            if r.model_id and r.status in ("ok", "failed", "timeout"):
                self.task_seconds.observe(r.elapsed_s, tags={"task": r.task, "model": r.model_id})
            if r.ran_on:
                runtime, _, provider = r.ran_on.partition(" ")
                where = {"runtime": runtime, "provider": provider.strip("()") or "cluster"}
                self.runtime_calls.inc(tags={**where, "outcome": r.status})
                self.runtime_seconds.observe(r.elapsed_s, tags=where)
                if r.overflow:
                    self.overflows.inc(tags={"task": r.task, "provider": where["provider"]})
                if r.fallback:
                    self.fallbacks.inc(tags={"task": r.task, "runtime": runtime})
        elif isinstance(event, SelectedEvent):
            s = event.selection
            how = "none" if s.model_id is None else ("llm" if s.llm_used else "ranked")
            self.selections.inc(tags={"task": s.task, "how": how})
        elif isinstance(event, DoneEvent):
            for key, seconds in event.timings.items():
                self.stage_seconds.observe(seconds, tags={"stage": key.removesuffix("_s")})
            for stage, usage in event.usage.items():
                if usage.prompt_tokens:
                    self.llm_tokens.inc(usage.prompt_tokens, tags={"stage": stage, "kind": "prompt"})
                if usage.completion_tokens:
                    self.llm_tokens.inc(usage.completion_tokens, tags={"stage": stage, "kind": "completion"})
            self.runs.inc(
                tags={"answer_source": event.answer_source, "chitchat": str(event.chitchat).lower()}
            )


class ExpertMetrics:
    """An expert replica's view: model latency, batch sizes, failures."""

    def __init__(self, model_id: str, task: str) -> None:
        self.tags = {"model": model_id, "task": task}
        self.seconds = _make("hugginggpt_expert_seconds")
        self.batch_size = _make("hugginggpt_expert_batch_size")
        self.errors = _make("hugginggpt_expert_errors")

    def ran(self, seconds: float, batch: int) -> None:
        self.seconds.observe(seconds, tags=self.tags)
        self.batch_size.observe(batch, tags=self.tags)

    def failed(self, kind: str) -> None:
        self.errors.inc(tags={**self.tags, "kind": kind})
