"""Steps a request asks for more than once: for each further language, subject, take, question and quoted text
listed with the first. "What's the sentiment of these two reviews: 'Great product!' and 'Terrible service.'"
classified the first review alone."""

from __future__ import annotations

import re

from controller.schema import Task
from controller.trained_planner.arguments import Given
from controller.trained_planner.completion import for_each_other_language, for_each_other_subject
from controller.trained_planner.mediums import for_each_copy
from controller.trained_planner.questions import each_question
from controller.trained_planner.structure import COMPARES


def each_listed(tasks: list[Task], given: Given, request: str, max_tasks: int) -> list[Task]:
    """``tasks`` with each step the request lists several times of planned once for each (the files listed
    are the caller's: which file a task opens is decided with the arguments)."""
    tasks = for_each_other_language(for_each_other_subject(tasks, max_tasks), request, max_tasks)
    tasks = for_each_copy(each_question(tasks, request, max_tasks), max_tasks)
    return for_each_other_quote(tasks, given.quotes, request, max_tasks)


# The tasks that work on one text each: the same task once more for each further text.
_ON_ONE_TEXT = frozenset(
    {"text-classification", "token-classification", "zero-shot-classification", "translation",
     "summarization", "text-to-speech", "text2text-generation"}
)  # fmt: skip
# What may stand between two quoted texts of one list: "'a', 'b' and 'c'", "'a' or 'b'", "'a' vs 'b'".
_BETWEEN = re.compile(r"[\s,;&/]*(?:\b(?:and|or|plus|vs\.?|versus)\b)?[\s,;&/]*", re.I)
_MARKS = "'\"“”‘’«»"


def listed_after(request: str, quotes: list[str], first: str) -> list[str]:
    """The quotes listed right after ``first`` in ``request``, one after another, in order."""
    if first not in quotes:
        return []
    run: list[str] = []
    at = request.find(first) + len(first)
    for q in quotes[quotes.index(first) + 1 :]:
        start = request.find(q, at)
        if start < 0 or not _BETWEEN.fullmatch(request[at:start].strip(_MARKS)):
            break
        run.append(q)
        at = start + len(q)
    return run


def for_each_other_quote(tasks: list[Task], quotes: list[str], request: str, max_tasks: int) -> list[Task]:
    """``tasks`` with a task on one quoted text run again on each text listed right after it that no task
    took; a similarity of the first text with the second is computed with each further one too ("Which is
    closer to 'I love dogs': 'I adore puppies' or 'I hate cats'?"). Not for a task another task reads (which
    copy a later step would read is not said)."""
    out = list(tasks)
    taken = {v for t in tasks for v in t.args.values()}
    for t in tasks:
        if any(t.id in o.dep for o in tasks) or t.dep:
            continue
        if t.task not in _ON_ONE_TEXT | COMPARES:
            continue
        slot = "text2" if t.task in COMPARES else "text"  # a comparison keeps its first text
        for q in listed_after(request, quotes, str(t.args.get(slot))):
            if q in taken or len(out) >= max_tasks:
                continue
            out.append(Task(id=len(out), task=t.task, dep=[], args={**t.args, slot: q}))
            taken.add(q)
    return out
