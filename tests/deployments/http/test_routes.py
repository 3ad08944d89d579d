"""The HTTP contract, in process: real FastAPI app, real offline experts, the scripted LLM."""

import json

import pytest

from deployments.http.timing import parse as server_timing
from tests.controller.helpers import echo_urls, plan_reply
from tests.deployments.conftest import make_service

CHAT = "/v1/chat/completions"
DRAW_AND_DESCRIBE = plan_reply(
    {"id": 0, "task": "text-to-image", "args": {"text": "a red bicycle"}},
    {"id": 1, "task": "image-classification", "args": {"image": "<GENERATED>-0"}},
    {"id": 2, "task": "image-to-text", "args": {"image": "<GENERATED>-0"}},
)


def ask(content="draw a red bicycle and tell me what it is", **extra):
    return {"model": "hugginggpt", "messages": [{"role": "user", "content": content}], **extra}


async def test_chat_completion_returns_answer_and_working_artifact_urls(client, llm_script):
    llm_script.on("plan", DRAW_AND_DESCRIBE)
    llm_script.on("respond", echo_urls)
    r = await client.post(CHAT, json=ask())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["usage"]["total_tokens"] > 0
    answer = body["choices"][0]["message"]["content"]
    results = body["hugginggpt"]["results"]
    assert [x["status"] for x in results] == ["ok", "ok", "ok"]
    image_url = results[0]["outputs"]["image"]
    assert image_url in answer
    img = await client.get(image_url)
    assert img.status_code == 200 and img.headers["content-type"] == "image/png"
    assert img.content.startswith(b"\x89PNG") and "immutable" in img.headers["cache-control"]


async def test_streaming_carries_stage_events_and_answer_deltas(client, llm_script):
    llm_script.on("plan", DRAW_AND_DESCRIBE)
    llm_script.on("respond", "Here is your bicycle.")
    r = await client.post(CHAT, json=ask(stream=True, stream_options={"include_usage": True}))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    chunks = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    assert r.text.rstrip().endswith("data: [DONE]")
    events = [c["hugginggpt"]["type"] for c in chunks if "hugginggpt" in c]
    assert events[0] == "plan" and events[-1] == "done"
    assert {"selected", "task_started", "task_finished"} <= set(events)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Here is your bicycle."
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


async def test_jarvis_routes(client, llm_script):
    llm_script.on("plan", DRAW_AND_DESCRIBE)
    llm_script.on("respond", "done")
    messages = {"messages": [{"role": "user", "content": "draw a bicycle"}]}
    tasks = (await client.post("/tasks", json=messages)).json()
    assert [t["task"] for t in tasks] == ["text-to-image", "image-classification", "image-to-text"]
    assert tasks[1] == {
        "id": 1,
        "task": "image-classification",
        "dep": [0],
        "args": {"image": "<GENERATED>-0"},
    }
    results = (await client.post("/results", json=messages)).json()
    assert set(results) == {"0", "1", "2"}
    assert results["0"]["inference result"]["image"].startswith("/v1/artifacts/")
    assert results["1"]["choose model result"]["id"] == "offline/tiny-vit"
    assert llm_script.calls("respond") == []  # /results stops before the answer
    answer = (await client.post("/hugginggpt", json=messages)).json()
    assert answer["message"] == "done"


