"""A request's deadline: set once when the request arrives (the configured default, or the client's own
within the cap) and carried to every stage. Planning, each model choice, each expert call and the answer
are bounded by what is left of it; an expert call past it is cancelled, which stops the model in its
replica (experts.cancel), so late work is dropped rather than finished."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    def __init__(self, seconds: float):
        self.budget_s = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def bound(self) -> asyncio.Timeout:
        """``async with deadline.bound():`` raises TimeoutError when the deadline passes inside."""
        return asyncio.timeout(self.remaining())

    def describe(self) -> str:
        return f"the request's deadline ({self.budget_s:g} s)"


async def until_deadline(deadline: Deadline, items: AsyncIterator[T]) -> AsyncIterator[T]:
    """``items`` while the deadline lasts; TimeoutError when it passes while waiting for the next one.
    Each wait is bounded on its own: a timeout held open across a ``yield`` would cancel the consumer."""
    while True:
        try:
            async with deadline.bound():
                item = await anext(items)
        except StopAsyncIteration:
            return
        yield item
