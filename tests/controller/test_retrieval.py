import asyncio
import json

import numpy as np
import pytest

from controller.demo_pool import GoldRecord
from controller.planning import LLMPlanner
from controller.retrieval import (
    EMBEDDINGS_FILE,
    FINGERPRINT_FILE,
    LazyRetrievalDemos,
    RetrievalDemos,
    fingerprint,
    load_pool_embeddings,
    write_pool_embeddings,
)
from experts.tasks import TASK_TYPES

ALL = set(TASK_TYPES)


def test_committed_embeddings_match_the_pool_and_the_model(pool, embedder):
    meta = json.loads(FINGERPRINT_FILE.read_text())
    assert meta["fingerprint"] == fingerprint([r.request for r in pool], embedder.name)
    assert np.load(EMBEDDINGS_FILE).shape == (len(pool), embedder.dim)


def test_a_paraphrase_retrieves_its_original_first(pool, embedder):
    source = RetrievalDemos(pool, embedder)
    target = next(r for r in pool if r.request.startswith("I've created a new AI podcast"))
    paraphrase = "For the intro of my new podcast about AI, read 'Hello, welcome to the AI world!' out loud."
    found = source.nearest(paraphrase, 3, ALL)
    assert found[0][1].id == target.id
    assert found[0][0] > found[1][0] > found[2][0]


async def test_find_returns_demos_whose_tasks_are_all_offered_most_similar_last(pool, embedder):
    source = RetrievalDemos(pool, embedder)
    request = "Generate an image of a red fox in the snow and then describe the picture in words."
    offered = {"text-to-image", "image-to-text"}
    demos = await source.find(request, 3, offered)
    assert len(demos) == 3 and all(d.uses_only(offered) for d in demos)
    best = source.nearest(request, 3, offered)[0][1]
    assert demos[-1].request == best.request
    assert await source.find(request, 0, offered) == []


def test_stale_embeddings_are_recomputed(tmp_path, embedder):
    records = [
        GoldRecord(id=str(i), type="single", request=text, tasks=[])
        for i, text in enumerate(["translate this to French", "draw a cat"])
    ]
    write_pool_embeddings(records, tmp_path, embedder)
    fresh = load_pool_embeddings(records, embedder, tmp_path)
    assert fresh.shape == (2, embedder.dim)
    changed = [records[0], records[1].model_copy(update={"request": "draw a dog"})]
    vectors = load_pool_embeddings(changed, embedder, tmp_path)
    assert float(vectors[1] @ embedder.embed(["draw a dog"])[0]) == pytest.approx(1.0, abs=1e-3)


async def test_the_planner_retrieves_demos_by_default(embedder):
    planner = LLMPlanner(llm=None, config=None)  # type: ignore[arg-type]  # only its demo source is used here
    assert isinstance(planner.demos, LazyRetrievalDemos)
    demos = await planner.demos.find("Transcribe the speech in meeting.wav for me", 2, ALL)
    assert len(demos) == 2 and demos[-1].tasks[0].task == "automatic-speech-recognition"
    assert await asyncio.wait_for(planner.demos.find("x", 1, set()), 10) == []  # nothing offered, no demos
