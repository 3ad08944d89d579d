"""The synthetic expert answers every task type with outputs shaped like the real adapters'."""

import pytest

from bench.synthetic import SyntheticExpert, synthetic_outputs
from controller.execution import media_to_urls
from deployments.expert import BatchStats
from experts.artifacts import is_artifact_id
from experts.tasks import TASK_TYPES


@pytest.mark.parametrize("task", sorted(TASK_TYPES))
def test_outputs_fill_every_declared_field(task):
    out = synthetic_outputs(task, {"text": "hello"})
    assert set(out) == set(TASK_TYPES[task].outputs)
    for kind in ("image", "audio", "video"):
        if kind in out:
            assert is_artifact_id(out[kind]), out[kind]
    if "text" in out:
        assert out["text"]
    # The scheduler turns media ids into URLs, as it does for real experts.
    assert media_to_urls(out, "/v1/artifacts/").keys() == out.keys()


def test_outputs_are_deterministic_per_input():
    a = synthetic_outputs("text-to-image", {"text": "a"})
    assert a == synthetic_outputs("text-to-image", {"text": "a"})
    assert a != synthetic_outputs("text-to-image", {"text": "b"})


async def test_in_process_expert_counts_calls():
    expert = SyntheticExpert(latency_s=0.0)
    out = await expert.invoke("m", "object-detection", {"image": "x"})
    assert {"text", "boxes", "image"} <= set(out) and expert.calls == 1


def test_batch_stats_snapshot():
    stats = BatchStats()
    for size in (1, 4, 4, 16):
        stats.record(size)
    assert stats.snapshot() == {"model_calls": 4, "inputs": 25, "batch_sizes": {"1": 1, "4": 2, "16": 1}}