async def test_execute_a_given_plan_without_the_planner(client, llm_script):
    plan = [
        {"id": 0, "task": "text-to-speech", "args": {"text": "hello there"}},
        {"id": 1, "task": "automatic-speech-recognition", "args": {"audio": "<GENERATED>-0"}},
    ]
    r = await client.post("/v1/plans/execute", json={"tasks": plan, "request": "say and transcribe"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["status"] for x in body["results"]] == ["ok", "ok"]
    assert "hello" in body["results"][1]["outputs"]["text"].lower()  # real Piper voice, real Whisper
    assert llm_script.requests == []  # no planning, no answer
    # Where the time went inside the service, as browsers' devtools and the benchmark read it.
    spans = server_timing(r.headers["server-timing"])
    assert list(spans) == ["parse", "plan", "run", "render", "app"]
    assert sum(spans.values()) - spans["app"] == pytest.approx(spans["app"], abs=1e-4)


async def test_a_plan_that_cannot_run_is_422(client):
    r = await client.post(
        "/v1/plans/execute",
        json={"tasks": [{"id": 0, "task": "summarization", "args": {"text": "<GENERATED>-3"}}]},
    )
    assert r.status_code == 422 and "does not exist" in r.json()["error"]["message"]


async def test_models_list_has_the_orchestrator_and_every_live_expert(client):
    body = (await client.get("/v1/models")).json()
    ids = {m["id"]: m for m in body["data"]}
    assert body["object"] == "list" and ids["hugginggpt"]["task"] == "orchestration"
    assert (
        ids["offline/tiny-detr"]["task"] == "object-detection"
        and ids["offline/tiny-detr"]["status"] == "LOCAL"
    )


async def test_upload_then_use_the_artifact_in_a_request(client, llm_script):
    from tests.experts.expert_samples import png_bytes

    up = await client.post("/v1/artifacts", content=png_bytes(), headers={"Content-Type": "image/png"})
    assert up.status_code == 201
    url = up.json()["url"]
    llm_script.on(
        "plan",
        lambda body: plan_reply(
            {
                "id": 0,
                "task": "image-classification",
                "args": {"image": body["messages"][-1]["content"].split()[-1]},
            }
        ),
    )
    llm_script.on("respond", "classified")
    r = await client.post(CHAT, json=ask(f"what is in {url}"))
    result = r.json()["hugginggpt"]["results"][0]
    assert result["status"] == "ok" and result["inputs"]["image"] == url


async def test_image_attached_as_a_data_url_is_stored_and_planned_by_url(client, llm_script):
    import base64

    from tests.experts.expert_samples import png_bytes

    data_url = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    llm_script.on("plan", '{"tasks": []}')
    llm_script.on("chat", "ok")
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": data_url}},
    ]
    r = await client.post(
        CHAT, json={"model": "hugginggpt", "messages": [{"role": "user", "content": content}]}
    )
    assert r.status_code == 200
    seen = llm_script.calls("plan")[0]["messages"][-1]["content"]
    assert "[attached image: /v1/artifacts/" in seen and "base64" not in seen  # media never reaches the LLM


async def test_audio_attached_as_input_audio_is_stored_and_transcribed_by_url(client, llm_script):
    """An OpenAI `input_audio` part: the bytes become an artifact, the planner sees its URL (never the
    base64), and the expert reads the stored audio. Catches the part dropped or passed on inline."""
    import base64
    import hashlib

    from tests.experts.expert_samples import wav_bytes

    wav = wav_bytes()
    url = f"/v1/artifacts/{hashlib.sha256(wav).hexdigest()}.wav"
    llm_script.on(
        "plan", plan_reply({"id": 0, "task": "automatic-speech-recognition", "args": {"audio": url}})
    )
    llm_script.on("respond", "transcribed")
    content = [
        {"type": "text", "text": "what is said here?"},
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(wav).decode(), "format": "wav"}},
    ]
    r = await client.post(
        CHAT, json={"model": "hugginggpt", "messages": [{"role": "user", "content": content}]}
    )
    assert r.status_code == 200, r.text
    seen = llm_script.calls("plan")[0]["messages"][-1]["content"]
    assert f"[attached audio: {url}]" in seen and "base64" not in seen
    result = r.json()["hugginggpt"]["results"][0]
    assert result["status"] == "ok" and result["inputs"]["audio"] == url
    assert (await client.get(url)).content == wav


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "invalid_json"),
        ({"json": {"model": "hugginggpt"}}, 400, "invalid_request"),
        ({"json": {"model": "hugginggpt", "messages": []}}, 400, "invalid_request"),
        (
            {"json": {"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}},
            404,
            "model_not_found",
        ),
        (
            {"json": {"model": "hugginggpt", "messages": [{"role": "user", "content": ""}]}},
            400,
            "invalid_request",
        ),
        (
            {"json": {"model": "hugginggpt", "messages": [{"role": "user", "content": "x" * 30_000}]}},
            400,
            "invalid_request",
        ),
        (
            {"content": b"x" * (3 * 1024 * 1024), "headers": {"Content-Type": "application/json"}},
            413,
            "body_too_large",
        ),
    ],
)
async def test_bad_requests_get_openai_style_errors(client, llm_script, kwargs, status, code):
    r = await client.post(CHAT, **kwargs)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"] and "Traceback" not in r.text
    assert llm_script.requests == []


