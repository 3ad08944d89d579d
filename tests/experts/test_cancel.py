"""Abandoned work stops: the adapters check the cancel token between steps, so a replica whose caller
went away (or whose deadline passed) stops the model early instead of running it to the end."""

from __future__ import annotations

import pytest
from expert_samples import png_bytes

from experts.cancel import AllOf, CancelToken, run_with
from experts.errors import Cancelled
from experts.local import LocalExperts


class Counting(CancelToken):
    """Cancelled after ``limit`` checks (None: never); counts every check."""

    def __init__(self, limit: int | None = None):
        super().__init__()
        self.limit, self.checks = limit, 0

    @property
    def cancelled(self) -> bool:
        self.checks += 1
        return self.limit is not None and self.checks > self.limit


def _inputs(experts: LocalExperts, model_id: str) -> dict:
    if model_id == "offline/tiny-vit-gpt2":
        return {"image": experts.ctx.store.put(png_bytes(), "image/png")}
    if model_id == "rhasspy/piper-en_US-joe-medium":
        return {"text": "One sentence. Another sentence. A third one. And a fourth."}
    return {"text": "a lighthouse at dusk, painted in oils, with gulls over a grey sea " * 3}


@pytest.mark.parametrize(
    "model_id",
    [
        "offline/tiny-stable-diffusion",  # between denoising steps
        "offline/tiny-t5-summarization",  # between generated tokens
        "offline/tiny-vit-gpt2",  # between generated tokens
        "rhasspy/piper-en_US-joe-medium",  # between audio chunks
    ],
)
def test_a_cancelled_run_stops_between_steps(experts: LocalExperts, model_id: str):
    expert = experts.expert(model_id)
    inputs = _inputs(experts, model_id)
    whole = Counting()
    run_with(whole, expert.run, inputs)
    assert whole.checks >= 2  # the run has several steps to stop between
    stopped = Counting(limit=1)
    with pytest.raises(Cancelled):
        run_with(stopped, expert.run, inputs)
    assert stopped.checks == 2  # it stopped at the first check after the signal, not at the end


def test_a_batch_stops_between_items_only_when_every_caller_is_gone(experts: LocalExperts):
    expert = experts.expert("offline/tiny-detr")  # runs a batch item by item
    batch = [{"image": experts.ctx.store.put(png_bytes(), "image/png")}] * 3
    gone, waiting = CancelToken(), CancelToken()
    gone.cancel()
    assert len(run_with(AllOf([gone, waiting]), expert.run_batch, batch)) == 3
    waiting.cancel()
    with pytest.raises(Cancelled):
        run_with(AllOf([gone, waiting]), expert.run_batch, batch)


def test_without_a_token_nothing_is_checked(experts: LocalExperts):
    assert "image" in experts.expert("offline/tiny-stable-diffusion").run({"text": "a cat"})
