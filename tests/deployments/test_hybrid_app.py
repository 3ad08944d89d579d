"""Hybrid inference on the real Ray cluster: a second application beside the session's, whose Ingress holds
a handle to one local expert and runs remote experts against the scripted Hugging Face server. A plan runs
partly on the cluster and partly remote; a full local queue overflows to the remote endpoint."""

from __future__ import annotations

import concurrent.futures
import json
import time

import httpx
import pytest

from deployments.expert import ExpertDeployment
from deployments.ingress import Ingress
from deployments.invoker import deployment_name
from deployments.settings import decide
from tests.controller.helpers import plan_reply

APP, PREFIX = "hybrid", "/hybrid"
PAINTER = "offline/tiny-stable-diffusion"
PLAN = plan_reply(
    {"id": 0, "task": "text-to-image", "args": {"text": "a red kite"}},
    {"id": 1, "task": "visual-question-answering", "args": {"image": "<GENERATED>-0", "text": "what is it?"}},
)


@pytest.fixture(scope="module")
def hybrid_app(ray_app, scripted_hf_server, tmp_path_factory):
    from ray import serve

    decided = decide(
        {
            **ray_app.args,
            "artifact_store": str(tmp_path_factory.mktemp("hybrid-artifacts")),
            "experts": {"models": [PAINTER], "pool": False},
            "inference_mode": "hybrid",
            "remote": {
                "endpoints": {"hf": {"base_url": scripted_hf_server.base_url, "backoff_s": 0.01}},
                "tasks": {"visual-question-answering": "hf", "text-to-image": "hf"},
            },
        }
    )
    spec = decided.catalog.get(PAINTER)
    # What build_app binds, with the queue bounds serve_config.yaml would give the deployment: one call at a
    # time and one waiting, so that concurrent calls meet a full expert (Serve's load shedding).
    painter = ExpertDeployment.options(
        name=deployment_name(PAINTER),
        ray_actor_options={"num_cpus": 0},
        max_ongoing_requests=1,
        max_queued_requests=1,
    ).bind(decided.args.artifact_store, "cpu", model=spec.model_dump(mode="json"))
    serve.run(Ingress.bind(decided, {PAINTER: painter}, None, None), name=APP, route_prefix=PREFIX)
    yield ray_app.url + PREFIX
    serve.delete(APP)


def ask(url: str, text: str) -> dict:
    body = {"model": "hugginggpt", "messages": [{"role": "user", "content": text}]}
    r = httpx.post(url + "/v1/chat/completions", json=body, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()["hugginggpt"]


def script(llm_script, hf_script, plan: str) -> None:
    llm_script.on("plan", plan)
    llm_script.on("select", json.dumps({"id": PAINTER, "reason": "the local one"}))
    llm_script.on("respond", "Done.")
    for model_id in ("dandelin/vilt-b32-finetuned-vqa", "Salesforce/blip-vqa-base"):
        hf_script.serve(model_id, "visual-question-answering")


def test_a_plan_runs_partly_on_the_cluster_and_partly_remote(hybrid_app, llm_script, hf_script):
    script(llm_script, hf_script, PLAN)
    extra = ask(hybrid_app, "draw a red kite, then tell me what it is")
    results = extra["results"]
    assert [(r["status"], r["ran_on"]) for r in results] == [("ok", "local"), ("ok", "remote (hf)")], results
    assert results[0]["model_id"] == PAINTER and results[1]["outputs"]["text"] == "two"
    image = httpx.get(hybrid_app + results[0]["outputs"]["image"], timeout=10)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert [h.task for h in hf_script.hits] == ["visual-question-answering"]
    models = {m["id"]: m for m in httpx.get(hybrid_app + "/v1/models", timeout=10).json()["data"]}
    assert models[PAINTER]["status"] == "HEALTHY" and models[PAINTER].get("remote") is None
    assert models["dandelin/vilt-b32-finetuned-vqa"]["remote"] == {"status": "REMOTE", "provider": "hf"}


def test_a_full_local_queue_overflows_to_the_remote_endpoint(hybrid_app, llm_script, hf_script):
    script(llm_script, hf_script, plan_reply({"id": 0, "task": "text-to-image", "args": {"text": "a kite"}}))
    for model_id in _remote_painters(hybrid_app):  # whichever remote candidate ranks first answers
        hf_script.serve(model_id, "text-to-image")
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = [r["results"][0] for r in pool.map(lambda _: ask(hybrid_app, "draw a kite"), range(6))]
    assert all(r["status"] == "ok" for r in results), results
    overflowed = [r for r in results if r["overflow"]]
    assert overflowed, "six concurrent calls on one slot and a one-deep queue: some must overflow"
    assert all(r["ran_on"] == "remote (hf)" and "was full" in r["fallback"] for r in overflowed)
    assert any(r["ran_on"] == "local" for r in results)


def _remote_painters(url: str) -> list[str]:
    models = httpx.get(url + "/v1/models", timeout=10).json()["data"]
    return [m["id"] for m in models if m.get("task") == "text-to-image" and "remote" in m]


def test_metrics_count_calls_per_runtime_and_the_overflow(hybrid_app, ray_app):
    deadline, text = time.monotonic() + 40, ""
    while time.monotonic() < deadline:
        text = httpx.get(ray_app.metrics_url, timeout=10).text
        if "ray_hugginggpt_overflows_total" in text and 'runtime="remote"' in text:
            break
        time.sleep(2)
    calls = [line for line in text.splitlines() if line.startswith("ray_hugginggpt_runtime_calls_total")]
    assert any('runtime="remote"' in line and 'provider="hf"' in line for line in calls), calls
    assert any('runtime="local"' in line for line in calls), calls
    remote = [line for line in text.splitlines() if line.startswith("ray_hugginggpt_remote_calls_total")]
    assert any('key="none"' in line and 'outcome="ok"' in line for line in remote), remote
    assert any(line.startswith("ray_hugginggpt_overflows_total") for line in text.splitlines())
