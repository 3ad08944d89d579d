"""A cancel signal that reaches the worker thread running a model: the replica sets it when its caller
goes away or the request's deadline passes, and the adapters check it between steps (diffusion steps,
generated tokens, batch items, audio chunks), so abandoned work stops instead of running to the end.

The token travels in a context variable: ``asyncio.to_thread`` copies the context into the thread, so an
adapter needs no extra argument and code run without a token (tests, tools) never stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from experts.errors import Cancelled

T = TypeVar("T")


class CancelToken:
    """Set once; ``deadline`` (time.monotonic) makes it set itself when the time has come."""

    def __init__(self, deadline: float | None = None):
        self._event = threading.Event()
        self.deadline = deadline

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or (self.deadline is not None and time.monotonic() >= self.deadline)


class AllOf(CancelToken):
    """A batch stops only when every caller in it has gone: the others still want their results."""

    def __init__(self, tokens: Iterable[CancelToken]):
        super().__init__()
        self.tokens = list(tokens)

    @property
    def cancelled(self) -> bool:
        return bool(self.tokens) and all(t.cancelled for t in self.tokens)


_current: ContextVar[CancelToken | None] = ContextVar("hugginggpt_cancel_token", default=None)


def run_with(token: CancelToken, fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn`` with ``token`` as the current token (use on the worker thread)."""
    reset = _current.set(token)
    try:
        return fn(*args)
    finally:
        _current.reset(reset)


def check() -> None:
    """Raise Cancelled if the current work was abandoned; a no-op without a token."""
    token = _current.get()
    if token is not None and token.cancelled:
        raise Cancelled("the request was abandoned (client gone or deadline passed); work stopped")


def checked(items: Iterable[T]) -> Iterator[T]:
    """``items`` with a cancel check before each one (segments, audio chunks, batch items)."""
    for item in items:
        check()
        yield item


def diffusers_callback(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``callback_on_step_end`` for diffusers pipelines: stop between denoising steps."""
    check()
    return kwargs


def stopping_criteria() -> list[Any]:
    """``stopping_criteria`` for ``generate``: raise between generated tokens."""
    from transformers import StoppingCriteria

    class _Stop(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            check()
            import torch

            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    return [_Stop()]
