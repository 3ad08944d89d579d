"""The HTTP API: OpenAI-compatible chat completions, JARVIS-compatible routes, plans, models, artifacts.

Ray-free: it serves a ``Service``. The Controller deployment mounts it with ``@serve.ingress``; tests
mount it on an in-process Service. Errors are OpenAI-shaped: ``{"error": {"message", "type", "code"}}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from controller.pipeline import Until
from controller.plan_parser import plan_from_data
from controller.schema import (
    AnswerDeltaEvent,
    ChatMessage,
    DoneEvent,
    ErrorEvent,
    Event,
    PlanError,
)
from deployments.service import Service
from experts.artifacts import MEDIA_TYPES, extension_for
from experts.errors import ArtifactNotFound, InvalidArtifactId

log = logging.getLogger(__name__)

ARTIFACTS_PATH = "/v1/artifacts/"
RETRY_AFTER_S = "5"
UPLOAD_KINDS = ("image/", "audio/", "video/")


# --- request bodies ----------------------------------------------------------------------------


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # sampling knobs of the OpenAI API are accepted and ignored

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None


class JarvisRequest(BaseModel):
    messages: list[ChatMessage] = Field(min_length=1)


class ExecutePlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[dict[str, Any]]
    request: str = ""  # the user's words, shown to model selection and to the answer
    respond: bool = False  # also write an answer (stage 4)
    stream: bool = False


# --- errors --------------------------------------------------------------------------------------


def error(status: int, message: str, code: str, *, type_: str | None = None, headers=None) -> JSONResponse:
    kind = type_ or ("invalid_request_error" if status < 500 else "service_unavailable")
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """413 for bodies above the limit, whether or not the client sent Content-Length."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit()
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            response = error(413, f"the request body exceeds {limit:,} bytes", "body_too_large")
            return await response(scope, receive, send)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
            return message

        await self.app(scope, counted, send)


# --- the app -------------------------------------------------------------------------------------


