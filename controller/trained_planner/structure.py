"""From the chosen task types to a DAG: find where the request asks for each task, score every possible
dependency with a small learned model, keep the best parent of each task without closing a cycle, and
number the tasks in an order that respects the dependencies.

In TaskBench's gold plans 94 % of tasks have at most one parent, so each task gets at most one; a task
whose media input the request does not give must take it from a task that makes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from experts.tasks import TASK_TYPES, MediaKind

# Clause boundaries: sentence ends, and the words people use to chain steps.
_SPLIT = re.compile(
    r"(?<=[.!?;])\s+|\n+|,\s*(?:and\s+)?(?:then|after that|afterwards|next|finally|also|lastly)\b"
    r"|\s+(?:and then|then|after that|afterwards|followed by|finally|next|before|once)\s+|,\s+and\s+"
    r"|\s+and\s+(?=(?:also\s+|please\s+|finally\s+)?(?:generate|create|make|convert|transform|translate|"
    r"summari[sz]e|classify|detect|identify|answer|tell|turn|produce|extract|estimate|segment|transcribe|edit|"
    r"describe|caption|find|determine|compare|check|analy[sz]e|recogni[sz]e|read|speak|say|enhance|write|use|"
    r"apply|draw|paint|give|provide|predict|label|categori[sz]e|measure|calculate|get|show|improve|clean|"
    r"remove|denoise|answer|respond|reply|continue)\b)",
    re.I,
)
KINDS: tuple[MediaKind, ...] = ("text", "image", "audio", "video")


def clauses(text: str) -> list[tuple[int, str]]:
    """(offset, clause) pieces of the request, in order."""
    out: list[tuple[int, str]] = []
    pos = 0
    for m in _SPLIT.finditer(text):
        if text[pos : m.start()].strip():
            out.append((pos, text[pos : m.start()]))
        pos = m.end()
    if text[pos:].strip():
        out.append((pos, text[pos:]))
    return out or [(0, text)]


def feeds(source: str, target: str) -> MediaKind | None:
    """The kind of ``source``'s output that ``target`` can take as an input (media before text)."""
    outs = TASK_TYPES[source].output_kinds
    ins = [i.kind for i in TASK_TYPES[target].inputs if i.required or i.kind != "text"]
    for kind in ("image", "audio", "video", "text"):
        if kind in outs and kind in ins:
            return kind  # type: ignore[return-value]
    return None


@dataclass
class Layout:
    """What the request says about the tasks' places: for each task, (clause index, character offset)."""

    where: dict[str, tuple[int, int]]
    literals: dict[str, int]  # kind -> how many files/URLs (or quoted texts) of that kind it gives
    clauses: list[str]  # the request's clauses, which ``where`` indexes


def pair_features(a: str, b: str, layout: Layout, prior_order: float) -> np.ndarray:
    """What speaks for ``a`` coming before ``b``: where the request asks for each, the learned prior,
    and which way data can flow between them."""
    ca, oa = layout.where[a]
    cb, ob = layout.where[b]
    ab, ba = feeds(a, b), feeds(b, a)
    return np.array(
        [
            float(ca < cb) - float(ca > cb),
            float(ca == cb) * (float(oa < ob) - float(oa > ob)),
            float(np.sign(ob - oa)),
            prior_order,
            float(ab is not None) - float(ba is not None),
            float(ab is not None and layout.literals.get(ab, 0) == 0),
            float(ba is not None and layout.literals.get(ba, 0) == 0),
            float(a in _GENERATORS) - float(b in _GENERATORS),
        ],
        dtype=np.float32,
    )


_GENERATORS = frozenset({"text-to-image", "text-to-speech", "text-to-video", "text-generation"})
PAIR_FEATURES = 8


def order(tasks: Sequence[str], before, needs_source: set[str]) -> list[str]:
    """Tasks sorted by how likely each comes before the others (``before(a, b)`` is a probability); a
    task that needs a medium only another task makes is moved after the first task that makes it."""
    score = {a: sum(before(a, b) for b in tasks if b != a) for a in tasks}
    out = sorted(tasks, key=lambda t: -score[t])
    for _ in range(len(out)):
        moved = False
        for j, task in enumerate(out):
            if task not in needs_source or any(makes_media(out[i], task) for i in range(j)):
                continue
            later = next((i for i in range(j + 1, len(out)) if makes_media(out[i], task)), None)
            if later is not None:
                out.insert(j, out.pop(later))
                moved = True
                break
        if not moved:
            break
    return out


def makes_media(source: str, target: str) -> bool:
    """``source`` makes a medium (image, audio, video) that ``target`` takes."""
    return feeds(source, target) in ("image", "audio", "video")


def wire(order: Sequence[str], needs_source: set[str]) -> dict[int, tuple[int, MediaKind]]:
    """{target index: (source index, kind)}: each task takes the output of the task just before it when
    it can (TaskBench's gold plans are 94 % such chains); a task whose media input the request does not
    give takes it from the nearest earlier task that makes that kind."""
    links: dict[int, tuple[int, MediaKind]] = {}
    for j in range(1, len(order)):
        kind = feeds(order[j - 1], order[j])
        if kind is not None:
            links[j] = (j - 1, kind)
    for j, task in enumerate(order):
        if task in needs_source and (j not in links or links[j][1] == "text"):
            for i in range(j - 1, -1, -1):
                kind = feeds(order[i], task)
                if kind in ("image", "audio", "video"):
                    links[j] = (i, kind)
                    break
    return links
