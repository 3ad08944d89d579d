"""Builders shared by the controller tests: a catalog, a config pointing at the scripted LLM, the pipeline."""

from __future__ import annotations

import json
import re
from typing import Any

from controller.config import ControllerConfig, LLMConfig
from controller.demos import StaticDemos
from controller.llm import LLMClient
from controller.pipeline import HuggingGPT
from experts.catalog import Catalog, ModelSpec
from tests.scripted_llm import ScriptedLLM

MODELS = [
    ModelSpec(id="nlpconnect/vit-gpt2-image-captioning", task="image-to-text", likes=300, downloads=900_000),
    ModelSpec(
        id="Salesforce/blip-image-captioning-large", task="image-to-text", likes=500, downloads=800_000
    ),
    ModelSpec(id="runwayml/stable-diffusion-v1-5", task="text-to-image", likes=9000, downloads=5_000_000),
    ModelSpec(id="facebook/detr-resnet-50", task="object-detection", likes=400, downloads=700_000),
    ModelSpec(id="espnet/kan-bayashi_ljspeech_vits", task="text-to-speech", likes=90, downloads=10_000),
    ModelSpec(id="facebook/bart-large-cnn", task="summarization", likes=600, downloads=2_000_000),
    ModelSpec(
        id="ProsusAI/finbert",
        task="text-classification",
        likes=186,
        downloads=1_677_372,
        tags=["financial-sentiment-analysis"],
    ),
    ModelSpec(
        id="distilbert-base-uncased-finetuned-sst-2-english",
        task="text-classification",
        likes=176,
        downloads=2_605_299,
    ),
]
CATALOG = Catalog(MODELS)


def llm_config(server: ScriptedLLM, **overrides: Any) -> LLMConfig:
    llm = {"base_url": server.base_url, "model": "scripted", "timeout_s": 5, "max_retries": 0}
    return LLMConfig.model_validate({**llm, **overrides})


def pipeline(
    server: ScriptedLLM,
    experts,
    live: set[str] | None = None,
    attachments=None,
    llm: dict[str, Any] | None = None,
    remote=None,
    **overrides,
) -> HuggingGPT:
    cfg = ControllerConfig(**overrides)
    live_ids = {m.id for m in MODELS} if live is None else live

    async def live_models():
        return live_ids

    # Static demos keep these tests about the pipeline; retrieval has tests of its own (tests/eval).
    return HuggingGPT(
        cfg,
        LLMClient(llm_config(server, **(llm or {}))),
        CATALOG,
        experts,
        live_models,
        attachments=attachments,
        demos=StaticDemos(),
        remote=remote,
    )


def plan_reply(*tasks: dict) -> str:
    return json.dumps({"tasks": list(tasks)})


def echo_urls(body: dict) -> str:
    """A respond-stage reply that cites every artifact URL it was shown, as a good LLM does."""
    text = body["messages"][-1]["content"]
    urls = sorted(set(re.findall(r"/v1/artifacts/[0-9a-f]{64}\.\w+", text)))
    return "Done. " + " ".join(f"![result]({u})" for u in urls)


async def collect(stream) -> list:
    return [e async for e in stream]
