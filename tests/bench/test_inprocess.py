"""The JARVIS-vs-DAG comparison on a tiny plan, in process: both schedulers run the same plan to the end,
running its independent branches at once."""

import pytest

from bench.inprocess import executable, failure, pipeline, run_plan
from bench.plans import GoldPlan, critical_path_length
from controller.schema import Plan, Task

FAN_OUT_AND_JOIN = Plan(
    tasks=[
        Task(id=0, task="text-to-image", args={"text": "a harbour"}),
        Task(id=1, task="object-detection", dep=[0], args={"image": "<GENERATED>-0"}),
        Task(id=2, task="image-to-text", dep=[0], args={"image": "<GENERATED>-0"}),
        Task(id=3, task="summarization", dep=[1, 2], args={"text": "<GENERATED>-1 <GENERATED>-2"}),
    ]
)


@pytest.mark.parametrize("scheduler", ["dag", "polling"])
async def test_both_schedulers_run_independent_branches_at_once(scheduler):
    """Between the critical path (3 calls) and one call more: catches a scheduler that runs tasks one at
    a time (4 calls) or a benchmark clock that stops early (below the critical path). The margin, one
    0.25 s call, is far above the in-process overhead of a few ms."""
    latency = 0.25
    gpt = pipeline(latency, scheduler=scheduler, polling_interval_s=0.01)
    seconds, done = await run_plan(gpt, FAN_OUT_AND_JOIN)
    assert [r.status for r in done.results] == ["ok"] * 4
    critical = critical_path_length(FAN_OUT_AND_JOIN) * latency
    assert critical <= seconds < critical + latency, seconds


async def test_plans_that_wire_media_into_text_are_not_executable():
    bad = Plan(
        tasks=[
            Task(id=0, task="text-to-image", args={"text": "x"}),
            Task(id=1, task="tabular-classification", dep=[0], args={"text": "<GENERATED>-0"}),
        ]
    )
    assert await failure(pipeline(0.0), FAN_OUT_AND_JOIN) is None
    assert "tabular-classification failed" in await failure(pipeline(0.0), bad)
    skipped: dict[str, int] = {}
    kept = await executable(
        [GoldPlan("good", "dag", FAN_OUT_AND_JOIN), GoldPlan("bad", "chain", bad)], skipped
    )
    assert [p.id for p in kept] == ["good"] and sum(skipped.values()) == 1
