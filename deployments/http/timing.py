"""Server-Timing: where a request's time went inside this replica, as the standard response header
(``Server-Timing: parse;dur=0.9, plan;dur=0.2, run;dur=101.4, render;dur=0.5, app;dur=103.0``, in ms).
Browsers' devtools show it; the benchmark's profile reads it to split a request's latency into the hops
outside the replica and the steps inside. Spans are marks on the ASGI scope: a few clock reads, no I/O.

``parse`` runs from the first byte the app saw to the route's first line (middleware, routing, body,
JSON and pydantic); each later mark closes the span since the one before; ``render`` is what remains until
the response starts; ``app`` is the whole.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

HEADER = b"server-timing"
_KEY = "hugginggpt.timing"  # the scope key: a list of (name, perf_counter) marks


def start(scope: MutableMapping[str, Any]) -> None:
    scope[_KEY] = [("", time.perf_counter())]


def mark(scope: MutableMapping[str, Any], name: str) -> None:
    """Close the span ``name`` now (a request the middleware did not start is left alone)."""
    marks = scope.get(_KEY)
    if marks is not None:
        marks.append((name, time.perf_counter()))


def header(scope: MutableMapping[str, Any]) -> bytes | None:
    """The header's value at response start, or None when the middleware did not start this request."""
    marks = scope.get(_KEY)
    if not marks:
        return None
    now = time.perf_counter()
    spans = [(name, t - marks[i][1]) for i, (name, t) in enumerate(marks[1:])]
    spans += [("render", now - marks[-1][1]), ("app", now - marks[0][1])]
    return ", ".join(f"{name};dur={seconds * 1000:.2f}" for name, seconds in spans).encode()


def parse(value: str) -> dict[str, float]:
    """``name;dur=ms, ...`` -> {name: seconds}; what a client (the benchmark) makes of the header."""
    out: dict[str, float] = {}
    for item in value.split(","):
        name, _, rest = item.strip().partition(";")
        for param in rest.split(";"):
            key, _, number = param.strip().partition("=")
            if key == "dur" and name:
                out[name] = out.get(name, 0.0) + float(number) / 1000
    return out
