"""Stage 3: run a plan as a DAG. Each task starts the moment its dependencies and its model selection
are done (futures, no polling); a failure skips only its dependants; the experts sit behind one protocol."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

from controller.deadline import Deadline
from controller.schema import (
    REF_PATTERN,
    ArgValue,
    Event,
    Route,
    SelectedEvent,
    Selection,
    Task,
    TaskErrorCode,
    TaskFailedEvent,
    TaskFinishedEvent,
    TaskResult,
    TaskStartedEvent,
    ref,
    refs_in,
)
from experts.errors import (
    ExpertInputError,
    ExpertOutputError,
    ExpertOverloaded,
    ExpertUnavailable,
    StorageError,
    StorageFull,
)
from experts.tasks import MEDIA_KINDS, TASK_TYPES, MediaKind


class ExpertInvoker(Protocol):
    """How the scheduler reaches an expert: a DeploymentHandle in production, an adapter in tests."""

    async def invoke(self, model_id: str, task: str, inputs: dict[str, Any]) -> dict[str, Any]: ...


class RemoteInvoker(ExpertInvoker, Protocol):
    """Experts on remote inference endpoints (experts.remote.RemoteExperts)."""

    def reachable(self) -> Mapping[str, str]:
        """model id -> provider label, for the models whose endpoint is not marked unavailable."""
        ...


class ResolutionError(ValueError):
    pass


def media_to_urls(outputs: dict[str, Any], url_prefix: str) -> dict[str, Any]:
    """Media fields hold artifact ids from the experts; users, the LLM and later tasks see URLs."""
    out = dict(outputs)
    for kind in MEDIA_KINDS:
        if kind == "text" or kind not in out:
            continue
        value = out[kind]
        if isinstance(value, str) and "/" not in value:
            out[kind] = url_prefix + value
        elif isinstance(value, list):
            out[kind] = [url_prefix + v if isinstance(v, str) and "/" not in v else v for v in value]
    return out


def resolve_args(task: Task, upstream: Mapping[int, TaskResult]) -> dict[str, Any]:
    """Replace references by upstream outputs of the kind each input needs."""
    ttype = TASK_TYPES[task.task]
    resolved: dict[str, Any] = {}
    for name, value in task.args.items():
        inp = ttype.input(name)
        kind: MediaKind = inp.kind if inp else "text"
        resolved[name] = _resolve_value(value, kind, name, upstream)
    return resolved


def _resolve_value(value: ArgValue, kind: MediaKind, name: str, upstream: Mapping[int, TaskResult]) -> Any:
    if isinstance(value, list):
        return [_resolve_value(v, kind, name, upstream) for v in value]
    if not isinstance(value, str) or not refs_in(value):
        return value
    targets = refs_in(value)
    if value.strip() == ref(targets[0]):
        return _output_of(upstream[targets[0]], kind, name)
    # References inside a longer text ("translate <GENERATED>-0 into French"): splice in their text.
    return REF_PATTERN.sub(lambda m: _spliced(upstream[int(m.group(1))], name), value)


_CLASSIFIERS = frozenset(
    {"image-classification", "audio-classification", "text-classification", "zero-shot-classification"}
)


def _spliced(result: TaskResult, name: str) -> str:
    """The text a reference inside a longer text stands for: a classifier's top label ("write a fun fact about
    tiger", not "about tiger (0.93), cat (0.05)"), else the task's text output."""
    labels = result.outputs.get("labels")
    if result.task in _CLASSIFIERS and isinstance(labels, list) and labels and isinstance(labels[0], dict):
        return str(labels[0].get("label") or _output_of(result, "text", name))
    return str(_output_of(result, "text", name))


def _output_of(result: TaskResult, kind: MediaKind, name: str) -> Any:
    if kind in result.outputs and result.outputs[kind] not in (None, ""):
        return result.outputs[kind]
    have = ", ".join(k for k in result.outputs if k in MEDIA_KINDS) or "nothing usable"
    raise ResolutionError(
        f"input {name!r} needs {kind}, but task {result.task_id} ({result.task}) produced {have}"
    )


Select = Callable[[Task], "asyncio.Future[Selection]"]


class _Added:
    """Internal queue marker: a task joined the run (two more events are now owed)."""


class _SourceEnded:
    def __init__(self, error: BaseException | None = None):
        self.error = error


