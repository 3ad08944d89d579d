"""The real HTTP API on a loopback port, in a background thread: what a browser or the CLI talks to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from deployments.http.routes import create_api
from deployments.http.service import Service
from tests.loopback import LoopbackServer


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL."""
    server = LoopbackServer(app)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


class SwappableService:
    """Holds the Service the server serves, so one server can serve each test's own Service."""

    def __init__(self) -> None:
        self.current: Service | None = None

    def __call__(self) -> Service:
        assert self.current is not None, "a test must set the service first"
        return self.current


@contextmanager
def api_server() -> Iterator[tuple[str, SwappableService]]:
    holder = SwappableService()
    with serving(create_api(holder)) as url:
        yield url, holder
