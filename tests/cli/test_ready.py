"""`hugginggpt serve` says when the experts are live: the watcher against the real API, and against a
service that starts slowly or never brings one expert up."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from cli.ready import EXAMPLE, wait_until_ready
from tests.loopback import LoopbackServer


def test_the_real_api_with_its_experts_live_is_announced_ready(live):
    said: list[str] = []
    assert wait_until_ready(live.url, said.append, timeout_s=10, interval_s=0.05) == "ready"
    experts = sum(1 for m in live.holder.current.catalog if m.runnable)
    assert said == [f"Ready: {experts} experts live at {live.url}. Try: {EXAMPLE}"]


@contextmanager
def starting(answers: list[tuple[int, dict] | None]) -> Iterator[str]:
    """The URL of a service whose /readyz answers these in turn, the last one from then on (None: 404, as
    before Serve's proxy has the route)."""
    app = FastAPI()
    calls = iter(answers)

    @app.get("/readyz")
    def readyz():
        answer = next(calls, answers[-1])
        if answer is None:
            return JSONResponse({"detail": "no route yet"}, status_code=404)
        return JSONResponse(answer[1], status_code=answer[0])

    server = LoopbackServer(app)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


NOT_READY = (503, {"status": "not_ready", "live_experts": 0, "unavailable_experts": ["a", "b"]})
DEGRADED = (200, {"status": "degraded", "live_experts": 1, "unavailable_experts": ["b"]})
READY = (200, {"status": "ready", "live_experts": 2, "unavailable_experts": []})


def test_it_waits_through_a_slow_start_and_says_ready_once():
    said: list[str] = []
    with starting([None, NOT_READY, NOT_READY, DEGRADED, READY]) as url:
        assert wait_until_ready(url, said.append, timeout_s=10, interval_s=0.01) == "ready"
    assert len(said) == 1 and said[0].startswith("Ready: 2 experts live")


def test_an_expert_that_never_comes_up_is_named_after_the_grace_period():
    said: list[str] = []
    with starting([NOT_READY, DEGRADED]) as url:
        assert wait_until_ready(url, said.append, grace_s=0.2, interval_s=0.01) == "degraded"
    assert said == [f"Ready with 1 experts live at {url}; not live yet: b."]


def test_nothing_listening_times_out_and_a_gone_service_stops_the_watch_silently():
    said: list[str] = []
    nobody = "http://127.0.0.1:9"  # discard port: connection refused
    assert wait_until_ready(nobody, said.append, timeout_s=0.1, interval_s=0.01) == "timeout"
    assert said and said[0].startswith("Not ready after 0 s")
    said.clear()
    assert wait_until_ready(nobody, said.append, alive=lambda: False) == "stopped" and said == []


def watch_from_a_process(url: str, lives_s: float) -> str:
    """What a process that starts the watcher and then lives ``lives_s`` (as `serve run` would) prints,
    its watcher included: the pipe closes only once both have exited."""
    code = (
        "import sys, time; from cli.ready import announce_when_ready; "
        f"announce_when_ready({url!r}, lambda line: print(line, flush=True)); time.sleep({lives_s})"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    return done.stdout


def test_the_watcher_speaks_beside_the_service_and_ends_with_it():
    with starting([READY]) as url:
        assert watch_from_a_process(url, 2).startswith("Ready: 2 experts live")
    with starting([NOT_READY]) as url:  # the service goes before it is ready: so does the watcher
        assert watch_from_a_process(url, 0.3) == ""  # (else the pipe would stay open 15 minutes)
