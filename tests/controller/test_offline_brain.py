"""The default brain without a capable LLM, end to end over the real in-process experts: the trained
planner plans, the experts run, the grounded answer quotes every text output and links every artifact,
and nothing calls an LLM (the configured endpoint would fail the test if it were called)."""

from __future__ import annotations

import re

from controller.config import ControllerConfig, LLMConfig
from controller.llm import LLMClient
from controller.pipeline import HuggingGPT
from tests.controller.helpers import collect


def brain(llm_script, experts, offline_catalog, store) -> HuggingGPT:
    live = {m.id for m in offline_catalog if m.runnable}

    async def live_models():
        return live

    llm = LLMClient(LLMConfig(base_url=llm_script.base_url, model="scripted", max_retries=0))
    return HuggingGPT(
        ControllerConfig(), llm, offline_catalog, experts, live_models, attachments=store, llm_embedded=True
    )


async def test_readme_example_runs_and_the_answer_links_what_was_made(
    llm_script, experts, offline_catalog, store
):
    gpt = brain(llm_script, experts, offline_catalog, store)
    events = await collect(
        gpt.run([{"role": "user", "content": "Draw a lighthouse at dusk, then describe the picture."}])
    )
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
