"""Sample media bytes and a loopback HTTP server for the experts tests (imported by path: tests are not a
package)."""

from __future__ import annotations

import http.server
import io
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PIL import Image

from experts.media import encode_wav


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    pixels = (np.random.default_rng(0).random((height, width, 3)) * 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def wav_bytes(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    t = np.linspace(0, seconds, int(seconds * rate), dtype=np.float32)
    return encode_wav(0.3 * np.sin(2 * np.pi * 440 * t), rate)


@contextmanager
def serving(
    handler: type[http.server.BaseHTTPRequestHandler], host: str = "127.0.0.1"
) -> Iterator[http.server.ThreadingHTTPServer]:
    """A real HTTP server on a free loopback port (IPv6 when ``host`` is "::1"), stopped on exit."""

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    httpd = Server((host, 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
