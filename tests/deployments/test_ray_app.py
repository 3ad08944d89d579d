"""The application on a real local Ray cluster, over real HTTP, with the official openai client."""

import time

import httpx
import openai
from ray.serve.metrics import Counter, Histogram

from deployments.metrics import METRICS
from tests.controller.helpers import echo_urls, plan_reply

FAN_OUT_AND_JOIN = plan_reply(
    {"id": 0, "task": "text-to-image", "args": {"text": "a harbour at night"}},
    {"id": 1, "task": "object-detection", "args": {"image": "<GENERATED>-0"}},  # dedicated deployment
    {"id": 2, "task": "image-classification", "args": {"image": "<GENERATED>-0"}},  # pool, on demand
    {"id": 3, "task": "image-to-text", "args": {"image": "<GENERATED>-0"}},
    {"id": 4, "task": "summarization", "args": {"text": "<GENERATED>-1 <GENERATED>-2 <GENERATED>-3"}},
)


def test_fan_out_and_join_over_http_with_working_artifacts(ray_app, llm_script):
    llm_script.on("plan", FAN_OUT_AND_JOIN)
    llm_script.on("respond", echo_urls)
    client = openai.OpenAI(base_url=ray_app.url + "/v1", api_key="unused")
    completion = client.chat.completions.create(
        model="hugginggpt", messages=[{"role": "user", "content": "draw a harbour, then analyse it"}]
    )
    extra = completion.model_extra["hugginggpt"]
    assert [r["status"] for r in extra["results"]] == ["ok"] * 5, extra["results"]
    assert extra["tasks"][4]["dep"] == [1, 2, 3]
    answer = completion.choices[0].message.content
    urls = {r["outputs"][k] for r in extra["results"] for k in ("image",) if k in r["outputs"]}
    assert len(urls) == 2  # the generated image and the detection rendering
    for url in urls:
        assert url in answer
        got = httpx.get(ray_app.url + url, timeout=10)
        assert got.status_code == 200 and got.content.startswith(b"\x89PNG")


def test_streaming_with_the_openai_client(ray_app, llm_script):
    llm_script.on("plan", plan_reply({"id": 0, "task": "text-to-image", "args": {"text": "a kite"}}))
    llm_script.on("respond", "Here is a kite for you.")
    client = openai.OpenAI(base_url=ray_app.url + "/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="hugginggpt", messages=[{"role": "user", "content": "draw a kite"}], stream=True
    )
    text, events = "", []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.model_extra and "hugginggpt" in chunk.model_extra:
            events.append(chunk.model_extra["hugginggpt"]["type"])
    assert text == "Here is a kite for you."
    assert events[0] == "plan" and "task_finished" in events and events[-1] == "done"


def test_models_readiness_and_errors_through_the_proxy(ray_app, llm_script):
    models = httpx.get(ray_app.url + "/v1/models", timeout=10).json()["data"]
    status = {m["id"]: m["status"] for m in models}
    assert status["offline/tiny-detr"] == "HEALTHY" and status["offline/tiny-vit"] == "ON_DEMAND"
    assert httpx.get(ray_app.url + "/readyz", timeout=10).status_code == 200
    page = httpx.get(ray_app.url + "/", timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()
    script = httpx.get(ray_app.url + "/ui/app.js", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    r = httpx.post(
        ray_app.url + "/v1/chat/completions",
        content=b"{oops",
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    llm_script.on("plan", "", status=500)
    r = httpx.post(
        ray_app.url + "/v1/chat/completions",
        timeout=30,
        json={"model": "hugginggpt", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 503 and r.headers["retry-after"]


def test_an_expert_failure_is_a_task_failure_not_a_500(ray_app, llm_script):
    llm_script.on(
        "plan",
        plan_reply(
            {"id": 0, "task": "object-detection", "args": {"image": "/v1/artifacts/" + "a" * 64 + ".png"}}
        ),
    )
    llm_script.on("respond", "could not do it")
    r = httpx.post(
        ray_app.url + "/v1/chat/completions",
        timeout=30,
        json={"model": "hugginggpt", "messages": [{"role": "user", "content": "detect"}]},
    )
    assert r.status_code == 200
    result = r.json()["hugginggpt"]["results"][0]
    assert result["status"] == "failed" and result["error"].startswith("ArtifactNotFound")
    assert "ray::" not in result["error"] and "Traceback" not in result["error"]


def test_every_metric_is_exported_by_ray_after_one_request(ray_app, llm_script):
    """One request whose plan has a success and an expert failure: every metric in METRICS (the README's
    list, see tests/test_readme.py) reaches Ray's Prometheus endpoint from the ingress or an expert replica.
    Catches a metric declared but never recorded, or recorded in a process Ray does not scrape."""
    llm_script.on(
        "plan",
        plan_reply(
            {"id": 0, "task": "text-to-image", "args": {"text": "a kite"}},
            {"id": 1, "task": "object-detection", "args": {"image": "/v1/artifacts/" + "b" * 64 + ".png"}},
        ),
    )
    llm_script.on("respond", "ok")
    httpx.post(
        ray_app.url + "/v1/chat/completions",
        timeout=60,
        json={"model": "hugginggpt", "messages": [{"role": "user", "content": "draw a kite, find things"}]},
    )
    suffix = {Counter: "_total", Histogram: "_bucket"}
    wanted = {f"ray_{name}{suffix[metric.kind]}" for name, metric in METRICS.items()}
    seen: set[str] = set()
    deadline = time.monotonic() + 60  # replicas push metrics every few seconds
    while time.monotonic() < deadline and not wanted <= seen:
        text = httpx.get(ray_app.metrics_url, timeout=10).text
        seen = {line.split("{")[0] for line in text.splitlines() if line.startswith("ray_hugginggpt")}
        time.sleep(2)
    assert wanted <= seen, sorted(wanted - seen)
    counted = [line for line in text.splitlines() if line.startswith("ray_hugginggpt_tasks_total")]
    assert any('task="text-to-image"' in line and 'outcome="ok"' in line for line in counted), counted
    errors = [line for line in text.splitlines() if line.startswith("ray_hugginggpt_expert_errors_total")]
    assert any('kind="bad_input"' in line for line in errors), errors  # the caller's fault


def test_a_chunked_oversize_body_is_413_through_the_proxy(ray_app):
    """No Content-Length through Serve's proxy: the ingress still stops the body at max_body_bytes."""
    limit = ray_app.args["max_body_bytes"]

    def body():
        for _ in range(limit // 65_536 + 2):
            yield b"x" * 65_536

    r = httpx.post(ray_app.url + "/v1/chat/completions", content=body(), timeout=60)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
