"""Cancellation on disconnect: a client that goes away cancels the work it started (and with it the
experts' calls). One decorator for plain routes, one wrapper for streamed bodies."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, Response

from deployments.http.protocol import client_closed

T = TypeVar("T")


class ClientGone(Exception):
    pass


async def disconnected(request: Request) -> None:
    """Returns when the client has gone away. Once the body is read, the next ASGI message can only be
    http.disconnect, so this waits without polling."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_gone(request: Request, work: Awaitable[T], gone: asyncio.Task | None = None) -> T:
    """``await work`` unless the client disconnects first: then cancel it (which cancels the experts'
    work behind it) and raise ClientGone. Cancelled from outside, it cancels ``work`` too."""
    step = asyncio.ensure_future(work)
    watcher = gone or asyncio.create_task(disconnected(request))
    try:
        await asyncio.wait({step, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not step.done():
            raise ClientGone
        return step.result()
    finally:
        if watcher is not gone:
            watcher.cancel()
        if not step.done():
            step.cancel()
            await asyncio.gather(step, return_exceptions=True)


def cancel_on_disconnect(route: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """Run the route unless the client disconnects first; then cancel it and answer 499. The route must
    take ``request: Request`` and have read its body already (FastAPI does, for a model body)."""

    @functools.wraps(route)
    async def guarded(*args: Any, request: Request, **kwargs: Any) -> Response:
        try:
            return await unless_gone(request, route(*args, request=request, **kwargs))
        except ClientGone:
            return client_closed()

    return guarded


async def until_disconnected(request: Request, stream: AsyncIterator[str]) -> AsyncIterator[str]:
    """Relay ``stream``; if the client goes away, even while the stream is quiet (an expert working),
    stop it at once."""
    gone = asyncio.create_task(disconnected(request))
    try:
        while True:
            try:
                yield await unless_gone(request, anext(stream), gone)
            except (ClientGone, StopAsyncIteration):
                return
    finally:
        gone.cancel()
        await stream.aclose()
