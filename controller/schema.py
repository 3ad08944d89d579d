"""The controller's data contracts: tasks, plans (validated DAGs), results and the event stream."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A literal argument value, or a string that holds references such as "<GENERATED>-0".
ArgValue = str | int | float | bool | list[str]

# Canonical spelling of a reference to task N's output once a plan is parsed.
REF_TEMPLATE = "<GENERATED>-{}"
REF_PATTERN = re.compile(r"<GENERATED>-(\d{1,9})(?!\d)")  # ids are small; int() of a huge one fails


def ref(task_id: int) -> str:
    return REF_TEMPLATE.format(task_id)


def refs_in(value: ArgValue) -> list[int]:
    """Task ids that a (canonical) argument value references, in order of appearance."""
    if isinstance(value, list):
        return [i for v in value for i in refs_in(v)]
    if isinstance(value, str):
        return [int(m) for m in REF_PATTERN.findall(value)]
    return []


class Task(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int = Field(ge=0)
    task: str
    dep: list[int] = Field(default_factory=list)
    args: dict[str, ArgValue] = Field(default_factory=dict)

    def references(self) -> set[int]:
        return {i for v in self.args.values() for i in refs_in(v)}


class PlanError(ValueError):
    """A plan that cannot be executed; ``reasons`` say why, in words fit to show the LLM."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


class Plan(BaseModel):
    """A DAG of tasks: unique ids, deps that exist, no cycles. ``repairs`` records what parsing fixed."""

    tasks: list[Task]
    repairs: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_dag(self) -> Plan:
        ids = [t.id for t in self.tasks]
        problems: list[str] = []
        if len(ids) != len(set(ids)):
            problems.append("task ids are not unique")
        known = set(ids)
        for t in self.tasks:
            for d in t.dep:
                if d not in known:
                    problems.append(f"task {t.id} depends on task {d}, which does not exist")
                if d == t.id:
                    problems.append(f"task {t.id} depends on itself")
        if problems:
            raise PlanError(problems)
        if cycle := find_cycle({t.id: t.dep for t in self.tasks}):
            raise PlanError(["the tasks form a cycle: " + " -> ".join(map(str, cycle))])
        return self

    def by_id(self) -> dict[int, Task]:
        return {t.id: t for t in self.tasks}

    def dependants(self, task_id: int) -> list[int]:
        return [t.id for t in self.tasks if task_id in t.dep]

    def edges(self) -> list[tuple[int, int]]:
        return [(d, t.id) for t in self.tasks for d in t.dep]


