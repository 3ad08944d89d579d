"""Hybrid inference through the pipeline: local experts (a timed double) beside remote ones (the real
InferenceClient against the scripted Hugging Face server). Selection prefers a live local replica, then a
remote one; a failing or full local expert hands the task on once; answers and events say where it ran."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from controller.schema import DoneEvent, SelectedEvent, StageUsage, Task, TaskStartedEvent
from controller.selection import ModelSelector
from experts.artifacts import ArtifactStore
from experts.errors import ExpertOverloaded
from experts.remote import RemoteExperts
from tests.controller.experts_double import TimedExperts
from tests.controller.helpers import CATALOG, collect, pipeline, plan_reply
from tests.scripted_hf import remote_experts

PAINTER = "runwayml/stable-diffusion-v1-5"
CAPTIONER = "nlpconnect/vit-gpt2-image-captioning"
DETECTOR = "facebook/detr-resnet-50"
SUMMARISER = "facebook/bart-large-cnn"


@pytest.fixture
def make_remote(hf_script, tmp_path: Path):
    def make(models: list[str], **endpoint: Any) -> RemoteExperts:
        return remote_experts(hf_script, ArtifactStore(str(tmp_path / "store")), models=models, **endpoint)

    return make


def task(id: int, name: str, args: dict) -> Task:
    return Task(id=id, task=name, args=args)


async def test_candidates_put_live_local_replicas_before_remote_models(llm_script):
    selector = ModelSelector(None, CATALOG, top_k=5)  # type: ignore[arg-type]
    t = task(0, "text-classification", {"text": "financial news sentiment"})
    remote = {"ProsusAI/finbert": "hf-inference"}  # ranks first on its own (financial tags)
    local = {"distilbert-base-uncased-finetuned-sst-2-english"}
    ids = [m.id for m in selector.candidates(t, "financial sentiment", local, remote)]
    assert ids == ["distilbert-base-uncased-finetuned-sst-2-english", "ProsusAI/finbert"]


async def test_selection_records_where_the_model_runs_and_why():
    selector = ModelSelector(None, CATALOG, top_k=5)  # type: ignore[arg-type]
    t = task(0, "text-to-image", {"text": "a kite"})
    remote_only = await selector.select(t, "draw", set(), StageUsage(), {PAINTER: "hf-inference"})
    assert [r.ran_on for r in remote_only.routes] == ["remote (hf-inference)"]
    assert remote_only.placement == "remote (hf-inference): no live local replica of this model"
    both = await selector.select(t, "draw", {PAINTER}, StageUsage(), {PAINTER: "hf-inference"})
    assert [r.ran_on for r in both.routes] == ["local", "remote (hf-inference)"]
    assert both.placement == "local: a live replica"


MIXED = plan_reply(
    {"id": 0, "task": "text-to-image", "args": {"text": "a lighthouse"}},  # remote only
    {"id": 1, "task": "object-detection", "args": {"image": "<GENERATED>-0"}},  # local
    {"id": 2, "task": "image-to-text", "args": {"image": "<GENERATED>-0"}},  # remote, reads the image
    {"id": 3, "task": "summarization", "args": {"text": "<GENERATED>-1 <GENERATED>-2"}},  # local
)


@pytest.mark.parametrize("scheduler", ["dag", "polling"])
async def test_a_plan_runs_partly_local_partly_remote_and_says_where(
    llm_script, hf_script, make_remote, scheduler: str
):
    """Both schedulers (``controller.scheduler``) hand remote tasks to the remote side."""
    llm_script.on("plan", MIXED)
    llm_script.on("respond", "Done.")
    remote = make_remote([PAINTER, CAPTIONER])
    local = TimedExperts()
    gpt = pipeline(
        llm_script,
        local,
        live={DETECTOR, SUMMARISER},
        remote=remote,
        scheduler=scheduler,
        polling_interval_s=0.02,
    )
    events = await collect(gpt.run([{"role": "user", "content": "draw a lighthouse and describe it"}]))
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert [r.status for r in done.results] == ["ok"] * 4, done.results
    assert [r.ran_on for r in done.results] == ["remote (hf)", "local", "remote (hf)", "local"]
    assert done.results[2].outputs == {"text": "a remote caption of a cat"}
    assert remote.ctx.store.exists(done.results[0].outputs["image"].rsplit("/", 1)[1])
    started = {e.task_id: e.ran_on for e in events if isinstance(e, TaskStartedEvent)}
    assert started == {0: "remote (hf)", 1: "local", 2: "remote (hf)", 3: "local"}
    assert [m for m, *_ in local.calls] == [DETECTOR, SUMMARISER]  # the local side ran only its two
    assert "a remote caption of a cat" in done.results[3].inputs["text"]


async def test_remote_only_runs_every_task_remotely(llm_script, hf_script, make_remote):
    llm_script.on("plan", MIXED)
    llm_script.on("respond", "Done.")
    remote = make_remote([PAINTER, CAPTIONER, DETECTOR, SUMMARISER])
    local = TimedExperts()
    gpt = pipeline(llm_script, local, live=set(), remote=remote)
    done = (await collect(gpt.run([{"role": "user", "content": "draw and describe"}])))[-1]
    assert [(r.status, r.ran_on) for r in done.results] == [("ok", "remote (hf)")] * 4
    assert done.results[3].outputs == {"text": "A short remote summary."}
    assert not local.calls


async def test_a_failing_local_expert_falls_back_to_the_remote_once(llm_script, hf_script, make_remote):
    llm_script.on("plan", plan_reply({"id": 0, "task": "summarization", "args": {"text": "long text"}}))
    llm_script.on("respond", "Done.")
    remote = make_remote([SUMMARISER])
    gpt = pipeline(
        llm_script,
        TimedExperts(fail={"summarization": "CUDA out of memory"}),
        live={SUMMARISER},
        remote=remote,
    )
    events = await collect(gpt.run([{"role": "user", "content": "summarise"}]))
    result = events[-1].results[0]
    assert result.status == "ok" and result.ran_on == "remote (hf)" and not result.overflow
    assert result.fallback == (
        f"{SUMMARISER} on local failed (internal: RuntimeError: CUDA out of memory); "
        f"ran {SUMMARISER} on remote (hf) instead"
    )
    assert [e.ran_on for e in events if isinstance(e, TaskStartedEvent)] == ["local", "remote (hf)"]


async def test_fallback_happens_once_and_never_for_the_inputs_fault(llm_script, hf_script, make_remote):
    llm_script.on("plan", plan_reply({"id": 0, "task": "summarization", "args": {"text": "long text"}}))
    llm_script.on("respond", "Done.")
    remote = make_remote([SUMMARISER], max_retries=0)
    hf_script.fail(SUMMARISER, status=500)
    gpt = pipeline(llm_script, TimedExperts(fail={"summarization": "boom"}), live={SUMMARISER}, remote=remote)
    events = await collect(gpt.run([{"role": "user", "content": "summarise"}]))
    result = events[-1].results[0]
    assert result.status == "failed" and result.error_code == "expert_unavailable" and result.fallback
    assert len(hf_script.calls(SUMMARISER)) == 1
    assert sum(isinstance(e, TaskStartedEvent) for e in events) == 2

    hf_script.faults.clear()
    hf_script.fail(SUMMARISER, status=422, body=b'{"error": "input too long"}')
    gpt = pipeline(llm_script, TimedExperts(), live=set(), remote=remote)
    result = (await collect(gpt.run([{"role": "user", "content": "summarise"}])))[-1].results[0]
    assert result.error_code == "bad_input" and result.fallback is None


async def test_local_only_keeps_its_behaviour_no_fallback(llm_script):
    llm_script.on("plan", plan_reply({"id": 0, "task": "summarization", "args": {"text": "long text"}}))
    llm_script.on("respond", "Done.")
    experts = TimedExperts(fail={"summarization": "boom"})
    events = await collect(pipeline(llm_script, experts).run([{"role": "user", "content": "summarise"}]))
    result = events[-1].results[0]
    assert result.status == "failed" and result.fallback is None and result.ran_on == "local"
    assert sum(isinstance(e, TaskStartedEvent) for e in events) == 1


class FullQueue(TimedExperts):
    async def invoke(self, model_id: str, task: str, inputs: dict[str, Any]) -> dict[str, Any]:
        raise ExpertOverloaded(f"{model_id} is overloaded: its queue is full")


async def test_a_full_local_queue_overflows_to_a_remote_candidate(llm_script, hf_script, make_remote):
    remote = make_remote([PAINTER, CAPTIONER])
    painted = await remote.invoke(PAINTER, "text-to-image", {"text": "a cat"})
    llm_script.on("plan", plan_reply({"id": 0, "task": "image-to-text", "args": {"image": painted["image"]}}))
    llm_script.on("select", json.dumps({"id": "Salesforce/blip-image-captioning-large", "reason": "local"}))
    llm_script.on("respond", "Done.")
    # The local captioner (blip) is live but full; the remote one (vit-gpt2) takes the task.
    gpt = pipeline(llm_script, FullQueue(), live={"Salesforce/blip-image-captioning-large"}, remote=remote)
    events = await collect(gpt.run([{"role": "user", "content": "caption it"}]))
    selected = next(e.selection for e in events if isinstance(e, SelectedEvent))
    assert selected.routes[0].runtime == "local"
    result = events[-1].results[0]
    assert result.status == "ok" and result.overflow and result.ran_on == "remote (hf)"
    assert result.model_id == CAPTIONER and "was full" in (result.fallback or "")


async def test_an_open_circuit_takes_the_remote_models_out_of_the_plan(llm_script, hf_script, make_remote):
    remote = make_remote([PAINTER], max_retries=0, failures_to_open=1, open_s=60)
    hf_script.fail(PAINTER, status=503)
    gpt = pipeline(llm_script, TimedExperts(), live=set(), remote=remote)
    offered, _ = await gpt.offered_tasks()
    assert "text-to-image" in offered
    with pytest.raises(Exception, match="503"):
        await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    offered, _ = await gpt.offered_tasks()
    assert "text-to-image" not in offered
