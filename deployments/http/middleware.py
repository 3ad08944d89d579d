"""Pure ASGI middleware (Starlette's BaseHTTPMiddleware would hide the client's disconnect from the
routes): the request body limit, per-route request metrics and the Server-Timing header."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deployments.http import timing
from deployments.http.protocol import error


def too_large(limit: int):
    return error(413, f"the request body exceeds {limit:,} bytes", "body_too_large")


class BodyLimit:
    """413 for bodies above the limit, whether or not the client sent Content-Length. A body without one
    (chunked) is read here, up to the limit, before any route sees it: a route that parses JSON would
    otherwise turn the overflow into a parse error."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit()
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            # The server holds the client to its Content-Length; only the declared size needs a check.
            if length.isdigit() and int(length) > limit:
                return await too_large(limit)(scope, receive, send)
            return await self.app(scope, receive, send)
        body, first = bytearray(), None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first = message  # the client left while sending: the route sees it
                break
            body += message.get("body", b"")
            if len(body) > limit:
                return await too_large(limit)(scope, receive, send)
            if not message.get("more_body", False):
                break
        replay = [first or {"type": "http.request", "body": bytes(body), "more_body": False}]

        async def replayed() -> Message:
            return replay.pop() if replay else await receive()

        await self.app(scope, replayed, send)


class Measured:
    """Request count and time to response start per route template; the Server-Timing header."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Any]):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        timing.start(scope)

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")
                self.metrics().request(route, message["status"], time.perf_counter() - start)
                if (value := timing.header(scope)) is not None:
                    message = {**message, "headers": [*message.get("headers", []), (timing.HEADER, value)]}
            await send(message)

        await self.app(scope, receive, timed_send)
