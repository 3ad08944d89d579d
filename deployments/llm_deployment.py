"""The embedded LLM as a Ray Serve deployment, and an httpx transport that lets the controller's ordinary
`openai` client reach it through a DeploymentHandle (no HTTP hop, no address to configure).

Deployed only when no external LLM is configured (see build_app). On a GPU cluster the production
choice is ray.serve.llm (vLLM) or any hosted endpoint, reached by the same client over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import httpx
from ray import serve
from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from deployments.http.protocol import error_body
from deployments.llm.engine import GenerationError, LocalLLM
from deployments.llm.openai_api import OpenAIChat

log = logging.getLogger("ray.serve")

T = TypeVar("T")
EMBEDDED_LLM_DEPLOYMENT = "embedded-llm"
_STREAM_ERROR = "error:"  # first item of a stream that was refused; the rest is the JSON error body


@serve.deployment(
    ray_actor_options={"num_cpus": 0},
    max_ongoing_requests=8,  # generations queue on the engine's lock; more would only wait longer
    max_queued_requests=8,  # and past these the caller is refused at once (EmbeddedLLMArgs sets it)
    health_check_period_s=10,
    health_check_timeout_s=60,
)
class EmbeddedLLM:
    def __init__(self, model: str, device: str = "auto", max_tokens: int = 1024):
        self.chat = OpenAIChat(LocalLLM(model, device=device), max_tokens_cap=max_tokens)

    async def complete(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            return 200, await self.chat.complete(self.chat.parse(body))
        except GenerationError as e:
            return 400, error_body(str(e), "invalid_request")

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        try:
            request = self.chat.parse(body)
        except GenerationError as e:
            yield _STREAM_ERROR + json.dumps(error_body(str(e), "invalid_request"))
            return
        async for line in self.chat.stream(request):
            yield line


async def _cancelled_with_caller(call: Awaitable[T], response: Any = None) -> T:
    """Await a handle call; if the caller is cancelled (client gone, deadline passed), cancel the Ray
    call too, so the LLM replica stops decoding for nobody."""
    try:
        return await call
    except asyncio.CancelledError:
        (response or call).cancel()  # type: ignore[union-attr]
        raise


class _HandleStream(httpx.AsyncByteStream):
    def __init__(self, first: str, rest):
        self.first, self.rest = first, rest

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first.encode()
        async for line in self.rest:
            yield line.encode()

    async def aclose(self) -> None:
        self.rest.cancel()  # the reader stopped early: stop generating


class HandleTransport(httpx.AsyncBaseTransport):
    """POST /v1/chat/completions -> EmbeddedLLM.complete / EmbeddedLLM.stream over the handle."""

    def __init__(self, handle: DeploymentHandle):
        self.handle = handle

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return httpx.Response(404, json=error_body(f"no route {request.url.path}", "not_found"))
        body = json.loads(await request.aread())
        try:
            if not body.get("stream"):
                status, payload = await _cancelled_with_caller(self.handle.complete.remote(body))
                return httpx.Response(status, json=payload)
            lines = self.handle.options(stream=True).stream.remote(body)
            first = await _cancelled_with_caller(anext(lines, ""), lines)
        except BackPressureError as e:  # the LLM's queue is full: the client sees a 503, at once
            return httpx.Response(503, json=error_body(f"the embedded LLM is busy: {e}", "overloaded"))
        if first.startswith(_STREAM_ERROR):
            lines.cancel()
            return httpx.Response(
                400,
                content=first[len(_STREAM_ERROR) :].encode(),
                headers={"content-type": "application/json"},
            )
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_HandleStream(first, lines)
        )