@pytest.mark.parametrize("route", ["/v1/artifacts", CHAT, "/v1/plans/execute", "/hugginggpt", "/tasks"])
async def test_chunked_oversize_body_is_413_on_every_route(client, llm_script, route):
    """No Content-Length to check up front: the limit must hold while the body streams in, on every route
    that reads a body (the Ray proxy's own case is in test_ray_app.py). Catches a limit that trusts the
    header alone, or that only the upload route applies."""

    async def body():
        for _ in range(40):
            yield b"x" * 100_000

    r = await client.post(route, content=body(), headers={"Content-Type": "image/png"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    assert llm_script.requests == []


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        # Traversal spelled so that it reaches the handler: a literal "../" is normalised away by the
        # client and "%2F" decodes to a "/" that the one-segment route never matches (the router's 404).
        ("/v1/artifacts/%2E%2E", 400, "invalid_artifact_id"),
        ("/v1/artifacts/..%5C..%5Cetc%5Cpasswd", 400, "invalid_artifact_id"),
        ("/v1/artifacts/not-an-id.png", 400, "invalid_artifact_id"),
        ("/v1/artifacts/" + "0" * 64 + ".png", 404, "artifact_not_found"),
    ],
)
async def test_bad_artifact_ids(client, path, status, code):
    """Catches a download handler that hands the id to the store unchecked (the codes come only from the
    handler, so a request the router refuses cannot pass)."""
    r = await client.get(path)
    assert r.status_code == status and r.json()["error"]["code"] == code


async def test_uploads_must_be_media(client):
    r = await client.post(
        "/v1/artifacts", content=b"#!/bin/sh", headers={"Content-Type": "text/x-shellscript"}
    )
    assert r.status_code == 415
    r = await client.post("/v1/artifacts", content=b"", headers={"Content-Type": "image/png"})
    assert r.status_code == 400


async def test_llm_down_is_503_with_retry_after(client, llm_script):
    llm_script.on("plan", "", status=502)
    r = await client.post(CHAT, json=ask())
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["error"]["code"] == "llm_unavailable"


async def test_no_llm_configured_is_503_saying_what_to_set(
    client, llm_script, experts, offline_catalog, store
):
    client.holder["service"] = make_service(llm_script, experts, offline_catalog, store, llm_ready=False)
    r = await client.post(CHAT, json=ask())
    assert r.status_code == 503 and "OPENAI_API_KEY" in r.json()["error"]["message"]


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["live_experts"] >= 24


async def test_not_ready_until_an_expert_is_live(client, llm_script, experts, offline_catalog, store):
    """Every expert still starting (Serve says UNHEALTHY for now): a load balancer must hold traffic back.
    Catches readiness that only says the process is up."""
    starting = frozenset(m.id for m in offline_catalog if m.runnable)
    client.holder["service"] = make_service(llm_script, experts, offline_catalog, store, unhealthy=starting)
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["retry-after"] == "5"
    assert ready.json()["live_experts"] == 0 and ready.json()["status"] == "not_ready"
    assert (await client.get("/healthz")).status_code == 200  # alive all the same: no restart


async def test_readiness_says_degraded_and_what_is_missing_while_some_experts_are_down(
    client, llm_script, experts, offline_catalog, store
):
    """A lost node takes its experts with it: the rest still serve (200), and readiness names what is gone,
    as /v1/models does, until Serve brings them back."""
    drawing = frozenset(m.id for m in offline_catalog.models_for("text-to-image"))
    client.holder["service"] = make_service(llm_script, experts, offline_catalog, store, unhealthy=drawing)
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "degraded" and body["unavailable_experts"] == sorted(drawing)
    models = {m["id"]: m["status"] for m in (await client.get("/v1/models")).json()["data"]}
    assert all(models[m] == "UNHEALTHY" for m in drawing)
    client.holder["service"] = make_service(llm_script, experts, offline_catalog, store)
    body = (await client.get("/readyz")).json()
    assert body["status"] == "ready" and body["unavailable_experts"] == []


