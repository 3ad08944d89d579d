import asyncio
import json
import time

from controller.llm import LLMClient
from controller.schema import StageUsage, Task
from controller.selection import ModelSelector, rank
from tests.controller.helpers import CATALOG, MODELS, llm_config

ALL = {m.id for m in MODELS}


def selector(server, **kw) -> ModelSelector:
    return ModelSelector(LLMClient(llm_config(server, **kw)), CATALOG, top_k=5)


def caption_task(id=0) -> Task:
    return Task(id=id, task="image-to-text", args={"image": "a.png"})


def test_ranking_weighs_popularity_and_relevance_to_the_request():
    models = CATALOG.models_for("text-classification")
    assert rank(models, "is this movie review positive?")[0].id.startswith("distilbert")  # more downloads
    assert rank(models, "classify the sentiment of this financial news")[0].id == "ProsusAI/finbert"


async def test_only_live_models_are_candidates_and_one_candidate_needs_no_llm(llm_script):
    s = selector(llm_script)
    live = {"nlpconnect/vit-gpt2-image-captioning"}
    sel = await s.select(caption_task(), "caption it", live, StageUsage())
    assert sel.model_id == "nlpconnect/vit-gpt2-image-captioning" and not sel.llm_used
    assert llm_script.requests == []


async def test_no_live_model_means_no_selection(llm_script):
    sel = await selector(llm_script).select(caption_task(), "caption it", set(), StageUsage())
    assert sel.model_id is None and "no live model" in sel.reason


async def test_llm_choice_among_candidates_with_reason(llm_script):
    llm_script.on(
        "select", json.dumps({"id": "nlpconnect/vit-gpt2-image-captioning", "reason": "fast and good"})
    )
    sel = await selector(llm_script).select(caption_task(), "caption it", ALL, StageUsage())
    assert (
        sel.model_id == "nlpconnect/vit-gpt2-image-captioning"
        and sel.reason == "fast and good"
        and sel.llm_used
    )
    prompt = llm_script.requests[0]["messages"][-1]["content"]
    assert (
        "Salesforce/blip-image-captioning-large" in prompt
        and "nlpconnect/vit-gpt2-image-captioning" in prompt
    )


async def test_an_invented_model_falls_back_to_the_top_ranked(llm_script):
    llm_script.on("select", 'I pick {"id": "openai/gpt-99-vision", "reason": "best"}')
    sel = await selector(llm_script).select(caption_task(), "caption it", ALL, StageUsage())
    assert sel.model_id == "Salesforce/blip-image-captioning-large"  # most likes
    assert "gpt-99" in sel.reason


async def test_llm_failure_during_selection_falls_back_to_the_top_ranked(llm_script):
    llm_script.on("select", "", status=500)
    sel = await selector(llm_script).select(caption_task(), "caption it", ALL, StageUsage())
    assert sel.model_id == "Salesforce/blip-image-captioning-large" and "LLM unavailable" in sel.reason


async def test_selections_of_independent_tasks_run_concurrently(llm_script):
    llm_script.on(
        "select", json.dumps({"id": "Salesforce/blip-image-captioning-large", "reason": "r"}), delay_s=0.3
    )
    s = selector(llm_script)
    usage = StageUsage()
    start = time.perf_counter()
    sels = await asyncio.gather(*(s.select(caption_task(i), "caption them", ALL, usage) for i in range(4)))
    assert time.perf_counter() - start < 1.2  # one at a time: at least 4 x 0.3 s
    assert usage.calls == 4 and {x.model_id for x in sels} == {"Salesforce/blip-image-captioning-large"}