def create_api(get_service: Callable[[], Service], static_dir: str | None = None) -> FastAPI:
    app = FastAPI(title="HuggingGPT on Ray Serve", version="0.1.0")
    app.add_middleware(BodyLimit, limit=lambda: get_service().max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request", "loc": ()}
        if first.get("type") == "json_invalid":
            return error(400, "the request body is not valid JSON", "invalid_json")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error(400, f"{where or 'body'}: {first['msg']}", "invalid_request")

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return error(
            413, f"the request body exceeds {get_service().max_body_bytes:,} bytes", "body_too_large"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return error(500, "internal error; the service logged the details", "internal_error")

    @app.middleware("http")
    async def _measure(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        get_service().metrics.request(
            getattr(route, "path", "unmatched"), response.status_code, time.perf_counter() - start
        )
        return response

    # --- OpenAI-compatible ---

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
        service = get_service()
        if body.model != service.public_model_name:
            return error(
                404,
                f"model {body.model!r} does not exist; use {service.public_model_name!r}",
                "model_not_found",
            )
        if (unready := _llm_unready(service)) is not None:
            return unready
        events = service.gpt.run(body.messages)
        first = await anext(events)
        if (refused := _refusal(first)) is not None:
            await events.aclose()
            return refused
        if body.stream:
            include_usage = bool((body.stream_options or {}).get("include_usage"))
            stream = _openai_sse(service, first, events, include_usage)
            return StreamingResponse(
                stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
            )
        done, errors = await _drain(service, first, events, request)
        if done is None:
            return error(499, "client closed the request", "client_closed")
        return _respond(done, _completion(service, done, errors))

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        service = get_service()
        states = await service.expert_states()
        data = [
            {
                "id": service.public_model_name,
                "object": "model",
                "created": 0,
                "owned_by": "hugginggpt",
                "task": "orchestration",
                "status": "RUNNING",
                "llm": service.llm_description,
            }
        ]
        for model_id, state in sorted(states.items()):
            spec = service.catalog.get(model_id)
            data.append(
                {
                    "id": model_id,
                    "object": "model",
                    "created": 0,
                    "owned_by": model_id.split("/")[0],
                    "task": spec.task if spec else None,
                    "status": state,
                }
            )
        return {"object": "list", "data": data}

    # --- JARVIS-compatible ---

    @app.post("/hugginggpt")
    async def hugginggpt(body: JarvisRequest, request: Request) -> Response:
        done, errors = await _run_collected(get_service(), body.messages, "answer", request)
        if isinstance(done, Response):
            return done
        return _respond(done, {"message": done.answer, "chitchat": done.chitchat, "errors": errors})

    @app.post("/tasks")
    async def tasks(body: JarvisRequest, request: Request) -> Response:
        done, _ = await _run_collected(get_service(), body.messages, "plan", request)
        if isinstance(done, Response):
            return done
        return JSONResponse([t.model_dump() for t in done.tasks])

    @app.post("/results")
    async def results(body: JarvisRequest, request: Request) -> Response:
        done, errors = await _run_collected(get_service(), body.messages, "results", request)
        if isinstance(done, Response):
            return done
        return _respond(done, _jarvis_results(done) | {"errors": errors} if errors else _jarvis_results(done))

    # --- plans ---

    @app.post("/v1/plans/execute")
    async def execute_plan(body: ExecutePlanRequest, request: Request) -> Response:
        service = get_service()
        offered = {m.task for m in service.catalog}
        try:
            plan = plan_from_data(body.tasks, offered, service.gpt.config.max_tasks)
        except PlanError as e:
            return error(422, f"the plan cannot run: {e}", "invalid_plan")
        events = service.gpt.run_plan(plan, body.request, until="answer" if body.respond else "results")
        if body.stream:
            return StreamingResponse(_event_sse(service, events), media_type="text/event-stream")
        done, errors = await _drain(service, await anext(events), events, request)
        if done is None:
            return error(499, "client closed the request", "client_closed")
        return _respond(done, _summary(done, errors))

    # --- artifacts ---

    @app.post("/v1/artifacts", status_code=201)
    async def upload(request: Request) -> Response:
        service = get_service()
        media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if not media_type.startswith(UPLOAD_KINDS):
            return error(
                415,
                "upload raw image, audio or video bytes with their Content-Type "
                f"(got {media_type or 'none'!r})",
                "unsupported_media_type",
            )
        try:
            extension_for(media_type)
        except ValueError:
            known = ", ".join(sorted(t for t in MEDIA_TYPES.values() if t.startswith(UPLOAD_KINDS)))
            return error(
                415,
                f"media type {media_type!r} is not supported; use one of {known}",
                "unsupported_media_type",
            )
        data = await request.body()
        if not data:
            return error(400, "the upload is empty", "empty_upload")
        artifact_id = await asyncio.to_thread(service.store.put, data, media_type)
        return JSONResponse(
            {
                "id": artifact_id,
                "url": ARTIFACTS_PATH + artifact_id,
                "media_type": media_type,
                "bytes": len(data),
            },
            status_code=201,
        )

    @app.get("/v1/artifacts/{artifact_id}")
    async def download(artifact_id: str) -> Response:
        try:
            data, media_type = await asyncio.to_thread(get_service().store.get, artifact_id)
        except InvalidArtifactId:
            return error(
                400, f"{artifact_id[:80]!r} is not an artifact id (<sha256>.<ext>)", "invalid_artifact_id"
            )
        except ArtifactNotFound:
            return error(404, f"no artifact {artifact_id}", "artifact_not_found")
        # Content-addressed: the bytes behind an id never change.
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{artifact_id}"'}
        return Response(data, media_type=media_type, headers=headers)

    # --- health ---

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        service = get_service()
        states = await service.expert_states()
        live = await service.live_models()
        body = {
            "status": "ready" if live else "not_ready",
            "llm": service.llm_description,
            "experts": dict(sorted(states.items())),
            "live_experts": len(live),
        }
        if not live:
            return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER_S})
        return JSONResponse(body)

    return app


# --- helpers --------------------------------------------------------------------------------------


def _experts_unavailable(done: DoneEvent) -> bool:
    """Nothing succeeded, and at least one task failed because its expert could not be reached."""
    return (
        bool(done.results)
        and not any(r.status == "ok" for r in done.results)
        and any(r.error_code == "expert_unavailable" for r in done.results)
    )


def _respond(done: DoneEvent, body: Any) -> JSONResponse:
    """200 with the body, or 503 + Retry-After carrying the same body when the experts were unavailable
    (a client can retry; nothing the run produced is withheld)."""
    if _experts_unavailable(done):
        return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER_S})
    return JSONResponse(body)


