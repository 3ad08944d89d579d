"""From pipeline events to HTTP bodies: the OpenAI completion and its SSE chunks, the plain event stream,
and the JARVIS-compatible bodies. Every error body comes from ``protocol``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

from controller.schema import AnswerDeltaEvent, DoneEvent, ErrorEvent, Event
from deployments.http.protocol import (
    RETRY_AFTER_S,
    SSE_DONE,
    ChunkWriter,
    completion_body,
    error,
    usage_body,
)
from deployments.http.service import Service
from experts.errors import StorageError


@dataclass
class Started:
    """A run that got past planning: its first event and the rest."""

    first: Event
    rest: AsyncIterator[Event]

    async def events(self) -> AsyncIterator[Event]:
        yield self.first
        async for event in self.rest:
            yield event


def llm_unready(service: Service) -> JSONResponse | None:
    if service.llm_ready:
        return None
    return error(
        503,
        "no LLM is configured: set OPENAI_API_KEY, or HUGGINGGPT_LLM_BASE_URL for any OpenAI-compatible "
        "endpoint, or `llm` in serve_config.yaml",
        "llm_not_configured",
        headers={"Retry-After": RETRY_AFTER_S},
    )


def refusal(first: Event) -> JSONResponse | None:
    """The HTTP error for a run that failed before doing anything, or None."""
    if isinstance(first, ErrorEvent):
        if first.code == "invalid_request":
            return error(400, first.message, "invalid_request")
        if first.code == "llm_unavailable":
            return error(
                503,
                f"the LLM is unavailable: {first.message}",
                "llm_unavailable",
                headers={"Retry-After": RETRY_AFTER_S},
            )
        if first.code == "deadline_exceeded":
            return error(504, first.message, "deadline_exceeded")
        if first.code in STORAGE_STATUS:
            return error(STORAGE_STATUS[first.code], first.message, first.code, headers=RETRY)
        return error(500, first.message, first.code)
    return None


# A full store is 507 Insufficient Storage; a read-only or unreachable one 503. Both may pass: retry later.
STORAGE_STATUS = {"storage_full": 507, "storage_unavailable": 503}
RETRY = {"Retry-After": RETRY_AFTER_S}


def storage_refusal(e: StorageError) -> JSONResponse:
    return error(STORAGE_STATUS.get(e.code, 503), str(e), e.code, headers=RETRY)


async def start(events: AsyncIterator[Event], refuse: bool = True) -> Started | JSONResponse:
    """Wait for the run's first event (planning is done by then); a run refused before it did anything
    becomes its HTTP error."""
    first = await anext(events)
    if refuse and (refused := refusal(first)) is not None:
        await events.aclose()
        return refused
    return Started(first, events)


async def collect(service: Service, started: Started) -> tuple[DoneEvent | None, list[dict[str, Any]]]:
    """Run to the end: the done event and every error event on the way."""
    done, errors = None, []
    async for event in started.events():
        service.observe(event)
        if isinstance(event, ErrorEvent):
            errors.append(event.model_dump())
        elif isinstance(event, DoneEvent):
            done = event
    return done, errors


# When nothing succeeded, the first of these causes found among the failures sets the status.
FAILED_RUN_STATUS = {
    "expert_unavailable": 503,
    "storage_full": 507,
    "storage_unavailable": 503,
    "deadline_exceeded": 504,
}


def failed_status(done: DoneEvent) -> int | None:
    """The status of a run in which nothing succeeded because of the service (None: 200)."""
    if not done.results or any(r.status == "ok" for r in done.results):
        return None
    codes = {r.error_code for r in done.results}
    return next((status for code, status in FAILED_RUN_STATUS.items() if code in codes), None)


def respond(done: DoneEvent, body: Any) -> JSONResponse:
    """200 with the body; or, when nothing succeeded because experts were unavailable, the store full or
    the deadline passed, that status carrying the same body (nothing the run produced is withheld)."""
    if (status := failed_status(done)) is not None:
        headers = None if status == 504 else RETRY  # a retry is worth it, but not sooner
        return JSONResponse(body, status_code=status, headers=headers)
    return JSONResponse(body)


def usage(done: DoneEvent) -> dict[str, int]:
    return usage_body(
        sum(u.prompt_tokens for u in done.usage.values()),
        sum(u.completion_tokens for u in done.usage.values()),
    )


def summary(done: DoneEvent, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "answer": done.answer,
        "chitchat": done.chitchat,
        "answer_source": done.answer_source,
        "tasks": [t.model_dump() for t in done.tasks],
        "selections": [s.model_dump() for s in done.selections],
        "results": [r.model_dump(mode="json") for r in done.results],
        "usage": {k: v.model_dump() for k, v in done.usage.items()},
        "timings": done.timings,
        "errors": errors,
    }


def completion(service: Service, done: DoneEvent, errors: list[dict[str, Any]]) -> JSONResponse:
    """The OpenAI chat completion, the run's summary in its ``hugginggpt`` field."""
    body = completion_body(
        service.public_model_name, done.answer, "stop", usage(done), hugginggpt=summary(done, errors)
    )
    return respond(done, body)