def find_cycle(deps: dict[int, list[int]]) -> list[int] | None:
    """One cycle in a dependency map as a list of ids (first == last), or None."""
    state: dict[int, int] = {}  # 1 = on the stack, 2 = done
    stack: list[int] = []

    def visit(node: int) -> list[int] | None:
        state[node] = 1
        stack.append(node)
        for d in deps.get(node, []):
            if state.get(d) == 1:
                return [*stack[stack.index(d) :], d]
            if d in deps and d not in state and (found := visit(d)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for n in deps:
        if n not in state and (found := visit(n)):
            return found
    return None


# --- Chat input -------------------------------------------------------------------------------


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ImageURL(BaseModel):
    url: str


class ImagePart(BaseModel):
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(BaseModel):
    data: str  # base64
    format: str = "wav"


class AudioPart(BaseModel):
    type: Literal["input_audio"]
    input_audio: InputAudio


ContentPart = Annotated[TextPart | ImagePart | AudioPart, Field(discriminator="type")]


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[ContentPart] | None = None


# --- Selection and results --------------------------------------------------------------------


Runtime = Literal["local", "remote"]


class Route(BaseModel):
    """Where a model can run: a live local replica (its deployment or the pool), or a remote endpoint."""

    model_id: str
    runtime: Runtime = "local"
    provider: str | None = None  # remote: the provider, or the dedicated endpoint's name

    @property
    def ran_on(self) -> str:
        """How answers and events say it: ``local`` or ``remote (provider)``."""
        return "local" if self.runtime == "local" else f"remote ({self.provider})"


class Selection(BaseModel):
    task_id: int
    task: str
    model_id: str | None  # None: no live model can run this task
    reason: str
    candidates: list[str] = Field(default_factory=list)
    llm_used: bool = False
    # Where the chosen model runs first, then the fallbacks in order (local replicas before remote ones).
    routes: list[Route] = Field(default_factory=list)
    placement: str | None = None  # why it runs where it does


TaskStatus = Literal["ok", "failed", "skipped", "timeout"]
# Why a task did not succeed, for callers that act on it (HTTP 503 when experts were unavailable).
TaskErrorCode = Literal[
    "expert_unavailable",
    "bad_input",
    "bad_output",
    "timeout",
    "deadline_exceeded",
    "upstream_failed",
    "storage_full",
    "storage_unavailable",
    "internal",
]


class TaskResult(BaseModel):
    task_id: int
    task: str
    model_id: str | None = None
    status: TaskStatus
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    error_code: TaskErrorCode | None = None
    elapsed_s: float = 0.0
    ran_on: str | None = None  # "local" or "remote (provider)"; None when no expert was called
    # Set when the chosen model failed (not through the input's fault) and the next candidate ran instead.
    fallback: str | None = None
    overflow: bool = False  # the local expert's queue was full, so the task went to a remote endpoint


class StageUsage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


# --- Events -----------------------------------------------------------------------------------


class PlanEvent(BaseModel):
    type: Literal["plan"] = "plan"
    tasks: list[Task]
    repairs: list[str] = Field(default_factory=list)
    chitchat: bool = False
    chitchat_reason: str | None = None


class PlannedTaskEvent(BaseModel):
    """One task of a plan still being streamed (stream_plan): it may start before the `plan` event."""

    type: Literal["planned_task"] = "planned_task"
    task: Task


class SelectedEvent(BaseModel):
    type: Literal["selected"] = "selected"
    selection: Selection


class TaskStartedEvent(BaseModel):
    type: Literal["task_started"] = "task_started"
    task_id: int
    task: str
    model_id: str
    ran_on: str = "local"  # a fallback starts the task again, on its next candidate


class TaskFinishedEvent(BaseModel):
    type: Literal["task_finished"] = "task_finished"
    result: TaskResult


class TaskFailedEvent(BaseModel):
    type: Literal["task_failed"] = "task_failed"
    result: TaskResult


class AnswerDeltaEvent(BaseModel):
    type: Literal["answer_delta"] = "answer_delta"
    delta: str


ErrorCode = Literal[
    "invalid_request",  # the caller's messages are unusable (empty, too long, bad content)
    "llm_unavailable",  # the LLM could not be reached or kept failing
    "deadline_exceeded",  # the request's deadline passed before a stage finished
    "storage_full",  # the artifact store is full (disk or quota)
    "storage_unavailable",  # the artifact store is read-only or unreachable
    "internal",
]


class ErrorEvent(BaseModel):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    stage: str | None = None


class DoneEvent(BaseModel):
    type: Literal["done"] = "done"
    answer: str
    chitchat: bool = False
    # llm: written by the LLM; grounded: written from the results (or a question for a missing input)
    # without an LLM; fallback: the LLM failed and the results are listed; none: no answer was asked for
    answer_source: Literal["llm", "fallback", "grounded", "none"] = "llm"
    tasks: list[Task] = Field(default_factory=list)
    selections: list[Selection] = Field(default_factory=list)
    results: list[TaskResult] = Field(default_factory=list)
    usage: dict[str, StageUsage] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)


Event = Annotated[
    PlanEvent
    | PlannedTaskEvent
    | SelectedEvent
    | TaskStartedEvent
    | TaskFinishedEvent
    | TaskFailedEvent
    | AnswerDeltaEvent
    | ErrorEvent
    | DoneEvent,
    Field(discriminator="type"),
]
