"""The HTTP routes: thin functions that take the service from ``app.state``, call ``serving`` and pick a
JSON or streamed response. ``create_api`` assembles them with the middleware and the web page.

Ray-free: the ingress deployment mounts the app with ``@serve.ingress``; tests mount it on an
in-process Service. Errors are OpenAI-shaped (``protocol.error``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from controller.deadline import Deadline
from controller.pipeline import Until
from controller.plan_parser import plan_from_data
from controller.schema import ChatMessage, DoneEvent, PlanError
from deployments.http import serving, timing
from deployments.http.admission import Admission
from deployments.http.disconnect import cancel_on_disconnect, until_disconnected
from deployments.http.downloads import file_response
from deployments.http.middleware import BodyLimit, Measured
from deployments.http.protocol import (
    RETRY_AFTER_S,
    ChatCompletionRequest,
    ExecutePlanRequest,
    JarvisRequest,
    client_closed,
    error,
)
from deployments.http.security import Cors, Guard, SecurityHeaders
from deployments.http.service import Service
from deployments.http.web import mount_web
from experts.artifacts import ARTIFACT_URL_PREFIX, MEDIA_TYPES, extension_for
from experts.errors import (
    ArtifactNotFound,
    ExpertInputError,
    InvalidArtifactId,
    StorageError,
    UnsafeSourceError,
)
from experts.media import vet_media

log = logging.getLogger(__name__)

UPLOAD_KINDS = ("image/", "audio/", "video/")


def current(request: Request) -> Service:
    return request.app.state.get_service()


CurrentService = Annotated[Service, Depends(current)]
router = APIRouter()

DEADLINE_HEADER = "X-Request-Timeout"  # seconds; the client's own deadline, clamped to the configured cap


class BadDeadline(Exception):
    pass


def request_deadline(request: Request, service: CurrentService) -> Deadline:
    """The request's deadline: the client's ``X-Request-Timeout`` (seconds, within the cap) or the default."""
    raw = request.headers.get(DEADLINE_HEADER)
    if raw is None:
        return service.gpt.config.deadline()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise BadDeadline(f"{DEADLINE_HEADER} must be a positive number of seconds, not {raw[:40]!r}")
    return service.gpt.config.deadline(seconds)


RequestDeadline = Annotated[Deadline, Depends(request_deadline)]


Reply = Callable[[DoneEvent, list[dict[str, Any]]], Response]


async def _run(
    request: Request,
    service: Service,
    messages: list[ChatMessage],
    until: Until,
    reply: Reply,
    deadline: Deadline,
) -> Response:
    """A whole run to its done event, answered by ``reply(done, errors)``; or the HTTP error that stopped it."""
    timing.mark(request.scope, "parse")
    if (unready := serving.llm_unready(service)) is not None:
        return unready
    started = await serving.start(service.gpt.run(messages, until=until, deadline=deadline))
    if isinstance(started, Response):
        return started
    done, errors = await serving.collect(service, started)
    timing.mark(request.scope, "run")
    return client_closed() if done is None else reply(done, errors)


# --- OpenAI-compatible ---


@router.post("/v1/chat/completions")
@cancel_on_disconnect
async def chat_completions(
    body: ChatCompletionRequest, request: Request, service: CurrentService, deadline: RequestDeadline
) -> Response:
    if body.model != service.public_model_name:
        return error(
            404, f"model {body.model!r} does not exist; use {service.public_model_name!r}", "model_not_found"
        )
    if not body.stream:
        reply = functools.partial(serving.completion, service)
        return await _run(request, service, body.messages, "answer", reply, deadline)
    if (unready := serving.llm_unready(service)) is not None:
        return unready
    started = await serving.start(service.gpt.run(body.messages, deadline=deadline))
    if isinstance(started, Response):
        return started
    include_usage = bool((body.stream_options or {}).get("include_usage"))
    stream = until_disconnected(request, serving.openai_sse(service, started, include_usage))
    return StreamingResponse(stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.get("/v1/models")
async def models(service: CurrentService) -> dict[str, Any]:
    states = await service.states()
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
    remote = service.remote_states()
    for model_id, state in sorted(states.items()):
        spec = service.catalog.get(model_id)
        entry = {
            "id": model_id,
            "object": "model",
            "created": 0,
            "owned_by": model_id.split("/")[0],
            "task": spec.task if spec else None,
            "status": state,
        }
        if model_id in remote:  # also (or only) served remotely: its endpoint's status and provider
            entry["remote"] = dict(remote[model_id])
        data.append(entry)
    return {"object": "list", "data": data}


# --- JARVIS-compatible ---


@router.post("/hugginggpt")
@cancel_on_disconnect
async def hugginggpt(
    body: JarvisRequest, request: Request, service: CurrentService, deadline: RequestDeadline
) -> Response:
    return await _run(request, service, body.messages, "answer", serving.jarvis_answer, deadline)


@router.post("/tasks")
@cancel_on_disconnect
async def tasks(
    body: JarvisRequest, request: Request, service: CurrentService, deadline: RequestDeadline
) -> Response:
    return await _run(request, service, body.messages, "plan", serving.jarvis_tasks, deadline)


@router.post("/results")
@cancel_on_disconnect
async def results(
    body: JarvisRequest, request: Request, service: CurrentService, deadline: RequestDeadline
) -> Response:
    return await _run(request, service, body.messages, "results", serving.jarvis_results, deadline)


# --- plans ---


@router.post("/v1/plans/execute")
@cancel_on_disconnect
async def execute_plan(
    body: ExecutePlanRequest, request: Request, service: CurrentService, deadline: RequestDeadline
) -> Response:
    timing.mark(request.scope, "parse")
    offered = {m.task for m in service.catalog}
    read = functools.partial(plan_from_data, body.tasks, offered, service.gpt.config.max_tasks)
    try:  # a big plan on a thread: a hostile one must not hold the event loop (and /healthz) while read
        plan = read() if _small(request) else await asyncio.to_thread(read)
    except PlanError as e:
        return error(422, f"the plan cannot run: {e}", "invalid_plan")
    timing.mark(request.scope, "plan")
    until: Until = "answer" if body.respond else "results"
    events = service.gpt.run_plan(plan, body.request, until=until, deadline=deadline)
    if body.stream:
        stream = until_disconnected(request, serving.event_sse(service, events))
        return StreamingResponse(stream, media_type="text/event-stream")
    started = await serving.start(events, refuse=False)
    assert isinstance(started, serving.Started)
    done, errors = await serving.collect(service, started)
    timing.mark(request.scope, "run")
    return client_closed() if done is None else serving.respond(done, serving.summary(done, errors))


# A plan body this small reads in well under a millisecond (FastAPI parsed its JSON on the loop already):
# the read stays on the loop, sparing a worker-thread round trip on every request.
INLINE_PLAN_BYTES = 16 * 1024


def _small(request: Request) -> bool:
    length = request.headers.get("content-length", "")
    return length.isdigit() and int(length) <= INLINE_PLAN_BYTES


# --- artifacts ---


@router.post("/v1/artifacts", status_code=201)
async def upload(request: Request, service: CurrentService) -> Response:
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if not media_type.startswith(UPLOAD_KINDS):
        return error(
            415,
            f"upload raw image, audio or video bytes with their Content-Type (got {media_type or 'none'!r})",
            "unsupported_media_type",
        )
    try:
        extension_for(media_type)
    except ValueError:
        known = ", ".join(sorted(t for t in MEDIA_TYPES.values() if t.startswith(UPLOAD_KINDS)))
        return error(
            415, f"media type {media_type!r} is not supported; use one of {known}", "unsupported_media_type"
        )
    data = await request.body()
    if not data:
        return error(400, "the upload is empty", "empty_upload")
    kind = media_type.split("/")[0]
    try:  # the bytes decide what is stored and served back, never the declared type alone
        media_type = vet_media(data, kind, "the upload")
    except UnsafeSourceError as e:
        return error(413, str(e), "media_too_large")
    except ExpertInputError as e:
        return error(415, str(e), "unsupported_media_type")
    try:
        artifact_id = await asyncio.to_thread(service.store.put, data, media_type)
    except StorageError as e:
        return serving.storage_refusal(e)
    body = {"id": artifact_id, "url": ARTIFACT_URL_PREFIX + artifact_id, "media_type": media_type}
    return JSONResponse({**body, "bytes": len(data)}, status_code=201)


@router.get(ARTIFACT_URL_PREFIX + "{artifact_id}")
async def download(artifact_id: str, request: Request, service: CurrentService) -> Response:
    try:
        f, size, media_type = await asyncio.to_thread(service.store.open, artifact_id)
    except StorageError as e:
        return serving.storage_refusal(e)
    except InvalidArtifactId:
        return error(
            400, f"{artifact_id[:80]!r} is not an artifact id (<sha256>.<ext>)", "invalid_artifact_id"
        )
    except ArtifactNotFound:
        return error(404, f"no artifact {artifact_id}", "artifact_not_found")
    # Content-addressed: the bytes behind an id never change.
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{artifact_id}"'}
    return file_response(f, size, media_type, request.headers.get("range"), headers)


# --- health ---


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(service: CurrentService) -> Response:
    states = await service.states()
    live = await service.live_models()
    # Degraded: some experts serve, others cannot (a lost node's, say); still ready, since what is live
    # serves, and the body says what is missing until Serve brings it back.
    down = sorted(m for m in states if m not in live)
    body = {
        "status": ("degraded" if down else "ready") if live else "not_ready",
        "llm": service.llm_description,
        "experts": dict(sorted(states.items())),
        "live_experts": len(live),
        "unavailable_experts": down,
    }
    if not live:
        return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER_S})
    return JSONResponse(body)


# --- the app ---


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"msg": "invalid request", "loc": ()}
    if first.get("type") == "json_invalid":
        return error(400, "the request body is not valid JSON", "invalid_json")
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return error(400, f"{where or 'body'}: {first['msg']}", "invalid_request")


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """FastAPI's and Starlette's own refusals (no route, wrong method, a body no parser could read) in
    the one error shape."""
    path = request.url.path[:200]
    if exc.status_code == 404:
        return error(404, f"no route {path!r}", "not_found")
    if exc.status_code == 405:
        return error(
            405, f"{request.method} is not allowed on {path!r}", "method_not_allowed", headers=exc.headers
        )
    if exc.status_code == 400:  # FastAPI's "error parsing the body": too deep, a huge integer, ...
        return error(400, "the request body could not be read as JSON", "invalid_json")
    return error(exc.status_code, str(exc.detail)[:200], "http_error", headers=exc.headers)


async def _bad_deadline(request: Request, exc: BadDeadline) -> JSONResponse:
    return error(400, str(exc), "invalid_request")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s", request.url.path)
    return error(500, "internal error; the service logged the details", "internal_error")


def create_api(get_service: Callable[[], Service]) -> FastAPI:
    app = FastAPI(title="HuggingGPT on Ray Serve", version="0.1.0")
    app.state.get_service = get_service
    # Added innermost first: CORS and the security headers wrap everything, the metrics see refusals,
    # the key and rate checks come before any body is read.
    app.add_middleware(BodyLimit, limit=lambda: get_service().max_body_bytes)
    app.add_middleware(Admission, limit=lambda: get_service().max_active_requests)
    app.add_middleware(
        Guard, state=lambda: get_service().access, usage=lambda k, o: get_service().metrics.access(k, o)
    )
    app.add_middleware(Measured, metrics=lambda: get_service().metrics)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(Cors, origins=lambda: get_service().access.policy.cors_origins)
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(BadDeadline, _bad_deadline)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    app.include_router(router)
    mount_web(app)
    return app
