"""The real HTTP API on a loopback port, in a background thread: what a browser or the CLI talks to."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from deployments.http.routes import create_api
from deployments.http.service import Service


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


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
