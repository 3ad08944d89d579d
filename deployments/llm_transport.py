"""An httpx transport that lets the controller's ordinary `openai` client reach the embedded LLM through a
DeploymentHandle (no HTTP hop, no address to configure).

Kept apart from the deployment itself: the ingress imports this, and must not import the engine (torch,
transformers — hundreds of MB the ingress replica would carry for nothing).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import httpx
from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from deployments.http.protocol import error_body

T = TypeVar("T")
EMBEDDED_LLM_DEPLOYMENT = "embedded-llm"
STREAM_ERROR = "error:"  # first item of a stream that was refused; the rest is the JSON error body


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
        if first.startswith(STREAM_ERROR):
            lines.cancel()
            return httpx.Response(
                400,
                content=first[len(STREAM_ERROR) :].encode(),
                headers={"content-type": "application/json"},
            )
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_HandleStream(first, lines)
        )