class Scheduler:
    """Each task starts the moment its own dependencies and its own model choice are done.

    With a ``remote`` invoker (remote and hybrid inference), a task whose model fails for a reason that is
    not its input's fault runs once more on its next route, and a local expert whose queue is full hands
    the task to a remote route (overflow)."""

    def __init__(
        self,
        invoker: ExpertInvoker,
        task_timeout_s: float,
        url_prefix: str,
        remote: ExpertInvoker | None = None,
    ):
        self.invoker = invoker
        self.remote = remote
        self.task_timeout_s = task_timeout_s
        self.url_prefix = url_prefix

    async def run_stream(
        self, tasks: AsyncIterator[Task | Event], select: Select, deadline: Deadline | None = None
    ) -> AsyncIterator[Event]:
        """Events as selections settle and tasks start and end, for tasks that arrive while others already
        run (a plan still being streamed). ``select(task)`` starts the task's model choice (a future), so a
        task whose dependencies finish first waits only for its own choice. A task may depend only on tasks
        that arrived before it; events in the source pass through. Closing the iterator early cancels every
        running task. Past ``deadline`` a task still waiting or running ends as ``deadline_exceeded`` (its
        expert call cancelled) and no new task is taken from the source."""
        run = _RunState(asyncio.get_running_loop(), deadline)
        events = run.events
        feeder = asyncio.create_task(self._feed(tasks, select, run))
        owed, source_open = 0, True
        try:
            while source_open or owed:
                item = await events.get()
                if isinstance(item, _Added):
                    owed += 2  # its `selected` and its finished/failed event
                elif isinstance(item, _SourceEnded):
                    source_open = False
                    if item.error is not None:
                        raise item.error
                else:
                    if isinstance(item, TaskFinishedEvent | TaskFailedEvent | SelectedEvent):
                        owed -= 1
                    yield item
        finally:
            feeder.cancel()
            for r in run.runners:
                r.cancel()
            await asyncio.gather(feeder, *run.runners, return_exceptions=True)

    async def _feed(self, tasks: AsyncIterator[Task | Event], select: Select, run: _RunState) -> None:
        events = run.events
        try:
            async with run.bound():
                async for task in tasks:
                    if not isinstance(task, Task):  # an event of the source (e.g. the plan): pass it on
                        events.put_nowait(task)
                        continue
                    run.done[task.id] = run.loop.create_future()
                    selection = select(task)
                    events.put_nowait(_Added())
                    # Announcer first: a task's `selected` event then always precedes its `task_started`.
                    run.runners.append(asyncio.create_task(_announce(task, selection, events)))
                    self._admit(task, selection, run)
        except TimeoutError:  # the deadline passed while the plan was still streaming: keep what came
            await _close(tasks)
        except Exception as e:
            events.put_nowait(_SourceEnded(e))
            return
        events.put_nowait(_SourceEnded())

    def _admit(self, task: Task, selection: asyncio.Future[Selection], run: _RunState) -> None:
        """Start the task's runner, which itself waits for the dependencies."""
        run.runners.append(asyncio.create_task(self._run_task(task, selection, run)))

    async def _run_task(self, task: Task, selection: Awaitable[Selection], run: _RunState) -> None:
        try:
            async with run.bound():
                result = await self._execute(task, selection, run)
        except TimeoutError:
            assert run.deadline is not None
            result = TaskResult(
                task_id=task.id,
                task=task.task,
                status="timeout",
                error=f"{run.deadline.describe()} passed before this task finished; its work was stopped",
                error_code="deadline_exceeded",
            )
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug here must not leave dependants waiting forever
            result = TaskResult(
                task_id=task.id, task=task.task, status="failed", error=_describe(e), error_code="internal"
            )
        run.done[task.id].set_result(result)
        run.events.put_nowait(
            TaskFinishedEvent(result=result) if result.status == "ok" else TaskFailedEvent(result=result)
        )

    async def _execute(self, task: Task, selection: Awaitable[Selection], run: _RunState) -> TaskResult:
        upstream = {d: await run.done[d] for d in task.dep}
        base = {"task_id": task.id, "task": task.task}
        # A dependency whose output this task does not take only orders the two (a question about the user's
        # own photo asked after its caption): its failure does not stop this task.
        used = task.references()
        not_ok = [r for d, r in upstream.items() if r.status != "ok" and d in used]
        if not_ok:
            first = not_ok[0]
            return TaskResult(
                **base,
                status="skipped",
                error_code="upstream_failed",
                error=f"skipped because task {first.task_id} ({first.task}) {first.status}"
                + (f": {first.error}" if first.error else ""),
            )
        chosen = await selection
        if chosen.model_id is None:
            return TaskResult(**base, status="failed", error=chosen.reason, error_code="expert_unavailable")
        routes = chosen.routes or [Route(model_id=chosen.model_id)]
        try:
            inputs = resolve_args(task, upstream)
        except ResolutionError as e:
            return TaskResult(
                **base, model_id=routes[0].model_id, status="failed", error=str(e), error_code="bad_input"
            )
        result, error = await self._attempt(task, routes[0], inputs, run)
        if error is None or isinstance(error, ExpertInputError) or self.remote is None:
            return result
        overflow = isinstance(error, ExpertOverloaded) and routes[0].runtime == "local"
        following = [r for r in routes[1:] if r != routes[0]]
        remote_ones = [r for r in following if r.runtime == "remote"]
        candidates = remote_ones if overflow and remote_ones else following
        if not candidates:
            return result
        then = candidates[0]
        note = (
            f"{routes[0].model_id} on {routes[0].ran_on} "
            + ("was full" if overflow else f"failed ({result.error_code}: {result.error})")
            + f"; ran {then.model_id} on {then.ran_on} instead"
        )
        retried, _ = await self._attempt(task, then, inputs, run)
        return retried.model_copy(
            update={"fallback": note, "overflow": overflow and then.runtime == "remote"}
        )

    async def _attempt(
        self, task: Task, route: Route, inputs: dict[str, Any], run: _RunState
    ) -> tuple[TaskResult, BaseException | None]:
        """One call of the expert on one route: its result, and the error that failed it (None if ok)."""
        base = {"task_id": task.id, "task": task.task, "model_id": route.model_id, "ran_on": route.ran_on}
        invoker = self.remote if route.runtime == "remote" and self.remote is not None else self.invoker
        run.events.put_nowait(
            TaskStartedEvent(task_id=task.id, task=task.task, model_id=route.model_id, ran_on=route.ran_on)
        )
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self.task_timeout_s):
                outputs = await invoker.invoke(route.model_id, task.task, inputs)
        except TimeoutError as e:
            return TaskResult(
                **base,
                status="timeout",
                inputs=inputs,
                elapsed_s=time.perf_counter() - start,
                error=f"the expert did not answer within {self.task_timeout_s:g} s",
                error_code="timeout",
            ), e
        except asyncio.CancelledError:
            raise
        except Exception as e:  # an expert's failure is this task's result, never the request's crash
            return TaskResult(
                **base,
                status="failed",
                inputs=inputs,
                elapsed_s=time.perf_counter() - start,
                error=_describe(e),
                error_code=_error_code(e),
            ), e
        return TaskResult(
            **base,
            status="ok",
            inputs=inputs,
            elapsed_s=time.perf_counter() - start,
            outputs=media_to_urls(outputs, self.url_prefix),
        ), None


