"""Reliability through the HTTP contract, in process: deadlines, the LLM down / stalled / answering
garbage, load shedding, a full store, streamed and ranged downloads. Every failure is a typed
OpenAI-shaped error within the deadline, and what was already produced is kept."""

from __future__ import annotations

import asyncio
import errno
import hashlib

import httpx
import pytest

from deployments.http.routes import create_api
from tests.controller.experts_double import TimedExperts
from tests.controller.helpers import plan_reply
from tests.deployments.conftest import make_service

CHAT = "/v1/chat/completions"
DRAW = plan_reply({"id": 0, "task": "text-to-image", "args": {"text": "a red bicycle"}})


def ask(content: str = "draw a red bicycle") -> dict:
    return {"model": "hugginggpt", "messages": [{"role": "user", "content": content}]}


def openai_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["code"] == code and body["message"] and body["type"]
    return body


async def test_an_llm_stalling_past_the_deadline_is_a_typed_504_within_it(client, llm_script):
    llm_script.on("plan", DRAW, delay_s=8)  # longer than the client below is willing to wait
    r = await client.post(CHAT, json=ask(), headers={"X-Request-Timeout": "1"}, timeout=4)
    assert "deadline" in openai_error(r, 504, "deadline_exceeded")["message"]


async def test_a_bad_deadline_header_is_400_and_a_long_one_is_clamped_to_the_cap(client, llm_script):
    for bad in ("soon", "-1", "0", "nan"):
        r = await client.post(CHAT, json=ask(), headers={"X-Request-Timeout": bad})
        openai_error(r, 400, "invalid_request")
    llm_script.on("plan", DRAW)
    llm_script.on("respond", "here")
    r = await client.post(CHAT, json=ask(), headers={"X-Request-Timeout": "100000"})
    assert r.status_code == 200, r.text


async def test_llm_answering_garbage_is_a_typed_503_not_a_500(client, llm_script):
    llm_script.on("plan", "", raw="<html>502 Bad Gateway</html>")
    r = await client.post(CHAT, json=ask(), timeout=10)
    openai_error(r, 503, "llm_unavailable")


async def test_an_llm_that_is_not_there_is_a_typed_503(client, llm_script, experts, offline_catalog, store):
    service = make_service(llm_script, experts, offline_catalog, store)
    service.gpt.llm._client = service.gpt.llm._client.with_options(base_url="http://127.0.0.1:9/v1")
    client.holder["service"] = service
    r = await client.post(CHAT, json=ask(), timeout=10)
    assert r.headers["retry-after"]
    openai_error(r, 503, "llm_unavailable")


async def test_past_the_deadline_running_experts_are_stopped_and_finished_results_kept(
    client, llm_script, offline_catalog, store
):
    slow = TimedExperts(latency_s={"text-to-image": 60})
    client.holder["service"] = make_service(llm_script, slow, offline_catalog, store)
    plan = [
        {"id": 0, "task": "summarization", "args": {"text": "a long text"}},
        {"id": 1, "task": "text-to-image", "args": {"text": "a slow picture"}},
    ]
    body = {"tasks": plan, "request": "summarise and draw", "respond": True}
    llm_script.on("respond", "never reached: the deadline has passed", delay_s=8)
    r = await client.post("/v1/plans/execute", json=body, headers={"X-Request-Timeout": "1"}, timeout=6)
    assert r.status_code == 200, r.text  # one task succeeded: a useful answer
    done = r.json()
    ok, late = done["results"]
    assert ok["status"] == "ok" and ok["outputs"]["text"]
    assert late["status"] == "timeout" and late["error_code"] == "deadline_exceeded"
    assert slow.cancelled == ["text-to-image"]  # the expert call was cancelled, not left running
    assert done["answer_source"] == "fallback" and ok["outputs"]["text"] in done["answer"]
    assert [e["code"] for e in done["errors"]] == ["deadline_exceeded"]


async def test_nothing_done_by_the_deadline_is_504_carrying_the_results(
    client, llm_script, offline_catalog, store
):
    slow = TimedExperts(latency_s={"text-to-image": 60})
    client.holder["service"] = make_service(llm_script, slow, offline_catalog, store)
    plan = [{"id": 0, "task": "text-to-image", "args": {"text": "a slow picture"}}]
    r = await client.post("/v1/plans/execute", json={"tasks": plan}, headers={"X-Request-Timeout": "0.5"})
    assert r.status_code == 504 and r.json()["results"][0]["error_code"] == "deadline_exceeded"


async def test_a_burst_above_capacity_is_shed_at_once_then_served_again(llm_script, offline_catalog, store):
    slow = TimedExperts(latency_s={"text-to-image": 1.0})
    service = make_service(llm_script, slow, offline_catalog, store)
    service.max_active_requests = 2
    llm_script.on("plan", DRAW)
    llm_script.on("respond", "drawn")
    app = create_api(lambda: service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        replies = await asyncio.gather(*(c.post(CHAT, json=ask(), timeout=20) for _ in range(8)))
        statuses = sorted(r.status_code for r in replies)
        assert statuses == [200, 200] + [503] * 6
        shed = next(r for r in replies if r.status_code == 503)
        assert shed.headers["retry-after"] == "5"
        openai_error(shed, 503, "overloaded")
        assert (await c.get("/healthz")).status_code == 200  # health is never shed
        assert (await c.post(CHAT, json=ask(), timeout=20)).status_code == 200  # full service again


def _png(seed: int) -> bytes:
    """A real PNG (uploads are vetted by their bytes), different per seed so nothing is stored yet."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (seed, 0, 0)).save(out, format="PNG")
    return out.getvalue()


async def test_uploads_to_a_full_store_are_507_and_to_a_read_only_one_503(client, monkeypatch):
    for err, status, code in ((errno.ENOSPC, 507, "storage_full"), (errno.EROFS, 503, "storage_unavailable")):

        def refuse(fd, err=err):  # the OS refusing the write: the edge we do not own
            raise OSError(err, "refused")

        monkeypatch.setattr("experts.artifacts.os.fsync", refuse)
        r = await client.post("/v1/artifacts", content=_png(err), headers={"Content-Type": "image/png"})
        assert r.headers["retry-after"]
        openai_error(r, status, code)


async def test_downloads_stream_with_byte_ranges(client, store):
    data = bytes(range(256)) * 1024  # 256 KiB: several chunks
    artifact_id = store.put(data, "audio/wav")
    url = f"/v1/artifacts/{artifact_id}"
    whole = await client.get(url)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert hashlib.sha256(whole.content).hexdigest() == artifact_id.split(".")[0]
    assert int(whole.headers["content-length"]) == len(data)
    for header, first, last in (
        ("bytes=10-19", 10, 19),
        ("bytes=262000-", 262000, len(data) - 1),
        ("bytes=-5", len(data) - 5, len(data) - 1),
    ):
        part = await client.get(url, headers={"Range": header})
        assert part.status_code == 206 and part.content == data[first : last + 1]
        assert part.headers["content-range"] == f"bytes {first}-{last}/{len(data)}"
    beyond = await client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"
    openai_error(beyond, 416, "range_not_satisfiable")


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-3", "bytes=x-y"])
async def test_ranges_we_do_not_serve_get_the_whole_file(client, store, header):
    artifact_id = store.put(b"0123456789", "audio/wav")
    r = await client.get(f"/v1/artifacts/{artifact_id}", headers={"Range": header})
    assert r.status_code == 200 and r.content == b"0123456789"
