"""Hybrid inference over the HTTP API, in process: the real FastAPI app, real offline experts on the local
side, the real InferenceClient against the scripted Hugging Face server on the remote side."""

from __future__ import annotations

import json

import pytest

from tests.controller.helpers import plan_reply
from tests.deployments.conftest import make_service
from tests.scripted_hf import remote_experts

CAPTIONER = "nlpconnect/vit-gpt2-image-captioning"
PLAN = plan_reply(
    {"id": 0, "task": "text-to-image", "args": {"text": "a red bicycle"}},  # local: offline tiny SD
    {
        "id": 1,
        "task": "visual-question-answering",
        "args": {"image": "<GENERATED>-0", "text": "what colour?"},
    },
)


@pytest.fixture
def remote(hf_script, store):
    vqa = "visual-question-answering"
    return remote_experts(hf_script, store, name="my-endpoint", tasks=[vqa], models=[CAPTIONER])


@pytest.fixture
async def hybrid(client, llm_script, experts, offline_catalog, store, remote):
    # The offline VQA models are down, so that VQA can only run remotely.
    down = frozenset(m.id for m in offline_catalog.models_for("visual-question-answering"))
    client.holder["service"] = make_service(
        llm_script, experts, offline_catalog, store, unhealthy=down, remote=remote
    )
    return client


async def test_a_plan_runs_on_the_cluster_and_remotely_and_the_answer_says_where(
    hybrid, llm_script, hf_script
):
    llm_script.on("plan", PLAN)
    llm_script.on("respond", "Done.")
    r = await hybrid.post(
        "/v1/chat/completions",
        json={"model": "hugginggpt", "messages": [{"role": "user", "content": "draw a bike, what colour?"}]},
    )
    assert r.status_code == 200, r.text
    results = r.json()["hugginggpt"]["results"]
    assert [(x["status"], x["ran_on"]) for x in results] == [("ok", "local"), ("ok", "remote (my-endpoint)")]
    assert results[0]["model_id"] == "offline/tiny-stable-diffusion"
    assert results[1]["outputs"] == {"text": "two", "score": 0.8}
    vqa_hits = [h for h in hf_script.hits if h.task == "visual-question-answering"]
    assert len(vqa_hits) == 1  # the locally generated image went to the remote endpoint
    selection = r.json()["hugginggpt"]["selections"][1]
    assert selection["placement"] == "remote (my-endpoint): no live local replica of this model"
    # The respond stage was told where each task ran.
    work = llm_script.calls("respond")[0]["messages"][-1]["content"]
    assert "remote (my-endpoint)" in work


async def test_streamed_events_say_where_each_task_runs(hybrid, llm_script, hf_script):
    llm_script.on("plan", PLAN)
    llm_script.on("respond", "Done.")
    r = await hybrid.post(
        "/v1/chat/completions",
        json={"model": "hugginggpt", "stream": True, "messages": [{"role": "user", "content": "draw"}]},
    )
    chunks = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    events = [c["hugginggpt"] for c in chunks if "hugginggpt" in c]
    started = [(e["task_id"], e["ran_on"]) for e in events if e["type"] == "task_started"]
    assert started == [(0, "local"), (1, "remote (my-endpoint)")]


async def test_models_list_remote_status_and_provider_and_the_open_circuit(hybrid, hf_script, remote):
    body = (await hybrid.get("/v1/models")).json()["data"]
    by_id = {m["id"]: m for m in body}
    assert by_id[CAPTIONER]["status"] == "REMOTE"
    assert by_id[CAPTIONER]["remote"] == {"status": "REMOTE", "provider": "my-endpoint"}
    assert by_id["offline/tiny-vit"]["status"] == "LOCAL" and "remote" not in by_id["offline/tiny-vit"]
    endpoint = remote.endpoints["my-endpoint"]
    endpoint._open_until = endpoint._clock() + 60  # as after failures_to_open failed calls
    by_id = {m["id"]: m for m in (await hybrid.get("/v1/models")).json()["data"]}
    assert by_id[CAPTIONER]["status"] == "REMOTE_UNAVAILABLE"


async def test_remote_only_is_ready_without_local_experts(client, llm_script, experts, store, remote):
    from experts.catalog import Catalog

    service = make_service(llm_script, experts, Catalog([]), store, remote=remote)
    client.holder["service"] = service
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["experts"][CAPTIONER] == "REMOTE"
