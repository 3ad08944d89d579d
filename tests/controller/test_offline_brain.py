"""The default brain without a capable LLM, end to end over the real in-process experts: the trained
planner plans, the experts run, the grounded answer quotes every text output and links every artifact,
and nothing calls an LLM (the configured endpoint would fail the test if it were called)."""

from __future__ import annotations

import re

import httpx
import pytest

from controller.config import ControllerConfig, LLMConfig
from controller.llm import LLMClient
from controller.pipeline import HuggingGPT
from deployments.llm.openai_api import OpenAIChat, create_llm_api
from tests.controller.helpers import collect

LIGHTHOUSE = "Draw a lighthouse at dusk, then describe the picture."


def brain(llm_script, experts, offline_catalog, store, llm: LLMClient | None = None) -> HuggingGPT:
    live = {m.id for m in offline_catalog if m.runnable}

    async def live_models():
        return live

    llm = llm or LLMClient(LLMConfig(base_url=llm_script.base_url, model="scripted", max_retries=0))
    return HuggingGPT(
        ControllerConfig(), llm, offline_catalog, experts, live_models, attachments=store, llm_embedded=True
    )


async def test_readme_example_runs_and_the_answer_links_what_was_made(
    llm_script, experts, offline_catalog, store
):
    gpt = brain(llm_script, experts, offline_catalog, store)
    events = await collect(gpt.run([{"role": "user", "content": LIGHTHOUSE}]))
    done = events[-1]
    assert [t.task for t in done.tasks] == ["text-to-image", "image-to-text"]
    assert done.tasks[0].args["text"] == "a lighthouse at dusk"
    assert [r.status for r in done.results] == ["ok", "ok"]
    image, caption = done.results
    assert done.answer_source == "grounded"
    assert f"![image]({image.outputs['image']})" in done.answer
    assert caption.outputs["text"].strip()[:200] in done.answer  # the caption verbatim
    assert llm_script.calls("plan") == [] and llm_script.calls("respond") == []


async def test_missing_input_is_asked_for_and_nothing_runs(llm_script, experts, offline_catalog, store):
    gpt = brain(llm_script, experts, offline_catalog, store)
    events = await collect(gpt.run([{"role": "user", "content": "transcribe this audio and summarise it"}]))
    done = events[-1]
    assert done.results == [] and done.chitchat
    assert re.search(r"attach the audio", done.answer) and done.answer_source == "grounded"
    assert llm_script.calls("chat") == []


async def test_failed_task_is_named_with_its_reason(llm_script, experts, offline_catalog, store):
    gpt = brain(llm_script, experts, offline_catalog, store)
    events = await collect(
        gpt.run([{"role": "user", "content": "Caption the photo https://127.0.0.1/private.png"}])
    )
    done = events[-1]
    assert [r.status for r in done.results] == ["failed"]
    assert "failed" in done.answer and done.results[0].error in done.answer


@pytest.fixture(scope="module")
def embedded_llm(embedded_engine) -> LLMClient:
    """The real embedded SmolLM2-135M behind its OpenAI-compatible API, in process."""
    app = create_llm_api(OpenAIChat(embedded_engine, max_tokens_cap=256))
    transport = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://embedded")
    return LLMClient(LLMConfig(base_url="http://embedded/v1", model="embedded", max_retries=0), transport)


async def test_a_greeting_after_work_is_answered_without_claiming_that_work(
    llm_script, experts, offline_catalog, store, embedded_llm
):
    """The embedded model, shown the last answer's report as its own words, used to repeat it with a
    broken artifact link: a greeting answered as if it had drawn something."""
    gpt = brain(llm_script, experts, offline_catalog, store, embedded_llm)
    first = (await collect(gpt.run([{"role": "user", "content": LIGHTHOUSE}])))[-1]
    assert "/v1/artifacts/" in first.answer
    conversation = [
        {"role": "user", "content": LIGHTHOUSE},
        {"role": "assistant", "content": first.answer},
        {"role": "user", "content": "Hi! How are you today?"},
    ]
    done = (await collect(gpt.run(conversation)))[-1]
    assert done.chitchat and done.results == [] and done.answer_source == "llm"
    assert done.answer.strip()
    assert "/v1/artifacts/" not in done.answer and "text to image" not in done.answer


async def test_thanks_gets_a_short_reply_that_says_nothing_twice(
    llm_script, experts, offline_catalog, store, embedded_llm
):
    """The embedded model answered "thanks!" with two sentences taking turns until 1,024 tokens (64 s)."""
    gpt = brain(llm_script, experts, offline_catalog, store, embedded_llm)
    done = (await collect(gpt.run([{"role": "user", "content": "thanks!"}])))[-1]
    assert done.chitchat and done.results == [] and done.answer.strip()
    sentences = [" ".join(s.lower().split()) for s in re.split(r"(?<=[.!?])\s+", done.answer.strip())]
    assert len(sentences) == len(set(sentences)), done.answer
    assert done.usage["chat"].completion_tokens <= 256


async def test_what_it_can_do_is_answered_from_the_live_experts(llm_script, experts, offline_catalog, store):
    """Asked by a user, the small chat model invented skills ("editing and proofreading"): the answer is the
    task types that live experts serve, and no LLM is called."""
    gpt = brain(llm_script, experts, offline_catalog, store)
    done = (await collect(gpt.run([{"role": "user", "content": "What can you do?"}])))[-1]
    assert done.chitchat and done.results == [] and done.answer_source == "grounded"
    for task in ("text to image", "image to text", "automatic speech recognition", "translation"):
        assert task in done.answer
    assert llm_script.calls("chat") == []