def jarvis_answer(done: DoneEvent, errors: list[dict[str, Any]]) -> JSONResponse:
    """JARVIS's /hugginggpt reply."""
    return respond(done, {"message": done.answer, "chitchat": done.chitchat, "errors": errors})


def jarvis_tasks(done: DoneEvent, errors: list[dict[str, Any]]) -> JSONResponse:
    """JARVIS's /tasks reply: the plan alone."""
    return JSONResponse([t.model_dump() for t in done.tasks])


def jarvis_results(done: DoneEvent, errors: list[dict[str, Any]]) -> JSONResponse:
    """JARVIS's /results reply: task id -> task, the chosen model with its reason, the inference result
    (and the run's errors, when there were any)."""
    selections = {s.task_id: s for s in done.selections}
    by_id = {r.task_id: r for r in done.results}
    out: dict[str, Any] = {}
    for t in done.tasks:
        r, s = by_id.get(t.id), selections.get(t.id)
        result: dict[str, Any] = (
            r.outputs if r and r.status == "ok" else {"error": r.error if r else "not run"}
        )
        out[str(t.id)] = {
            "task": t.model_dump(),
            "inference result": result,
            "choose model result": {"id": s.model_id, "reason": s.reason} if s else None,
            "status": r.status if r else "not run",
        }
    return respond(done, out | {"errors": errors} if errors else out)


async def openai_sse(service: Service, started: Started, include_usage: bool) -> AsyncIterator[str]:
    """chat.completion.chunk events: answer text in ``delta.content``; every stage event rides along in
    an extra ``hugginggpt`` field of a chunk with an empty delta, which the openai client passes through."""
    writer = ChunkWriter(service.public_model_name)
    yield writer.chunk({"role": "assistant", "content": ""})
    try:
        async for event in started.events():
            service.observe(event)
            if isinstance(event, AnswerDeltaEvent):
                yield writer.chunk({"content": event.delta})
            elif isinstance(event, DoneEvent):
                yield writer.chunk({}, "stop", hugginggpt=event.model_dump(mode="json"))
                if include_usage:
                    yield writer.usage(usage(event))
            else:
                yield writer.chunk({}, None, hugginggpt=event.model_dump(mode="json"))
    finally:
        await started.rest.aclose()  # a client gone midway cancels the experts still running
    yield SSE_DONE


async def event_sse(service: Service, events: AsyncIterator[Event]) -> AsyncIterator[str]:
    """Plain server-sent events, one per pipeline event (``event: task_finished`` ...)."""
    try:
        async for event in events:
            service.observe(event)
            yield f"event: {event.type}\ndata: {event.model_dump_json()}\n\n"
    finally:
        await events.aclose()