def _llm_unready(service: Service) -> JSONResponse | None:
    if service.llm_ready:
        return None
    return error(
        503,
        "no LLM is configured: set OPENAI_API_KEY, or HUGGINGGPT_LLM_BASE_URL for any OpenAI-compatible "
        "endpoint, or `llm` in serve_config.yaml",
        "llm_not_configured",
        headers={"Retry-After": RETRY_AFTER_S},
    )


def _refusal(first: Event) -> JSONResponse | None:
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
        return error(500, first.message, first.code)
    return None


async def _drain(
    service: Service, first: Event, events: AsyncIterator[Event], request: Request
) -> tuple[DoneEvent | None, list[dict[str, Any]]]:
    """Run to the end; a client that disconnects cancels the run (and with it the experts' work)."""

    async def consume() -> tuple[DoneEvent | None, list[dict[str, Any]]]:
        done, errors = None, []
        async for event in _achain(first, events):
            service.observe(event)
            if isinstance(event, ErrorEvent):
                errors.append(event.model_dump())
            elif isinstance(event, DoneEvent):
                done = event
        return done, errors

    task = asyncio.create_task(consume())
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=0.5)
            if not task.done() and await request.is_disconnected():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await events.aclose()
                return None, []
        return task.result()
    finally:
        if not task.done():
            task.cancel()


async def _achain(first: Event, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    yield first
    async for event in events:
        yield event


async def _run_collected(
    service: Service, messages: list[ChatMessage], until: Until, request: Request
) -> tuple[DoneEvent | Response, list[dict[str, Any]]]:
    if (unready := _llm_unready(service)) is not None:
        return unready, []
    events = service.gpt.run(messages, until=until)
    first = await anext(events)
    if (refused := _refusal(first)) is not None:
        await events.aclose()
        return refused, []
    done, errors = await _drain(service, first, events, request)
    if done is None:
        return error(499, "client closed the request", "client_closed"), []
    return done, errors


def _usage(done: DoneEvent) -> dict[str, int]:
    prompt = sum(u.prompt_tokens for u in done.usage.values())
    completion = sum(u.completion_tokens for u in done.usage.values())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _summary(done: DoneEvent, errors: list[dict[str, Any]]) -> dict[str, Any]:
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


def _completion(service: Service, done: DoneEvent, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": service.public_model_name,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": done.answer}, "finish_reason": "stop"}
        ],
        "usage": _usage(done),
        "hugginggpt": _summary(done, errors),
    }


def _jarvis_results(done: DoneEvent) -> dict[str, Any]:
    """JARVIS's /results shape: task id -> task, the chosen model with its reason, the inference result."""
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
    return out


async def _openai_sse(
    service: Service, first: Event, events: AsyncIterator[Event], include_usage: bool
) -> AsyncIterator[str]:
    """chat.completion.chunk events: answer text in ``delta.content``; every stage event rides along in
    an extra ``hugginggpt`` field of a chunk with an empty delta, which the openai client passes through."""
    cid, created, model = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time()), service.public_model_name

    def chunk(delta: dict[str, Any], finish: str | None = None, extra: dict | None = None) -> str:
        body: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if extra is not None:
            body["hugginggpt"] = extra
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for event in _achain(first, events):
            service.observe(event)
            if isinstance(event, AnswerDeltaEvent):
                yield chunk({"content": event.delta})
            elif isinstance(event, DoneEvent):
                yield chunk({}, "stop", event.model_dump(mode="json"))
                if include_usage:
                    usage = {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [],
                        "usage": _usage(event),
                    }
                    yield f"data: {json.dumps(usage)}\n\n"
            else:
                yield chunk({}, None, event.model_dump(mode="json"))
    finally:
        await events.aclose()  # a client gone midway cancels the experts still running
    yield "data: [DONE]\n\n"


async def _event_sse(service: Service, events: AsyncIterator[Event]) -> AsyncIterator[str]:
    """Plain server-sent events, one per pipeline event (``event: task_finished`` ...)."""
    try:
        async for event in events:
            service.observe(event)
            yield f"event: {event.type}\ndata: {event.model_dump_json()}\n\n"
    finally:
        await events.aclose()