async def test_unavailable_experts_are_503_with_the_results_kept(
    client, llm_script, experts, offline_catalog, store
):
    down = frozenset(m.id for m in offline_catalog.models_for("image-classification"))
    client.holder["service"] = make_service(llm_script, experts, offline_catalog, store, unhealthy=down)
    plan = [
        {"id": 0, "task": "image-classification", "args": {"image": "/v1/artifacts/" + "a" * 64 + ".png"}}
    ]
    r = await client.post("/v1/plans/execute", json={"tasks": plan})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    result = r.json()["results"][0]
    assert result["status"] == "failed" and result["error_code"] == "expert_unavailable"
    # One success is a useful answer: 200, with the failure reported beside it.
    plan.append({"id": 1, "task": "text-to-speech", "args": {"text": "hello"}})
    r = await client.post("/v1/plans/execute", json={"tasks": plan})
    assert r.status_code == 200 and [x["status"] for x in r.json()["results"]] == ["failed", "ok"]


# --- one error shape, whatever refuses ---


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/no/such/route", {}, 404, "not_found"),
        ("GET", "/v1/chat/completions", {}, 405, "method_not_allowed"),
        ("DELETE", "/v1/models", {}, 405, "method_not_allowed"),
        ("POST", CHAT, {"content": b"[" * 10_000 + b"]" * 10_000}, 400, "invalid_json"),
        ("POST", CHAT, {"content": b'{"model": ' + b"9" * 5000 + b"}"}, 400, "invalid_json"),
        ("POST", CHAT, {"content": b"\xff\xfe not utf-8"}, 400, "invalid_json"),
    ],
)
async def test_framework_refusals_use_the_openai_error_body(client, method, path, kwargs, status, code):
    headers = {"Content-Type": "application/json"} if "content" in kwargs else {}
    r = await client.request(method, path, headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and r.json()["error"]["code"] == code
    assert r.headers["x-content-type-options"] == "nosniff"
    if status == 405:
        assert "GET" in r.headers["allow"] or "POST" in r.headers["allow"]


async def test_an_html_upload_declared_as_png_is_refused_and_not_stored(client, store):
    html = b"<html><script>alert(1)</script></html>"
    r = await client.post("/v1/artifacts", content=html, headers={"Content-Type": "image/png"})
    assert r.status_code == 415 and "is not image" in r.json()["error"]["message"]
    from experts.artifacts import artifact_id_for

    assert not store.exists(artifact_id_for(html, "image/png"))


async def test_an_upload_is_stored_and_served_as_what_its_bytes_are(client):
    from tests.experts.expert_samples import png_bytes

    # A PNG declared as JPEG: kept, served as image/png, and the browser is told not to guess.
    up = await client.post("/v1/artifacts", content=png_bytes(), headers={"Content-Type": "image/jpeg"})
    assert (
        up.status_code == 201 and up.json()["media_type"] == "image/png" and up.json()["id"].endswith(".png")
    )
    got = await client.get(up.json()["url"])
    assert got.headers["content-type"] == "image/png" and got.headers["x-content-type-options"] == "nosniff"


async def test_a_huge_image_upload_is_413(client):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (5000, 5000)).save(buf, format="PNG")  # 25 MP in ~30 KB
    r = await client.post("/v1/artifacts", content=buf.getvalue(), headers={"Content-Type": "image/png"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "media_too_large"


async def test_attachments_of_a_refused_request_are_not_stored(client, store, llm_script):
    import base64

    from experts.artifacts import artifact_id_for
    from tests.experts.expert_samples import png_bytes

    image = png_bytes(13, 7)
    fine = {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(image).decode()},
    }
    fake = {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"<html>").decode()},
    }
    for content in (
        [fine, {"type": "text", "text": "x" * 30_000}],  # then too long
        [fine, fake],  # then an attachment that is not what it says
    ):
        r = await client.post(
            CHAT, json={"model": "hugginggpt", "messages": [{"role": "user", "content": content}]}
        )
        assert r.status_code == 400, r.text
    assert "is not image" in r.json()["error"]["message"]
    assert not store.exists(artifact_id_for(image, "image/png")) and llm_script.requests == []
