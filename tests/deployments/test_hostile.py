"""Hostile input against the real app (a local Ray cluster, real HTTP): every case gets the right status
and the one error body (or, for a plan that runs, a failed task that says why), and /healthz, asked while
the hostile request is in flight, still answers in under 200 ms."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from PIL import Image

from experts.fetch import REFUSED_DESTINATION
from tests.experts.expert_samples import png_bytes, wav_bytes

CHAT, EXECUTE, UPLOAD = "/v1/chat/completions", "/v1/plans/execute", "/v1/artifacts"
MAX_BODY = 25 * 1024 * 1024  # AppArgs.max_body_bytes, as the session's app runs
ID = "0" * 64


@dataclass
class Case:
    name: str
    method: str
    path: str
    status: int
    code: str  # the error body's code; "task:<code>" for a plan that runs and fails that task
    kwargs: dict[str, Any] = field(default_factory=dict)
    says: str = ""  # a phrase the message must hold


def chat(content: Any = "hello", **body: Any) -> dict[str, Any]:
    return {"json": {"model": "hugginggpt", "messages": [{"role": "user", "content": content}], **body}}


def raw(data: bytes, content_type: str = "application/json") -> dict[str, Any]:
    return {"content": data, "headers": {"Content-Type": content_type}}


def plan(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"json": {"tasks": list(tasks)}}


def one(task: str, **args: Any) -> dict[str, Any]:
    return plan({"id": 0, "task": task, "args": args})


def image_part(url: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": url}}]


def data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def big_png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (width, height)).save(buf, format="PNG")
    return buf.getvalue()


def chunked(size: int):
    async def body():
        sent = 0
        while sent < size:
            yield b"x" * 1_000_000
            sent += 1_000_000

    return body


HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SSRF_URLS = [
    "http://127.0.0.1/a.png",
    "http://localhost:8265/api/jobs/",
    "http://[::1]/a.png",
    "http://[::ffff:127.0.0.1]/a.png",
    "http://0.0.0.0:8000/healthz",
    "http://10.0.0.1/a.png",
    "http://169.254.169.254/latest/meta-data/iam/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[2002:7f00:1::1]/a.png",
    "http://[2002:a9fe:a9fe::1]/latest/meta-data/",
    "http://[fec0::1]/a.png",
    "http://[64:ff9b::7f00:1]/a.png",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/a.png",
    "http://100.64.0.1/a.png",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://2130706433/a.png",  # 127.0.0.1 as one decimal number
]
UNKNOWN_PATHS = [
    "/admin", "/.env", "/.git/config", "/v2/chat/completions", "/v1/completions", "/v1/embeddings",
    "/v1/models/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/ui/../../serve_config.yaml",
    "/ui/nonexistent.js", "/" + "a" * 4000, "/api/serve/applications/", "/metrics",
]  # fmt: skip
WRONG_METHODS = [
    ("GET", CHAT), ("PUT", CHAT), ("GET", EXECUTE), ("GET", "/tasks"), ("GET", "/hugginggpt"),
    ("DELETE", "/v1/models"), ("PATCH", "/results"), ("POST", "/healthz"), ("PUT", UPLOAD),
    ("DELETE", f"{UPLOAD}/{ID}.png"), ("OPTIONS", CHAT), ("GET", UPLOAD),
]  # fmt: skip

CASES: list[Case] = [
    # --- bodies no parser can read ---
    Case("malformed json", "POST", CHAT, 400, "invalid_json", raw(b"{not json")),
    Case("json cut off", "POST", CHAT, 400, "invalid_json", raw(b'{"model": "hugginggpt", "messages": [')),
    Case("trailing garbage", "POST", CHAT, 400, "invalid_json", raw(b'{"model": "x"} trailing')),
    Case("arrays 10000 deep", "POST", CHAT, 400, "invalid_json", raw(b"[" * 10_000 + b"]" * 10_000)),
    Case("objects 10000 deep", "POST", CHAT, 400, "invalid_json", raw(b'{"a":' * 10_000 + b"1" + b"}" * 10_000)),
    Case("5000-digit integer", "POST", CHAT, 400, "invalid_json", raw(b'{"model": ' + b"9" * 5000 + b"}")),
    Case("5000-digit id in a plan", "POST", EXECUTE, 400, "invalid_json",
         raw(b'{"tasks": [{"id": ' + b"7" * 5000 + b', "task": "summarization"}]}')),
    Case("invalid utf-8", "POST", CHAT, 400, "invalid_json", raw(b'{"model": "\xff\xfe"}')),
    Case("empty body", "POST", CHAT, 400, "invalid_request", raw(b"")),
    Case("NaN model", "POST", CHAT, 400, "invalid_request", raw(b'{"model": NaN, "messages": []}')),
    Case("a list, not an object", "POST", CHAT, 400, "invalid_request", {"json": [1, 2, 3]}),
    Case("a string, not an object", "POST", CHAT, 400, "invalid_request", {"json": "hello"}),
    Case("null body", "POST", CHAT, 400, "invalid_request", {"json": None}),
    Case("oversize with Content-Length", "POST", CHAT, 413, "body_too_large", raw(b"x" * (MAX_BODY + 1))),
    Case("oversize chunked", "POST", CHAT, 413, "body_too_large", {"content": "chunked"}),
    Case("oversize chunked upload", "POST", UPLOAD, 413, "body_too_large",
         {"content": "chunked", "headers": {"Content-Type": "image/png"}}),
    # --- chat requests that are not requests ---
    Case("no messages", "POST", CHAT, 400, "invalid_request", {"json": {"model": "hugginggpt"}}),
    Case("empty messages", "POST", CHAT, 400, "invalid_request", {"json": {"model": "hugginggpt", "messages": []}}),
    Case("messages is a string", "POST", CHAT, 400, "invalid_request", {"json": {"model": "hugginggpt", "messages": "hi"}}),
    Case("message without role", "POST", CHAT, 400, "invalid_request",
         {"json": {"model": "hugginggpt", "messages": [{"content": "hi"}]}}),
    Case("unknown role", "POST", CHAT, 400, "invalid_request",
         {"json": {"model": "hugginggpt", "messages": [{"role": "root", "content": "hi"}]}}),
    Case("content is a number", "POST", CHAT, 400, "invalid_request", chat(12345)),
    Case("unknown content part", "POST", CHAT, 400, "invalid_request", chat([{"type": "exec", "cmd": "id"}])),
    Case("stream is not a bool", "POST", CHAT, 400, "invalid_request", chat(stream="sometimes")),
    Case("unknown model", "POST", CHAT, 404, "model_not_found", {"json": {**chat()["json"], "model": "gpt-5"}}),
    Case("model is huge", "POST", CHAT, 404, "model_not_found", {"json": {**chat()["json"], "model": "m" * 100_000}}),
    Case("empty content", "POST", CHAT, 400, "invalid_request", chat("")),
    Case("blank content", "POST", CHAT, 400, "invalid_request", chat("   \n\t ")),
    Case("content too long", "POST", CHAT, 400, "invalid_request", chat("x" * 20_001), "at most 20,000"),
    Case("only a system message", "POST", CHAT, 400, "invalid_request",
         {"json": {"model": "hugginggpt", "messages": [{"role": "system", "content": "obey"}]}}),
    Case("last turn from the assistant", "POST", CHAT, 400, "invalid_request",
         {"json": {"model": "hugginggpt", "messages": [{"role": "user", "content": "hi"},
                                                       {"role": "assistant", "content": "yes"}]}}),
    Case("html posing as png", "POST", CHAT, 400, "invalid_request", chat(image_part(data_url("image/png", HTML))), "is not image"),
    Case("wav posing as an image", "POST", CHAT, 400, "invalid_request", chat(image_part(data_url("image/png", wav_bytes())))),
    Case("text/html data url", "POST", CHAT, 400, "invalid_request", chat(image_part(data_url("text/html", HTML)))),
    Case("data url not base64", "POST", CHAT, 400, "invalid_request", chat(image_part("data:image/png,%3Chtml%3E"))),
    Case("data url broken base64", "POST", CHAT, 400, "invalid_request", chat(image_part("data:image/png;base64,@@@@"))),
    Case("empty data url", "POST", CHAT, 400, "invalid_request", chat(image_part("data:image/png;base64,"))),
    Case("javascript: url", "POST", CHAT, 400, "invalid_request", chat(image_part("javascript:alert(1)"))),
    Case("file: url", "POST", CHAT, 400, "invalid_request", chat(image_part("file:///etc/passwd"))),
    Case("a local path", "POST", CHAT, 400, "invalid_request", chat(image_part("/etc/passwd"))),
    Case("gopher url", "POST", CHAT, 400, "invalid_request", chat(image_part("gopher://127.0.0.1:6379/_FLUSHALL"))),
    Case("input_audio not base64", "POST", CHAT, 400, "invalid_request",
         chat([{"type": "input_audio", "input_audio": {"data": "%%%", "format": "wav"}}])),
    Case("input_audio holding a png", "POST", CHAT, 400, "invalid_request",
         chat([{"type": "input_audio", "input_audio": {"data": base64.b64encode(png_bytes()).decode(), "format": "wav"}}]),
         "is not audio"),
    # --- JARVIS routes ---
    Case("jarvis without messages", "POST", "/hugginggpt", 400, "invalid_request", {"json": {}}),
    Case("jarvis empty messages", "POST", "/tasks", 400, "invalid_request", {"json": {"messages": []}}),
    Case("jarvis messages as text", "POST", "/results", 400, "invalid_request", {"json": {"messages": "run rm -rf"}}),
    Case("jarvis content too long", "POST", "/tasks", 400, "invalid_request",
         {"json": {"messages": [{"role": "user", "content": "y" * 50_000}]}}),
    # --- plans ---
    Case("tasks is not a list", "POST", EXECUTE, 400, "invalid_request", {"json": {"tasks": "all of them"}}),
    Case("unknown plan field", "POST", EXECUTE, 400, "invalid_request", {"json": {"tasks": [], "shell": "id"}}),
    Case("request is not text", "POST", EXECUTE, 400, "invalid_request", {"json": {"tasks": [], "request": {"a": 1}}}),
    Case("unknown task type", "POST", EXECUTE, 422, "invalid_plan", one("rm-rf", text="/")),
    Case("a task that is a string", "POST", EXECUTE, 400, "invalid_request", plan("summarization")),  # type: ignore[arg-type]
    Case("eleven tasks", "POST", EXECUTE, 422, "invalid_plan",
         plan(*({"id": i, "task": "summarization", "args": {"text": "x"}} for i in range(11))), "at most 10"),
    Case("a cycle", "POST", EXECUTE, 422, "invalid_plan",
         plan({"id": 0, "task": "summarization", "args": {"text": "<GENERATED>-1"}},
              {"id": 1, "task": "summarization", "args": {"text": "<GENERATED>-0"}}), "cycle"),
    Case("a dangling reference", "POST", EXECUTE, 422, "invalid_plan", one("summarization", text="<GENERATED>-7"), "does not exist"),
    Case("a reference to itself", "POST", EXECUTE, 422, "invalid_plan", one("summarization", text="<GENERATED>-0"), "its own output"),
    Case("a 5000-digit reference", "POST", EXECUTE, 422, "invalid_plan", one("summarization", text="<GENERATED>-" + "9" * 5000), "does not exist"),
    Case("a 5000-digit node reference", "POST", EXECUTE, 422, "invalid_plan", one("summarization", text="<node-" + "9" * 5000 + ">"), "does not exist"),
    Case("<node + 1M digits", "POST", EXECUTE, 422, "invalid_plan", one("summarization", text="<node" + "1" * 1_000_000)),
    Case("<generated> + 1M spaces", "POST", EXECUTE, 422, "invalid_plan", one("summarization", text="<generated>" + " " * 1_000_000)),
    Case("<output of + 1M letters", "POST", EXECUTE, 422, "invalid_plan", one("summarization", text="<output of " + "a" * 1_000_000)),
    Case("a missing required input", "POST", EXECUTE, 422, "invalid_plan", one("image-classification"), "lacks its required"),
    Case("speech of a book", "POST", EXECUTE, 422, "invalid_plan", one("text-to-speech", text="word " * 4000), "at most 5,000"),
    Case("a novel as a prompt", "POST", EXECUTE, 422, "invalid_plan", one("text-to-image", text="a cat " * 1000), "at most 2,000"),
    Case("text over 20,000", "POST", EXECUTE, 422, "invalid_plan", one("summarization", text="z" * 20_001), "at most 20,000"),
    Case("thousands of labels", "POST", EXECUTE, 422, "invalid_plan",
         one("zero-shot-classification", text="hi", labels=",".join(f"l{i}" for i in range(1000))), "1,000 labels"),
    Case("a list of 1000 texts", "POST", EXECUTE, 422, "invalid_plan", one("summarization", text=["x"] * 1000), "1,000 items"),
    # --- plans that run, and fail the one task, saying why ---
    Case("a prompt past the model's context", "POST", EXECUTE, 200, "task:bad_input",
         one("text-generation", text="word " * 3000), "reads at most"),
    Case("a 25-megapixel image", "POST", EXECUTE, 200, "task:bad_input",
         one("image-classification", image=data_url("image/png", big_png(5000, 5000))), "pixels"),
    Case("html as an image argument", "POST", EXECUTE, 200, "task:bad_input",
         one("image-classification", image=data_url("image/png", HTML)), "is not image"),
    Case("a missing artifact", "POST", EXECUTE, 200, "task:bad_input",
         one("image-classification", image=f"/v1/artifacts/{ID}.png")),
    *(Case(f"ssrf {url}", "POST", EXECUTE, 200, "task:bad_input", one("image-classification", image=url),
           REFUSED_DESTINATION) for url in SSRF_URLS),
    # --- routes and methods that do not exist ---
    *(Case(f"unknown path {p[:40]}", "GET", p, 404, "not_found") for p in UNKNOWN_PATHS),
    *(Case(f"{m} {p}", m, p, 405, "method_not_allowed") for m, p in WRONG_METHODS),
    # --- artifacts ---
    Case("artifact id not an id", "GET", f"{UPLOAD}/not-an-id.png", 400, "invalid_artifact_id"),
    Case("artifact id with an exe", "GET", f"{UPLOAD}/{ID}.exe", 400, "invalid_artifact_id"),
    Case("artifact id in capitals", "GET", f"{UPLOAD}/{'A' * 64}.png", 400, "invalid_artifact_id"),
    Case("artifact id traversal", "GET", f"{UPLOAD}/..%2f..%2fserve_config.yaml", 404, "not_found"),
    Case("artifact id huge", "GET", f"{UPLOAD}/{'f' * 5000}.png", 400, "invalid_artifact_id"),
    Case("artifact not stored", "GET", f"{UPLOAD}/{ID}.png", 404, "artifact_not_found"),
    Case("upload html", "POST", UPLOAD, 415, "unsupported_media_type", raw(HTML, "text/html")),
    Case("upload svg", "POST", UPLOAD, 415, "unsupported_media_type", raw(b"<svg onload=alert(1)>", "image/svg+xml")),
    Case("upload json", "POST", UPLOAD, 415, "unsupported_media_type", raw(b"{}", "application/json")),
    Case("upload without a type", "POST", UPLOAD, 415, "unsupported_media_type", {"content": png_bytes()}),
    Case("upload html as png", "POST", UPLOAD, 415, "unsupported_media_type", raw(HTML, "image/png"), "is not image"),
    Case("upload html as png with params", "POST", UPLOAD, 415, "unsupported_media_type", raw(HTML, "image/png; charset=utf-8")),
    Case("upload png as audio", "POST", UPLOAD, 415, "unsupported_media_type", raw(png_bytes(), "audio/wav"), "is not audio"),
    Case("upload wav as video", "POST", UPLOAD, 415, "unsupported_media_type", raw(wav_bytes(), "video/mp4")),
    Case("upload a polyglot", "POST", UPLOAD, 415, "unsupported_media_type", raw(b"GIF89a" + HTML, "image/gif"), "not a readable image"),
    Case("upload empty", "POST", UPLOAD, 400, "empty_upload", raw(b"", "image/png")),
    Case("upload 25 megapixels", "POST", UPLOAD, 413, "media_too_large", raw(big_png(5000, 5000), "image/png"), "pixels"),
]  # fmt: skip


@pytest.fixture(scope="module")
async def api(ray_app):
    async with httpx.AsyncClient(base_url=ray_app.url, timeout=120) as client:
        for _ in range(5):  # warm: the first requests after a deploy pay for imports and connections
            await client.get("/healthz")
            await client.get("/no/such/route")
        yield client


async def _healthz_ms(client: httpx.AsyncClient) -> float:
    start = time.perf_counter()
    r = await client.get("/healthz")
    assert r.status_code == 200
    return (time.perf_counter() - start) * 1000


def test_there_are_at_least_100_cases():
    assert len(CASES) >= 100 and len({c.name for c in CASES}) == len(CASES)


async def _with_probe(ray_app, api: httpx.AsyncClient, case: Case) -> tuple[httpx.Response, float]:
    """The hostile request, and the time /healthz took while it was in flight."""
    kwargs = dict(case.kwargs)
    if kwargs.get("content") == "chunked":
        kwargs["content"] = chunked(MAX_BODY + 2_000_000)()
    async with httpx.AsyncClient(base_url=ray_app.url, timeout=120) as probe:
        await probe.get("/healthz")  # connected before the hostile request starts
        hostile = asyncio.create_task(api.request(case.method, case.path, **kwargs))
        await asyncio.sleep(0.02)
        healthz_ms = await _healthz_ms(probe)
        return await hostile, healthz_ms


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_hostile_input(api, ray_app, llm_script, case: Case):
    r, healthz_ms = await _with_probe(ray_app, api, case)
    if healthz_ms >= 200:  # a loaded machine (2 shared cores) can stall once; a blocked loop stalls again
        r, healthz_ms = await _with_probe(ray_app, api, case)
    assert r.status_code == case.status, r.text[:500]
    assert r.headers["x-content-type-options"] == "nosniff"
    body = r.json()
    if case.code.startswith("task:"):
        (result,) = body["results"]
        assert result["status"] == "failed" and result["error_code"] == case.code[5:], result
        message = result["error"]
    else:
        assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
        assert body["error"]["code"] == case.code, body
        message = body["error"]["message"]
    assert message and case.says in message, message
    assert "Traceback" not in r.text and llm_script.base_url not in r.text
    assert healthz_ms < 200, f"/healthz took {healthz_ms:.0f} ms while {case.name!r} was in flight"


async def test_the_app_serves_loopback_without_keys_and_never_shows_the_llm_address(api, ray_app):
    # Serve hands the replica the client's address: `make run` without keys works from this machine.
    r = await api.get("/v1/models")
    assert r.status_code == 200 and "http" not in json.dumps(r.json()["data"][0])
    ready = await api.get("/readyz")
    assert ray_app.args["llm"]["base_url"] not in ready.text
