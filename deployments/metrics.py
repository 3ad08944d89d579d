"""Prometheus metrics through ray.serve.metrics, which Ray exports from every replica (a plain
prometheus_client registry inside a replica is never scraped). Tags add deployment/replica/app."""

from __future__ import annotations

from ray.serve import metrics

from controller.schema import DoneEvent, Event, SelectedEvent, TaskFailedEvent, TaskFinishedEvent

_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]


class ServeMetrics:
    """The controller's view: HTTP requests, stages, tasks by type and outcome, LLM tokens."""

    def __init__(self) -> None:
        self.requests = metrics.Counter(
            "hugginggpt_http_requests", "HTTP requests by route and status", tag_keys=("route", "status")
        )
        self.request_seconds = metrics.Histogram(
            "hugginggpt_http_request_seconds", "HTTP time to response start", _SECONDS, tag_keys=("route",)
        )
        self.stage_seconds = metrics.Histogram(
            "hugginggpt_stage_seconds", "time spent per pipeline stage", _SECONDS, tag_keys=("stage",)
        )
        self.tasks = metrics.Counter(
            "hugginggpt_tasks", "finished tasks by task type and outcome", tag_keys=("task", "outcome")
        )
        self.task_seconds = metrics.Histogram(
            "hugginggpt_task_seconds",
            "expert call latency seen by the controller",
            _SECONDS,
            tag_keys=("task", "model"),
        )
        self.selections = metrics.Counter(
            "hugginggpt_selections", "model selections by how they were made", tag_keys=("task", "how")
        )
        self.llm_tokens = metrics.Counter(
            "hugginggpt_llm_tokens", "LLM tokens by stage and kind", tag_keys=("stage", "kind")
        )
        self.runs = metrics.Counter(
            "hugginggpt_runs",
            "pipeline runs by how the answer was made",
            tag_keys=("answer_source", "chitchat"),
        )

    def request(self, route: str, status: int, seconds: float) -> None:
        self.requests.inc(tags={"route": route, "status": str(status)})
        self.request_seconds.observe(seconds, tags={"route": route})

    def event(self, event: Event) -> None:
        if isinstance(event, TaskFinishedEvent | TaskFailedEvent):
            r = event.result
            self.tasks.inc(tags={"task": r.task, "outcome": r.status})
            if r.model_id and r.status in ("ok", "failed", "timeout"):
                self.task_seconds.observe(r.elapsed_s, tags={"task": r.task, "model": r.model_id})
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
        self.seconds = metrics.Histogram(
            "hugginggpt_expert_seconds",
            "model run time inside the expert replica",
            _SECONDS,
            tag_keys=("model", "task"),
        )
        self.batch_size = metrics.Histogram(
            "hugginggpt_expert_batch_size",
            "inputs per model call",
            [1, 2, 4, 8, 16, 32, 64],
            tag_keys=("model", "task"),
        )
        self.errors = metrics.Counter(
            "hugginggpt_expert_errors", "failed expert calls by kind", tag_keys=("model", "task", "kind")
        )

    def ran(self, seconds: float, batch: int) -> None:
        self.seconds.observe(seconds, tags=self.tags)
        self.batch_size.observe(batch, tags=self.tags)

    def failed(self, kind: str) -> None:
        self.errors.inc(tags={**self.tags, "kind": kind})
