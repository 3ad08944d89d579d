"""The four stages chained into one event stream: plan -> select -> execute -> respond.

HTTP streaming, the web page, the CLI and the metrics all consume these events. Every run ends with
exactly one ``done`` event; failures before it arrive as ``error`` events, never as exceptions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from controller.config import ControllerConfig
from controller.deadline import Deadline, until_deadline
from controller.demos import DemoSource
from controller.execution import ExpertInvoker, PollingScheduler, RemoteInvoker, Scheduler
from controller.grounding import LinkGuard, artifact_ids, chat_history_for_small_model, guard_links
from controller.llm import LLMClient, LLMUnavailable
from controller.messages import AttachmentStore, Conversation, RequestError, read_conversation, trim_history
from controller.planner_choice import choose_planner
from controller.planning import Planner, PlanOutcome
from controller.prompts import chat_messages
from controller.response import fallback_answer, grounded_answer, report, stream_answer
from controller.schema import (
    AnswerDeltaEvent,
    ChatMessage,
    DoneEvent,
    ErrorEvent,
    Event,
    Plan,
    PlanEvent,
    PlannedTaskEvent,
    SelectedEvent,
    Selection,
    StageUsage,
    Task,
    TaskFailedEvent,
    TaskFinishedEvent,
    TaskResult,
)
from controller.selection import ModelSelector
from experts.catalog import Catalog
from experts.errors import StorageError

log = logging.getLogger(__name__)

Until = Literal["plan", "results", "answer"]
LiveModels = Callable[[], Awaitable[Collection[str]]]
# A chat reply from the embedded 135M model: ~190 words at most (~16 s on 2 cores); past that it repeats.
SMALL_CHAT_TOKENS = 256


class HuggingGPT:
    def __init__(
        self,
        config: ControllerConfig,
        llm: LLMClient,
        catalog: Catalog,
        invoker: ExpertInvoker,
        live_models: LiveModels,
        attachments: AttachmentStore | None = None,
        demos: DemoSource | None = None,
        planner: Planner | None = None,
        llm_embedded: bool = False,
        remote: RemoteInvoker | None = None,
    ):
        self.config = config
        self.llm = llm
        self.catalog = catalog
        self.live_models = live_models
        self.remote = remote  # remote / hybrid inference: models on Hugging Face endpoints
        self.attachments = attachments
        self.planner: Planner = planner or choose_planner(config, llm, demos, llm_embedded)
        # Without a capable LLM the answer is written from the results themselves (grounded, instant).
        self.grounded_answer = config.answer == "grounded" or (config.answer == "auto" and llm_embedded)
        self.small_llm = llm_embedded
        self.selector = ModelSelector(llm, catalog, config.selection_top_k)
        if config.scheduler == "polling":
            self.scheduler: Scheduler = PollingScheduler(
                invoker, config.task_timeout_s, config.artifact_url_prefix, config.polling_interval_s, remote
            )
        else:
            self.scheduler = Scheduler(invoker, config.task_timeout_s, config.artifact_url_prefix, remote)

    async def offered_tasks(self) -> tuple[set[str], Available]:
        """(task types with at least one live local or reachable remote model, where the models run)."""
        available = Available(
            set(await self.live_models()), dict(self.remote.reachable()) if self.remote else {}
        )
        return {m.task for m in self.catalog if m.id in available}, available

    async def run(
        self,
        messages: Sequence[ChatMessage | dict[str, Any]],
        until: Until = "answer",
        deadline: Deadline | None = None,
    ) -> AsyncIterator[Event]:
        run = _Run(deadline or self.config.deadline())
        try:
            msgs = [m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m) for m in messages]
            conv = read_conversation(
                msgs,
                max_chars=self.config.max_message_chars,
                store=self.attachments,
                url_prefix=self.config.artifact_url_prefix,
            )
        except (RequestError, ValidationError) as e:
            yield ErrorEvent(code="invalid_request", message=_readable(e))
            yield run.done(answer="", answer_source="none")
            return
        except StorageError as e:  # an attachment could not be stored
            yield ErrorEvent(code=e.code, message=str(e))  # type: ignore[arg-type]
            yield run.done(answer="", answer_source="none")
            return

        start = time.perf_counter()
        try:
            async with run.deadline.bound():
                offered, live = await self.offered_tasks()
                if not (self.config.stream_plan and until != "plan"):
                    outcome = await self.planner.plan(conv, offered, run.usage["plan"])
        except (LLMUnavailable, TimeoutError) as e:
            yield _stage_error(e, run.deadline, "plan")
            yield run.done(answer="", answer_source="none")
            return
        if self.config.stream_plan and until != "plan":
            source = self._streamed_plan(run, conv, offered)
        else:
            run.timings["plan_s"] = time.perf_counter() - start
            yield _plan_event(outcome)
            run.tasks = outcome.plan.tasks if outcome.plan else []
            run.chitchat = outcome.plan is None
            run.ask = outcome.ask
            source = None if run.chitchat or until == "plan" else _tasks_of(outcome.plan)
        if source is not None:
            try:
                async with aclosing(self._execute(run, conv.request, source, live)) as events:
                    async for event in events:
                        yield event
            except LLMUnavailable as e:  # the streamed plan failed before any task was released
                yield ErrorEvent(code="llm_unavailable", message=str(e), stage="plan")
                yield run.done(answer="", answer_source="none")
                return
        if until == "plan" or (until == "results" and not run.chitchat):
            yield run.done(answer="", chitchat=run.chitchat, answer_source="none")
            return
        if run.chitchat:
            if until != "answer":
                yield run.done(answer="", chitchat=True, answer_source="none")
                return
            if run.ask:  # an input is missing: ask for it; never let a chat model invent the result
                yield AnswerDeltaEvent(delta=run.ask)
                yield run.done(answer=run.ask, chitchat=True, answer_source="grounded")
                return
            history = trim_history(conv.history, self.config.history_token_budget)
            if self.small_llm:
                history = chat_history_for_small_model(history)
            # No expert ran in this turn: the reply may link only artifacts the conversation already has.
            guard = LinkGuard(artifact_ids([conv.request, *(text for _, text in conv.history)]))
            chat = run.stream_text(
                guard_links(
                    self.llm.stream(
                        chat_messages(conv.request, history),
                        run.usage["chat"],
                        max_tokens=SMALL_CHAT_TOKENS if self.small_llm else 1024,
                    ),
                    guard,
                ),
                stage="chat",
                fallback=lambda why: f"Sorry, I could not answer right now ({why}).",
            )
            async with aclosing(chat) as events:
                async for event in events:
                    yield event
            yield run.done(answer=run.answer, chitchat=True, answer_source=run.answer_source)
            return
        async with aclosing(self._respond(run, conv.request)) as events:
            async for event in events:
                yield event

    async def run_plan(
        self, plan: Plan, request: str, until: Until = "answer", deadline: Deadline | None = None
    ) -> AsyncIterator[Event]:
        """Execute a plan the caller wrote (stage 1 skipped): replays, fixed workflows, benchmarks."""
        run = _Run(deadline or self.config.deadline())
        _, live = await self.offered_tasks()
        yield PlanEvent(tasks=plan.tasks, repairs=plan.repairs)
        run.tasks = plan.tasks
        if until != "plan":
            async with aclosing(self._execute(run, request, _tasks_of(plan), live)) as events:
                async for event in events:
                    yield event
        if until != "answer":
            yield run.done(answer="", answer_source="none")
            return
        async with aclosing(self._respond(run, request)) as events:
            async for event in events:
                yield event

    async def _streamed_plan(
        self, run: _Run, conv: Conversation, offered: set[str]
    ) -> AsyncIterator[Task | Event]:
        """Tasks (and `planned_task` events) while the LLM writes the plan, then the `plan` event."""
        start = time.perf_counter()
        outcome: list[PlanOutcome] = []
        async with aclosing(self.planner.stream(conv, offered, run.usage["plan"], outcome)) as tasks:
            async for task in tasks:
                yield PlannedTaskEvent(task=task)
                yield task
        run.timings["plan_s"] = time.perf_counter() - start
        run.ask = outcome[0].ask
        yield _plan_event(outcome[0])

    async def _execute(
        self, run: _Run, request: str, source: AsyncIterator[Task | Event], live: Available
    ) -> AsyncIterator[Event]:
        start = time.perf_counter()
        selections: dict[int, asyncio.Task[Selection]] = {}

        def select(task: Task) -> asyncio.Task[Selection]:
            selections[task.id] = asyncio.create_task(self._select(task, request, live, run.usage["select"]))
            return selections[task.id]

        try:
            async with aclosing(self.scheduler.run_stream(source, select, run.deadline)) as events:
                async for event in events:
                    if isinstance(event, PlanEvent):
                        run.tasks, run.chitchat = event.tasks, event.chitchat
                    elif isinstance(event, SelectedEvent):
                        run.selections.append(event.selection)
                    elif isinstance(event, TaskFinishedEvent | TaskFailedEvent):
                        run.results.append(event.result)
                    yield event
        finally:
            for s in selections.values():
                s.cancel()
        run.results.sort(key=lambda r: r.task_id)
        run.selections.sort(key=lambda s: s.task_id)
        run.timings["execute_s"] = time.perf_counter() - start

    async def _respond(self, run: _Run, request: str) -> AsyncIterator[Event]:
        start = time.perf_counter()
        if self.grounded_answer:
            text = grounded_answer(run.tasks, run.selections, run.results)
            run.answer, run.answer_source = text, "grounded"
            yield AnswerDeltaEvent(delta=text)
            run.timings["respond_s"] = time.perf_counter() - start
            yield run.done(answer=run.answer, answer_source=run.answer_source)
            return
        work = report(run.tasks, run.selections, run.results)
        results = list(run.results)
        # Links only to artifacts the LLM was shown: the request's, and those the work took or made.
        guard = LinkGuard(artifact_ids([request, json.dumps(work, ensure_ascii=False)]))
        answer = run.stream_text(
            guard_links(stream_answer(self.llm, request, work, run.usage["respond"]), guard),
            stage="respond",
            fallback=lambda why: fallback_answer(results, why),
        )
        async with aclosing(answer) as events:
            async for event in events:
                yield event
        run.timings["respond_s"] = time.perf_counter() - start
        yield run.done(answer=run.answer, answer_source=run.answer_source)

    async def _select(self, task, request: str, live: Available, usage: StageUsage) -> Selection:
        try:
            return await self.selector.select(task, request, live.local, usage, live.remote)
        except Exception as e:  # selection must always settle, or the task would wait forever
            log.exception("selection failed for task %s", task.id)
            return Selection(task_id=task.id, task=task.task, model_id=None, reason=f"selection failed: {e}")


@dataclass(frozen=True)
class Available:
    """Where models can run for one request: live local replicas, and remote models by provider label."""

    local: set[str]
    remote: dict[str, str]

    def __contains__(self, model_id: object) -> bool:
        return model_id in self.local or model_id in self.remote


class _Run:
    """What one run has gathered so far; it makes the final ``done`` event."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.started = time.perf_counter()
        self.usage = {stage: StageUsage() for stage in ("plan", "select", "respond", "chat")}
        self.timings: dict[str, float] = {}
        self.tasks: list = []
        self.selections: list[Selection] = []
        self.results: list[TaskResult] = []
        self.answer = ""
        self.answer_source: Literal["llm", "fallback", "grounded", "none"] = "llm"
        self.chitchat = False
        self.ask: str | None = None

    async def stream_text(
        self, deltas: AsyncIterator[str], stage: str, fallback: Callable[[str], str]
    ) -> AsyncIterator[Event]:
        """Answer deltas from the LLM; if it fails or the deadline passes, an error event and then the
        fallback text (written from the results: nothing already produced is lost)."""
        try:
            async with aclosing(deltas) as stream:
                async for delta in until_deadline(self.deadline, stream):
                    self.answer += delta
                    yield AnswerDeltaEvent(delta=delta)
        except (LLMUnavailable, TimeoutError) as e:
            error = _stage_error(e, self.deadline, stage)
            yield error
            text = ("\n\n" if self.answer else "") + fallback(error.message)
            self.answer += text
            self.answer_source = "fallback"
            yield AnswerDeltaEvent(delta=text)
            return
        if not self.answer.strip():
            text = fallback("the language model returned an empty answer")
            self.answer, self.answer_source = text, "fallback"
            yield AnswerDeltaEvent(delta=text)

    def done(self, answer: str, chitchat: bool = False, answer_source: str = "llm") -> DoneEvent:
        self.timings["total_s"] = time.perf_counter() - self.started
        return DoneEvent(
            answer=answer,
            chitchat=chitchat,
            answer_source=answer_source,  # type: ignore[arg-type]
            tasks=self.tasks,
            selections=self.selections,
            results=self.results,
            usage={k: v for k, v in self.usage.items() if v.calls},
            timings=self.timings,
        )


def _stage_error(e: Exception, deadline: Deadline, stage: str) -> ErrorEvent:
    if isinstance(e, TimeoutError):
        message = f"{deadline.describe()} passed during {stage}"
        return ErrorEvent(code="deadline_exceeded", message=message, stage=stage)
    return ErrorEvent(code="llm_unavailable", message=str(e), stage=stage)


def _plan_event(outcome: PlanOutcome) -> PlanEvent:
    if outcome.plan is None:
        return PlanEvent(tasks=[], chitchat=True, chitchat_reason=outcome.chitchat_reason)
    return PlanEvent(tasks=outcome.plan.tasks, repairs=outcome.plan.repairs)


async def _tasks_of(plan: Plan) -> AsyncIterator[Task | Event]:
    for task in plan.tasks:
        yield task


def _readable(e: Exception) -> str:
    if isinstance(e, ValidationError):
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"invalid message ({where}): {first['msg']}"
    return str(e)
