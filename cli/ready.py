"""Say when a starting service can be used: `serve run` reports the deployment submitted long before the
experts have loaded their models, and a request sent in between is told that no expert is running yet.
A watcher beside it polls ``/readyz`` (open without a key) and prints one line once every expert is live,
or, after a grace period with some live and some not, which ones are still missing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import httpx

EXAMPLE = 'hugginggpt ask "Draw a lighthouse at dusk, then describe the picture."'


def wait_until_ready(
    url: str,
    say: Callable[[str], None],
    alive: Callable[[], bool] = lambda: True,
    timeout_s: float = 900.0,
    grace_s: float = 120.0,
    interval_s: float = 2.0,
) -> str:
    """Poll ``url``/readyz until every expert is live ("ready"), some have been live for ``grace_s`` while
    others are not ("degraded"), ``timeout_s`` passes ("timeout") or ``alive()`` turns false ("stopped").
    Says one line for each outcome but "stopped" (the service is gone and has said why)."""
    started = time.monotonic()
    degraded_since: float | None = None
    body: dict = {}
    with httpx.Client(timeout=5.0) as client:
        while alive():
            now = time.monotonic()
            try:  # a failed poll keeps the last answer, for the timeout's message
                got = client.get(url.rstrip("/") + "/readyz").json()
                body = got if isinstance(got, dict) else {}
            except (httpx.HTTPError, ValueError):
                pass
            status, live = body.get("status"), body.get("live_experts", 0)
            if status == "ready":
                say(f"Ready: {live} experts live at {url}. Try: {EXAMPLE}")
                return "ready"
            if status == "degraded":
                degraded_since = degraded_since if degraded_since is not None else now
                if now - degraded_since >= grace_s:
                    missing = ", ".join(body.get("unavailable_experts") or [])
                    say(f"Ready with {live} experts live at {url}; not live yet: {missing}.")
                    return "degraded"
            if now - started >= timeout_s:
                say(f"Not ready after {timeout_s:.0f} s: {url}/readyz says {body or 'nothing'}.")
                return "timeout"
            time.sleep(interval_s)
    return "stopped"


def announce_when_ready(url: str, say: Callable[[str], None]) -> None:
    """Fork a watcher that outlives this process's exec of `serve run` and stops when it exits."""
    parent = os.getpid()
    if os.fork() != 0:
        return
    try:  # the child: never returns into the caller's code
        wait_until_ready(url, say, alive=lambda: os.getppid() == parent)
    finally:
        os._exit(0)
