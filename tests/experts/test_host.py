"""ExpertHost: the one wrapper every server of a loaded expert uses (Ray deployments, the pool, in-process)."""

from __future__ import annotations

import pytest

from experts.errors import ArtifactNotFound, ExpertInputError, ExpertUnavailable
from experts.host import ExpertHost, failure_code
from experts.local import LocalExperts


async def test_a_planners_alias_of_the_task_is_accepted_and_another_task_refused(experts: LocalExperts):
    host = experts.host("offline/tiny-vit-gpt2")
    assert isinstance(host, ExpertHost) and host.task == "image-to-text"
    host.check_task("image-captioning")  # an alias the task registry knows
    host.check_task("Image To Text")
    with pytest.raises(ExpertInputError, match="runs image-to-text, not summarization"):
        host.check_task("summarization")
    with pytest.raises(ExpertInputError):
        await experts.invoke("offline/tiny-vit-gpt2", "summarization", {"text": "x"})


def test_the_host_says_whether_its_model_batches(experts: LocalExperts):
    assert experts.host("offline/tiny-bert-sentiment").batchable
    assert experts.host("offline/tiny-bert-sentiment") is experts.host("offline/tiny-bert-sentiment")


@pytest.mark.parametrize(
    "error, code",
    [
        (ExpertInputError("bad"), "bad_input"),
        (ArtifactNotFound("gone"), "bad_input"),  # any caller's fault is one label
        (ExpertUnavailable("down"), "expert_unavailable"),
        (RuntimeError("boom"), "internal"),
    ],
)
def test_failure_codes(error, code):
    assert failure_code(error) == code
