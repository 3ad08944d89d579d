"""Pure ASGI middleware (Starlette's BaseHTTPMiddleware would hide the client's disconnect from the
routes): the request body limit and per-route request metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deployments.http.protocol import error


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI lets it through while it reads a JSON body (any other exception
    there becomes its own 400 "error parsing the body"); the app's handler turns it into the 413."""

    def __init__(self) -> None:
        super().__init__(413)


def too_large(limit: int):
    return error(413, f"the request body exceeds {limit:,} bytes", "body_too_large")


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
            return await too_large(limit)(scope, receive, send)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
            return message

        await self.app(scope, counted, send)


class Measured:
    """Request count and time to response start per route template."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Any]):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")
                self.metrics().request(route, message["status"], time.perf_counter() - start)
            await send(message)

        await self.app(scope, receive, timed_send)
