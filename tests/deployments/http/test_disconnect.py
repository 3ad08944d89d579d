"""A client that goes away cancels the work it started, over real HTTP (uvicorn on loopback)."""

import json
import socket
import time

import httpx
import pytest

from tests.controller.experts_double import TimedExperts
from tests.controller.helpers import plan_reply
from tests.deployments.conftest import make_service
from tests.web.conftest import live_api

__all__ = ["live_api"]

SLOW_PLAN = plan_reply({"id": 0, "task": "text-to-image", "args": {"text": "a very slow painting"}})


@pytest.fixture
def slow(live_api, llm_script, offline_catalog, store) -> TimedExperts:
    experts = TimedExperts({"text-to-image": 30.0})
    live_api.holder.current = make_service(llm_script, experts, offline_catalog, store)
    llm_script.on("plan", SLOW_PLAN)
    llm_script.on("respond", "never reached")
    return experts


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_closing_a_stream_cancels_the_running_expert(live_api, slow):
    body = {"model": "hugginggpt", "stream": True, "messages": [{"role": "user", "content": "paint"}]}
    with httpx.stream("POST", live_api.url + "/v1/chat/completions", json=body, timeout=30) as response:
        for line in response.iter_lines():
            if '"task_started"' in line:
                break  # the expert is working; now hang up
    assert wait_for(lambda: slow.cancelled == ["text-to-image"]), slow.cancelled


def test_hanging_up_on_a_plain_request_cancels_the_running_expert(live_api, slow):
    body = json.dumps({"model": "hugginggpt", "messages": [{"role": "user", "content": "paint"}]}).encode()
    host, port = live_api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert wait_for(lambda: slow.started == ["text-to-image"], 30)  # planned, selected, running
    # the socket is closed: the client hung up without reading an answer
    assert wait_for(lambda: slow.cancelled == ["text-to-image"]), slow.cancelled


def test_hanging_up_while_the_llm_plans_stops_the_run(live_api, llm_script, offline_catalog, store):
    experts = TimedExperts()
    live_api.holder.current = make_service(llm_script, experts, offline_catalog, store)
    llm_script.on("plan", SLOW_PLAN, delay_s=3)  # the LLM is still thinking when the client leaves
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            live_api.url + "/v1/chat/completions",
            timeout=1.0,
            json={"model": "hugginggpt", "messages": [{"role": "user", "content": "paint"}]},
        )
    time.sleep(3.5)  # the plan arrives after the client left
    assert experts.started == []  # nothing was started for nobody