class PollingScheduler(Scheduler):
    """JARVIS's discipline, kept for comparison: a loop starts every task whose dependencies are done,
    then sleeps ``interval_s`` whenever a pass started nothing. Each ready task can wait up to a whole
    interval; the DAG scheduler above starts it at once."""

    def __init__(
        self,
        invoker: ExpertInvoker,
        task_timeout_s: float,
        url_prefix: str,
        interval_s: float,  # controller.polling_interval_s decides it (0.5 s, JARVIS's)
        remote: ExpertInvoker | None = None,
    ):
        super().__init__(invoker, task_timeout_s, url_prefix, remote)
        self.interval_s = interval_s

    def _admit(self, task: Task, selection: asyncio.Future[Selection], run: _RunState) -> None:
        run.pending.append((task, selection))
        if run.poller is None:
            run.poller = asyncio.create_task(self._poll(run))
            run.runners.append(run.poller)

    async def _poll(self, run: _RunState) -> None:
        while True:
            ready = [(t, s) for t, s in run.pending if all(run.done[d].done() for d in t.dep)]
            for item in ready:
                run.pending.remove(item)
                run.runners.append(asyncio.create_task(self._run_task(item[0], item[1], run)))
            if not ready:  # the loop runs until the run ends (run_stream cancels it with the runners)
                await asyncio.sleep(self.interval_s)


class _RunState:
    def __init__(self, loop: asyncio.AbstractEventLoop, deadline: Deadline | None = None):
        self.loop = loop
        self.deadline = deadline
        self.events: asyncio.Queue[Event | _Added | _SourceEnded] = asyncio.Queue()  # what run_stream yields
        self.done: dict[int, asyncio.Future[TaskResult]] = {}
        self.runners: list[asyncio.Task] = []
        self.pending: list[tuple[Task, asyncio.Future[Selection]]] = []
        self.poller: asyncio.Task | None = None

    def bound(self) -> asyncio.Timeout:
        return self.deadline.bound() if self.deadline is not None else asyncio.timeout(None)


async def _close(source: AsyncIterator) -> None:
    if aclose := getattr(source, "aclose", None):
        await aclose()


async def _announce(task: Task, selection: asyncio.Future[Selection], events: asyncio.Queue[Event]) -> None:
    try:
        chosen = await selection
    except Exception as e:  # the run waits for this event: a crashed choice is announced as none
        reason = f"the model choice failed: {_describe(e)}"
        chosen = Selection(task_id=task.id, task=task.task, model_id=None, reason=reason)
    events.put_nowait(SelectedEvent(selection=chosen))


def _error_code(e: BaseException) -> TaskErrorCode:
    if isinstance(e, StorageFull):
        return "storage_full"
    if isinstance(e, StorageError):
        return "storage_unavailable"
    if isinstance(e, ExpertUnavailable):
        return "expert_unavailable"
    if isinstance(e, ExpertInputError):
        return "bad_input"
    if isinstance(e, ExpertOutputError):
        return "bad_output"
    return "internal"


# Node and replica addresses that Ray's errors carry ("... on node 10.0.0.7:6379"): not a client's business.
_ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b")


def _describe(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    text = _ADDRESS.sub("<address>", text[:500])
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
