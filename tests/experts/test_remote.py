"""Remote experts: the real huggingface_hub InferenceClient against a scripted inference server over loopback
HTTP. Every task family comes back in the local experts' typed shape with its media in the artifact store;
failures are bounded, typed, and leave nothing behind."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from experts.adapters.base import ExpertOutput
from experts.artifacts import ArtifactStore, media_type_of
from experts.catalog import read_catalog_file
from experts.errors import ExpertInputError, ExpertOutputError, ExpertUnavailable
from experts.remote import REMOTE_CALLS, RemoteConfig, RemoteExperts, remote_routes
from experts.tasks import TASK_TYPES
from tests.scripted_hf import png, remote_experts, wav

MODELS = read_catalog_file()
SPECS = {m.id: m for m in MODELS}
CAPTIONER = "nlpconnect/vit-gpt2-image-captioning"
PAINTER = "runwayml/stable-diffusion-v1-5"


def make_remote(hf, tmp_path: Path, env=None, **endpoint) -> RemoteExperts:
    store = ArtifactStore(str(tmp_path / "store"))
    return remote_experts(hf, store, tasks=REMOTE_CALLS, env=env, **{"timeout_s": 5, **endpoint})


def stored(remote: RemoteExperts) -> list[str]:
    root = Path(remote.ctx.store.url)
    return sorted(p.name for p in root.rglob("*") if p.is_file())


def inputs_for(store: ArtifactStore) -> dict:
    return {
        "text": "Ada lives in London",
        "text2": "Ada is in London",
        "labels": "travel, cooking",
        "context": "Paris is the capital of France",
        "target_language": "French",
        "image": store.put(png(), "image/png"),
        "audio": store.put(wav(), "audio/wav"),
    }


@pytest.mark.parametrize("task", sorted(REMOTE_CALLS))
async def test_every_task_family_comes_back_typed_with_media_in_the_store(task, hf_script, tmp_path):
    remote = make_remote(hf_script, tmp_path)
    model = next(m for m, _ in remote.routes.items() if SPECS[m].task == task)
    hf_script.serve(model, task)
    inputs = {
        k: v for k, v in inputs_for(remote.ctx.store).items() if TASK_TYPES[task].input(k) or k == "labels"
    }
    out = await remote.invoke(model, task, inputs)
    ExpertOutput.model_validate(out)  # the contract every local expert keeps
    assert set(TASK_TYPES[task].outputs) <= set(out), out
    for kind, media in (("image", "image/png"), ("audio", "audio/wav")):
        if kind in out:
            assert media_type_of(out[kind]) == media and remote.ctx.store.exists(out[kind])
    for segment in out.get("segments", []):
        assert remote.ctx.store.exists(segment["mask"])
    if "text" in out:
        assert out["text"].strip()
    assert hf_script.calls(model), "the call went over HTTP to the scripted server"
    await remote.aclose()


async def test_labels_boxes_and_text_read_from_the_answer(hf_script, tmp_path):
    remote = make_remote(hf_script, tmp_path)
    detector = "facebook/detr-resnet-50"
    hf_script.serve(detector, "object-detection")
    out = await remote.invoke(
        detector, "object-detection", {"image": remote.ctx.store.put(png(), "image/png")}
    )
    assert out["text"] == "2 object(s): cat (0.93), remote (0.60)"
    assert out["boxes"][0] == {
        "label": "cat",
        "score": 0.93,
        "box": {"xmin": 1, "ymin": 2, "xmax": 20, "ymax": 18},
    }
    out = await remote.invoke(CAPTIONER, "image-to-text", {"image": remote.ctx.store.put(png(), "image/png")})
    assert out == {"text": "a remote caption of a cat"}
    await remote.aclose()


async def test_token_from_the_environment_never_a_login_file(hf_script, tmp_path):
    with_token = make_remote(hf_script, tmp_path, env={"HF_TOKEN": "hf_from_secret"})
    await with_token.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert hf_script.hits[-1].authorization == "Bearer hf_from_secret"
    without = make_remote(hf_script, tmp_path, env={})
    await without.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert hf_script.hits[-1].authorization is None
    secret = tmp_path / "token"
    secret.write_text("hf_mounted\n")
    mounted = make_remote(hf_script, tmp_path, token_file=str(secret))
    await mounted.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert hf_script.hits[-1].authorization == "Bearer hf_mounted"
    for r in (with_token, without, mounted):
        await r.aclose()


async def test_a_seed_reaches_the_endpoint_and_none_is_sent_by_default(hf_script, tmp_path):
    remote = make_remote(hf_script, tmp_path)
    await remote.invoke(PAINTER, "text-to-image", {"text": "a kite", "seed": "2"})
    assert json.loads(hf_script.hits[-1].body)["parameters"]["seed"] == 2
    await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert "seed" not in (json.loads(hf_script.hits[-1].body).get("parameters") or {})
    await remote.aclose()


async def test_429_and_model_loading_are_retried_honouring_retry_after(hf_script, tmp_path):
    remote = make_remote(hf_script, tmp_path, max_retries=2)
    hf_script.fail(PAINTER, status=429, headers={"Retry-After": "1"}, times=1)
    loading = json.dumps({"error": "Model is currently loading", "estimated_time": 0.3}).encode()
    hf_script.fail(PAINTER, status=503, body=loading, times=1)
    start = time.monotonic()
    out = await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    hits = [h.at for h in hf_script.calls(PAINTER)]
    assert len(hits) == 3 and "image" in out
    assert hits[1] - hits[0] >= 0.95, "Retry-After: 1 was honoured"
    assert hits[2] - hits[1] >= 0.25, "the loading model's estimated_time was honoured"
    assert time.monotonic() - start < 5
    await remote.aclose()


async def test_retries_are_bounded_and_a_long_retry_after_fails_at_once(hf_script, tmp_path):
    remote = make_remote(hf_script, tmp_path, max_retries=2, max_retry_wait_s=5)
    hf_script.fail(PAINTER, status=503)
    with pytest.raises(ExpertUnavailable, match="503"):
        await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert len(hf_script.calls(PAINTER)) == 3  # one call + max_retries
    hf_script.reset()
    hf_script.serve(PAINTER, "text-to-image")
    hf_script.fail(PAINTER, status=429, headers={"Retry-After": "3600"})
    start = time.monotonic()
    with pytest.raises(ExpertUnavailable, match="429"):
        await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert len(hf_script.calls(PAINTER)) == 1 and time.monotonic() - start < 2
    await remote.aclose()


async def test_a_slow_endpoint_times_out_within_its_budget(hf_script, tmp_path):
    remote = make_remote(hf_script, tmp_path, timeout_s=0.3, max_retries=1)
    hf_script.fail(PAINTER, delay_s=2)
    start = time.monotonic()
    with pytest.raises(ExpertUnavailable, match=r"did not answer within 0\.3 s"):
        await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert time.monotonic() - start < 1.5
    assert len(hf_script.calls(PAINTER)) == 2
    await remote.aclose()


async def test_circuit_breaker_takes_a_failing_endpoint_out_then_tries_it_again(hf_script, tmp_path):
    remote = make_remote(hf_script, tmp_path, max_retries=0, failures_to_open=2, open_s=0.4)
    hf_script.fail(PAINTER, status=500, times=3)
    for _ in range(2):
        with pytest.raises(ExpertUnavailable):
            await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert PAINTER not in remote.reachable() and remote.states()[PAINTER]["status"] == "REMOTE_UNAVAILABLE"
    with pytest.raises(ExpertUnavailable, match="marked unavailable"):
        await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert len(hf_script.calls(PAINTER)) == 2  # an open breaker sends nothing
    await asyncio.sleep(0.45)
    assert remote.reachable()[PAINTER] == "hf"
    with pytest.raises(ExpertUnavailable):  # half-open: one more failure opens it again at once
        await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert PAINTER not in remote.reachable()
    await asyncio.sleep(0.45)
    assert "image" in await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert remote.states()[PAINTER] == {"status": "REMOTE", "provider": "hf"}
    await remote.aclose()


async def test_the_callers_fault_is_bad_input_and_does_not_open_the_breaker(hf_script, tmp_path):
    remote = make_remote(hf_script, tmp_path, max_retries=0, failures_to_open=1)
    hf_script.fail(PAINTER, status=422, body=b'{"error": "prompt too long"}', times=1)
    with pytest.raises(ExpertInputError, match="prompt too long"):
        await remote.invoke(PAINTER, "text-to-image", {"text": "a kite"})
    assert PAINTER in remote.reachable()
    with pytest.raises(ExpertInputError, match="needs input"):
        await remote.invoke(PAINTER, "text-to-image", {})
    await remote.aclose()


@pytest.mark.parametrize(
    ("model", "task", "fault"),
    [
        (CAPTIONER, "image-to-text", {"body": b"{not json", "content_type": "application/json"}),
        (CAPTIONER, "image-to-text", {"body": b'[{"caption": 1}]'}),
        (PAINTER, "text-to-image", {"body": b'{"image": "here"}'}),  # JSON where a PNG belongs
        (PAINTER, "text-to-image", {"body": wav(), "content_type": "audio/wav"}),  # wrong media type
        (PAINTER, "text-to-image", {"body": png() + bytes(100_000), "content_type": "image/png"}),  # oversize
        ("espnet/kan-bayashi_ljspeech_vits", "text-to-speech", {"body": png(), "content_type": "image/png"}),
    ],
)
async def test_a_bad_answer_is_bad_output_and_stores_nothing(model, task, fault, hf_script, tmp_path):
    remote = make_remote(hf_script, tmp_path, max_output_bytes=64 * 1024)
    hf_script.serve(model, task)
    hf_script.fail(model, **fault)
    inputs = {"text": "a kite", "image": remote.ctx.store.put(png(), "image/png")}
    before = stored(remote)
    with pytest.raises(ExpertOutputError) as failure:
        await remote.invoke(model, task, {k: v for k, v in inputs.items() if TASK_TYPES[task].input(k)})
    assert failure.value.code == "bad_output"
    assert stored(remote) == before
    await remote.aclose()


async def test_concurrency_per_endpoint_is_bounded(hf_script, tmp_path):
    remote = make_remote(hf_script, tmp_path, concurrency=1)
    hf_script.fail(PAINTER, delay_s=0.3, times=2)
    start = time.monotonic()
    await asyncio.gather(*(remote.invoke(PAINTER, "text-to-image", {"text": "a kite"}) for _ in range(2)))
    assert time.monotonic() - start >= 0.6
    hits = [h.at for h in hf_script.calls(PAINTER)]
    assert hits[1] - hits[0] >= 0.28  # the second call waited for the first
    await remote.aclose()


def test_routes_cover_hub_models_only_and_refuse_unknown_models():
    config = RemoteConfig.model_validate(
        {"endpoints": {"hf": {"provider": "hf-inference"}}, "tasks": {"image-to-text": "hf"}}
    )
    routes = remote_routes(config, MODELS)
    assert CAPTIONER in routes and not any(m.startswith("offline/") for m in routes)
    with pytest.raises(ValueError, match="not in the catalog"):
        remote_routes(
            RemoteConfig.model_validate({**config.model_dump(), "models": {"me/nothing": "hf"}}), MODELS
        )
    with pytest.raises(ValueError, match="no method for 'depth-estimation'"):
        remote_routes(
            RemoteConfig.model_validate(
                {"endpoints": {"hf": {"provider": "x"}}, "tasks": {"depth-estimation": "hf"}}
            ),
            MODELS,
        )
