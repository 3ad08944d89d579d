"""Caps on what one plan argument may carry, checked before anything runs: a client's plan
(/v1/plans/execute) or an LLM's must not make an expert speak an hour of text, score ten thousand labels
or hold a book in a prompt. Media sizes are capped where the bytes are decoded (``experts.media``:
pixels, audio seconds) and fetched (``experts.fetch``: bytes)."""

from __future__ import annotations

from controller.schema import ArgValue
from experts.tasks import TaskType

MAX_TEXT_CHARS = 20_000  # any text argument (the default max_message_chars)
# Tasks whose cost grows with the text: a voice reads ~15 characters a second; a prompt is a sentence.
MAX_TEXT_CHARS_BY_TASK = {"text-to-speech": 5_000, "text-to-image": 2_000, "text-to-video": 2_000}
MAX_LABELS = 64  # zero-shot candidate labels
MAX_LABEL_CHARS = 200
MAX_LIST_ITEMS = 16  # an argument given as a list


def argument_problems(ttype: TaskType, tid: int, args: dict[str, ArgValue]) -> list[str]:
    """One sentence per argument over its cap, fit to show a client or an LLM."""
    problems = []
    for name, value in args.items():
        slot = ttype.input(name)
        if isinstance(value, list) and len(value) > MAX_LIST_ITEMS:
            problems.append(
                f"task {tid}: argument {name!r} has {len(value):,} items; at most {MAX_LIST_ITEMS}"
            )
            continue
        if slot is None or slot.kind != "text":
            continue  # media: bytes, pixels and seconds are capped when fetched and decoded
        texts = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
        cap = MAX_TEXT_CHARS_BY_TASK.get(ttype.name, MAX_TEXT_CHARS)
        if (size := sum(map(len, texts))) > cap:
            problems.append(
                f"task {tid}: argument {name!r} has {size:,} characters; {ttype.name} takes at most {cap:,}"
            )
        elif name == "labels":
            labels = [x for t in texts for x in t.split(",") if x.strip()]
            if len(labels) > MAX_LABELS or any(len(x) > MAX_LABEL_CHARS for x in labels):
                problems.append(
                    f"task {tid}: {len(labels):,} labels given; at most {MAX_LABELS}, "
                    f"each up to {MAX_LABEL_CHARS} characters"
                )
    return problems
