"""Load shedding at the door: at most ``limit()`` pipeline runs at once in this ingress replica; one more
is refused at once with 503 + Retry-After (the OpenAI error body) instead of waiting behind the others.
A run holds its slot until its response is fully sent (streams included). Health, models and artifact
routes are never shed: they are cheap and say whether the service is alive."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from deployments.http.protocol import RETRY_AFTER_S, error

RUN_ROUTES = frozenset({"/v1/chat/completions", "/hugginggpt", "/tasks", "/results", "/v1/plans/execute"})


class Admission:
    def __init__(self, app: ASGIApp, limit: Callable[[], int]):
        self.app, self.limit = app, limit
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in RUN_ROUTES:
            return await self.app(scope, receive, send)
        limit = self.limit()
        if self.active >= limit:
            refused = error(
                503,
                f"the service is at capacity ({limit} requests running); retry after {RETRY_AFTER_S} s",
                "overloaded",
                headers={"Retry-After": RETRY_AFTER_S},
            )
            return await refused(scope, receive, send)
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
