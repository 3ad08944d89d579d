"""A FastAPI app served by uvicorn on a loopback port in a background thread: how the scripted servers
that stand in for remote services (the LLM, Hugging Face inference) run."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI


class LoopbackServer:
    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0):
        sock = socket.socket()
        sock.bind((host, port))
        self.port: int = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("loopback server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
