"""Tasks and files a plan needs beyond the task types the decision model chose: the maker of a medium a task
needs and nobody gives, a task on a given file nothing else opens, the reader of a medium when a text task has
nothing else to read, the step between an earlier task and one nothing feeds, the same task once more for
each further file listed with the first, and the task that redoes the last reply's text longer or shorter."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import numpy as np

from controller.schema import Task, ref
from controller.trained_planner.arguments import (
    GENERATORS,
    Given,
    lacks,
    media_inputs,
    without_attachments,
)
from controller.trained_planner.languages import LANGUAGES
from controller.trained_planner.structure import COMPARES, makes_media, passes
from experts.tasks import TASK_TYPES, MediaKind

LEAST = 0.1  # below this, the most likely task is not planned when no task reaches its threshold


def likeliest(candidates: Collection[str], p: dict[str, float], at: float = LEAST) -> str | None:
    """The candidate with the highest ``p``, if that is at least ``at``."""
    best = max(candidates, key=p.__getitem__, default=None)
    return best if best is not None and p[best] >= at else None


def cover_steps(
    decided: np.ndarray,
    readings: np.ndarray,
    thresholds: np.ndarray,
    chat: int,
    points_back: Sequence[bool] = (),
) -> np.ndarray:
    """``decided`` (L,) with the likeliest task of each clause that no chosen task is placed in raised to its
    threshold, when the clause reads as that task at ``_CLAUSE_AT`` or more and the decision model gives it
    ``_STEP_AT`` or more: a long request lists one step per clause, and a step nobody takes is a task missed.
    ``readings``: (clauses, L) what each clause alone says (the clause model's and the detector's geometric
    mean), the same reading that places tasks. Grouped CV (fold models, threshold 0.5): node 84.28 -> 84.56,
    edge 52.68 -> 53.45, everyday exact 86.6 -> 86.9 %; clause 0.2-0.5 x step 0.3-0.35 gave edge 53.2-53.5.
    A clause right before a chosen task's clause that points back at it (``points_back[k + 1]``: "Draw a cat
    and turn it into a short animated clip", the drawing at 0.2) needs only ``_BACK_STEP_AT``: grouped CV (fold
    models, the artifact's thresholds) edge 55.31 -> 55.33, node unchanged; without the pointing back, any
    clause at 0.6 x 0.15 lost 0.4 edge."""
    if len(readings) < 2:
        return decided
    chosen = [j for j in range(chat) if decided[j] >= thresholds[j]]
    taken = {int(np.argmax(readings[:, j])) for j in chosen}
    out = decided.copy()
    for k, row in enumerate(readings):
        best = int(np.argmax(row[:chat]))
        pointed_at = k + 1 in taken and k + 1 < len(points_back) and points_back[k + 1]
        step_at = _BACK_STEP_AT if pointed_at else _STEP_AT
        if k not in taken and row[best] >= _CLAUSE_AT and step_at <= out[best] < thresholds[best]:
            out[best] = thresholds[best]
    return out


_CLAUSE_AT, _STEP_AT, _BACK_STEP_AT = 0.4, 0.35, 0.1


def makers_for_unfed(
    chosen: list[str], given: Given, task_p: dict[str, float], offered: Collection[str], max_tasks: int
) -> list[str]:
    """For each chosen task whose medium nobody gives or makes, the likeliest live maker of it at ``LEAST``
    or more: "Draw a dragon and tell me what objects are in the picture" (drawing 0.41) asked for a picture.
    Grouped CV: 3 TaskBench requests planned, not asked (node 84.17 -> 84.35, edge 52.60 -> 52.71)."""
    added: list[str] = []
    for t in chosen:
        plan = chosen + added
        if any(
            lacks(given, i.kind) and not any(makes_media(s, t) for s in plan if s != t)
            for i in media_inputs(t)
        ):
            makers = [s for s in offered if s not in plan and makes_media(s, t)]
            best = likeliest(makers, task_p)
            if best is not None and len(plan) < max_tasks:
                added.append(best)
    return added


def taker_of_unused_file(
    chosen: list[str],
    given: Given,
    task_p: dict[str, float],
    offered: Collection[str],
    max_tasks: int,
    n_words: int,
) -> list[str]:
    """For each kind of file this turn gives that no chosen task works on, the likeliest live task on that kind
    when the decision model gives it at least ``_UNUSED_AT``: "Could you tell me how positive this recording
    sounds, generate a follow-up paragraph, and then make an illustration of it?" with a WAV attached wrote
    the paragraph from the request's words and never opened the recording (transcription 0.53 under its
    threshold 0.6). Grouped CV (fold models, per-type thresholds): edge 54.88 -> 54.95, node 84.94 -> 84.97,
    everyday unchanged; at 0.2 / 0.3: edge 54.78 / 54.78, everyday +0.4 / +0.2 %. A short request (``n_words``
    up to ``_SHORT``) that names a file is about it at ``LEAST``: "Summarize the podcast episode.mp3 in French"
    summarised its own words (transcription 0.38); fold models: everyday 87.3 -> 87.6 %, TaskBench unchanged."""
    added: list[str] = []
    for kind in dict.fromkeys(m.kind for m in given.media):
        plan = chosen + added
        if len(plan) >= max_tasks or any(i.kind == kind for t in plan for i in media_inputs(t)):
            continue
        takers = [t for t in offered if t not in plan and any(i.kind == kind for i in media_inputs(t))]
        if (best := likeliest(takers, task_p, LEAST if n_words <= _SHORT else _UNUSED_AT)) is not None:
            added.append(best)
    return added


_UNUSED_AT = 0.4
_SHORT = 15  # words; TaskBench's requests are longer (8 of 1,449 are this short)


def reader_of_made_media(
    chosen: list[str],
    given: Given,
    task_p: dict[str, float],
    offered: Collection[str],
    max_tasks: int,
    said: dict[str, float],
) -> list[str]:
    """A text task with no text to work on but the request, beside tasks that make only media ("generate an
    image of a Japanese garden and describe it in French": it translated the request) or after an earlier
    file, works on what the likeliest live reader of that media says, when the decision model gives the reader at least
    ``_READER_AT``. Grouped CV: 0.1 / 0.2 / 0.25 / 0.3 -> edge 52.49 / 52.79 / 52.93 / 52.80 (52.71 without).
    ``said``: each task's strongest reading in one clause of a request of two or more; a reader that some clause
    reads at ``_READER_SAID`` needs only ``LEAST`` ("Draw a lighthouse at dusk, then say out loud what is in
    the picture": the reader 0.17, its clause 0.26; the speech read the instruction aloud). Grouped CV: edge
    54.03 -> 54.02 (at 0.2: 53.99), everyday unchanged."""
    if given.quotes or given.after_colon or given.history_text or len(chosen) >= max_tasks:
        return []
    # Drawing and filming work on a phrase of their own ("a Japanese garden"), not on a text to read.
    reads_text = [
        t
        for t in chosen
        if t not in GENERATORS and all(i.kind == "text" for i in TASK_TYPES[t].inputs if i.required)
    ]
    others = [t for t in chosen if t not in reads_text]
    made = {k for t in others for k in TASK_TYPES[t].output_kinds if k != "text"}
    if not given.media:  # "read the description aloud" after a drawing: the earlier picture is read
        made |= {m.kind for m in given.history_media}
    if not reads_text or not made or any("text" in TASK_TYPES[t].output_kinds for t in others):
        return []
    readers = [
        s
        for s in offered
        if s not in chosen
        and "text" in TASK_TYPES[s].output_kinds
        and any(i.kind in made for i in media_inputs(s))
    ]
    best = max(readers, key=task_p.__getitem__, default=None)
    if best is None:
        return []
    likely = task_p[best] >= _READER_AT or (task_p[best] >= LEAST and said.get(best, 0.0) >= _READER_SAID)
    return [best] if likely else []


_READER_AT, _READER_SAID = 0.25, 0.25


def taker_of_made_media(
    chosen: list[str],
    given: Given,
    task_p: dict[str, float],
    offered: Collection[str],
    max_tasks: int,
    readings: np.ndarray,
    labels: list[str],
) -> list[str]:
    """For a clause that no chosen task is placed in and that comes after the clause of a task making a
    medium the request does not give: the task that clause reads as first, when it works on that medium,
    the clause reads it at ``_STEP_READ`` or more and the decision model gives it at least ``_MADE_TAKER_AT``.
    "Generate an image of a castle and tell me what is in it" (the caption: 0.45 overall, 0.25 in its
    clause) drew the castle and said nothing about it. ``readings``: (clauses, L), as ``cover_steps`` reads
    them (attachment lines read nothing). Grouped CV (fold models, the artifact's thresholds): edge 54.95 ->
    55.20, node 84.97 -> 85.04, everyday unchanged; the clause at 0.1 / 0.3 / 0.4: 55.21 / 55.19 / 55.07;
    text a task writes counted as made too: no change; files the request gives too: 54.5-54.6. The decision
    model's bar at 0.05 instead of 0.1: no change in CV (0.02: +0.02 edge), and "Draw a dragon ..., make a
    pixel-art version of it, and tell me what the first image gets classified as" keeps its middle step
    (the clause reads image-to-image at 0.57, the decision model gives it 0.09)."""
    if len(readings) < 2 or len(chosen) >= max_tasks:
        return []
    place = {t: int(np.argmax(readings[:, labels.index(t)])) for t in chosen}
    made: dict[str, int] = {}  # kind -> the first clause that makes it
    for t in chosen:
        for kind in TASK_TYPES[t].output_kinds:
            if kind != "text" and not given.media_of(kind):  # type: ignore[arg-type]
                made[kind] = min(made.get(kind, place[t]), place[t])
    tasks = [j for j, label in enumerate(labels) if label in TASK_TYPES]
    for k, row in enumerate(readings):
        first = labels[max(tasks, key=row.__getitem__)]
        if (
            k not in place.values()
            and first in offered
            and first not in chosen
            and any(made.get(i.kind, k) < k for i in media_inputs(first))
            and row[labels.index(first)] >= _STEP_READ
            and task_p[first] >= _MADE_TAKER_AT
        ):
            return [first]
    return []


_STEP_READ = 0.2
_MADE_TAKER_AT = 0.05


def bridge_to_unlinked(
    ordered: list[str],
    linked: Collection[int],
    task_p: dict[str, float],
    offered: Collection[str],
    max_tasks: int,
) -> tuple[str, str] | None:
    """(bridge, target): the likeliest live task that could take an earlier task's output and pass its own to
    ``target``, a task that nothing feeds (``ordered[j]``, j >= 1, not in ``linked``), when the decision model
    gives it at least ``_BRIDGE_AT``. "Draw a sunset as a watercolour, then tell me its dominant colour as
    audio" chose the drawing and the speech but not the question between them, so the speech read the
    request. TaskBench's multi-task gold plans are connected (91 %). The caller keeps the bridge only where
    the new order puts it between an earlier task and ``target``. Grouped CV (fold models, threshold 0.5):
    edge 53.45 -> 54.03, node 84.56 -> 84.68, everyday unchanged; at 0.15 / 0.2 / 0.3 / 0.35 / 0.4: edge
    54.02 / 54.11 / 54.03 / 53.96 / 53.53. Kept wherever it lands: 53.81; two bridges in a row: no change."""
    if len(ordered) >= max_tasks:
        return None
    options = [
        (task_p[s], s, target)
        for j, target in enumerate(ordered)
        if j and j not in linked
        for s in offered
        if s not in ordered and passes(s, target) and any(passes(x, s) for x in ordered[:j])
    ]
    best = max(options, default=None)
    return (best[1], best[2]) if best is not None and best[0] >= _BRIDGE_AT else None


_BRIDGE_AT = 0.25


def for_each_other_file(
    tasks: list[Task], given: Given, used: dict[MediaKind, int], request: str, max_tasks: int
) -> list[Task]:
    """ "Caption photo1.jpg and photo2.jpg": the first task on the first file of a kind runs again on each
    file listed with it that no task took (it ran on photo1.jpg alone; photo2.jpg went unmentioned). A file
    named elsewhere ("make b.jpg look like the style of a.jpg") is not one more to do the same to."""
    extra: list[Task] = []
    for kind in ("image", "audio", "video"):
        files = given.media_of(kind)
        if not files:
            continue
        listed = files[:1]
        for m in files[1:]:
            if not _LISTED.fullmatch(
                request[request.find(listed[-1].value, listed[-1].at) + len(listed[-1].value) : m.at]
            ):
                break
            listed.append(m)
        left = listed[used.get(kind, 0) :]
        on_first = (
            (t, i.name) for t in tasks for i in media_inputs(t.task) if t.args.get(i.name) == files[0].value
        )
        first, slot = next(on_first, (None, ""))
        if first is None or not left:
            continue
        for media in left[: max(max_tasks - len(tasks) - len(extra), 0)]:
            extra.append(
                Task(
                    id=len(tasks) + len(extra),
                    task=first.task,
                    dep=[],
                    args={**first.args, slot: media.value},
                )
            )
            _compare_with(tasks, first, extra[-1], request)
    return extra


_LANGUAGE = "|".join(LANGUAGES)
# "into Japanese, Korean and Chinese": the first language, then the others listed with it.
_LANGUAGE_LIST = re.compile(
    rf"\b(?:in|into|to)\s+({_LANGUAGE})((?:\s*,\s*(?:{_LANGUAGE}))*\s*,?\s+(?:and|&)\s+(?:{_LANGUAGE}))\b",
    re.I,
)


def for_each_other_language(tasks: list[Task], request: str, max_tasks: int) -> list[Task]:
    """``tasks`` with the translation into the first language of a list ("Translate 'Good night' into Japanese,
    Korean and Chinese") run again into each other language listed (it was translated into Japanese alone).
    Only a translation that no other task reads: which copy a later step would read is not said."""
    if (m := _LANGUAGE_LIST.search(request)) is None:
        return tasks
    into = m[1].lower()
    first = next(
        (t for t in tasks if t.task == "translation" and t.args.get("target_language", "").lower() == into),
        None,
    )
    if first is None or any(first.id in t.dep for t in tasks):
        return tasks
    out = list(tasks)
    for language in re.findall(_LANGUAGE, m[2], re.I)[: max(max_tasks - len(tasks), 0)]:
        args = {**first.args, "target_language": language.capitalize()}
        out.append(Task(id=len(out), task="translation", dep=first.dep, args=args))
    return out


# "a sunset and a second picture of a sunrise", "a cat and one of a dog": two things to make, not one.
_ANOTHER = re.compile(
    r"^(?P<first>.+?),?\s+and\s+(?:also\s+)?(?:(?:a second|another|one more)(?:\s+(?:picture|image|photo|drawing|"
    r"painting|illustration|video|clip|one))?|one)\s+(?:of|showing)\s+(?P<second>\S.*)$",
    re.I,
)


def for_each_other_subject(tasks: list[Task], max_tasks: int) -> list[Task]:
    """``tasks`` with a generation task whose text asks for a second thing ("Create a picture of a sunset and
    a second picture of a sunrise") split in two: the first keeps its place and the first subject, and the
    same task is added for the second (one picture of "a sunset and a second picture of a sunrise" was made).
    A task that works on the first alone ("..., then describe both") is added again for the second."""
    out = list(tasks)
    for t in tasks:
        m = _ANOTHER.match(t.args.get("text", "")) if t.task in GENERATORS else None
        if m is None:
            continue
        readers = [o for o in tasks if o.dep == [t.id]]
        if len(out) + 1 + len(readers) > max_tasks:
            continue
        out[out.index(t)] = t.model_copy(update={"args": {**t.args, "text": m["first"]}})
        second = len(out)
        out.append(Task(id=second, task=t.task, dep=[], args={**t.args, "text": m["second"]}))
        for o in readers:
            args = {k: ref(second) if v == ref(t.id) else v for k, v in o.args.items()}
            out.append(Task(id=len(out), task=o.task, dep=[second], args=args))
    return out


def _compare_with(tasks: list[Task], first: Task, again: Task, request: str) -> None:
    """ "Compare these two pictures": a comparison of the first file's text that has only the request for its
    second text (sentence similarity's ``text2``) compares it with the same task's text on the next file."""
    if "text" not in TASK_TYPES[first.task].output_kinds:
        return
    for t in tasks:
        if t.task not in COMPARES or first.id not in t.dep or again.id in t.dep:
            continue
        slot = next(
            (
                i.name
                for i in TASK_TYPES[t.task].inputs
                if i.kind == "text" and t.args.get(i.name) == without_attachments(request)
            ),
            None,
        )
        if slot is not None:
            t.args[slot] = ref(again.id)
            t.dep.append(again.id)
            return


# What may stand between two files of one list: "a.jpg, b.jpg and c.jpg", "A: a.jpg, B: b.jpg", attachments.
_LISTED = re.compile(
    r"(?:[\s,;&+]|\band\b|\bor\b|\bplus\b|\]|\[attached (?:image|audio|video):|\b\w{1,3}\s*[:)])*", re.I
)


_IT = r"(?:it|this|that|the (?:text|poem|story|summary|answer|description|caption|paragraph|letter|email))"
_LONGER = re.compile(
    rf"\b(?:(?:make|write) {_IT} (?:a (?:bit|little|lot) )?(?:longer|more detailed)|continue(?: {_IT})?|"
    rf"extend {_IT}|keep (?:going|writing)|go on|add (?:some )?more(?: lines| verses| sentences| to {_IT})?)\b",
    re.I,
)
_SHORTER = re.compile(
    rf"\b(?:(?:make|write) {_IT} (?:a (?:bit|little|lot) )?(?:shorter|briefer|more concise)|shorten {_IT}|"
    rf"(?:cut|trim) {_IT} down)\b",
    re.I,
)


def redo_of_last_text(request: str, given: Given, offered: Collection[str]) -> str | None:
    """The live task that makes the last reply's text longer (text generation continues it) or shorter
    (summarization), when a short follow-up asks for just that: "make it longer" after a poem went to the
    chat model, which rambled for 9 s that it could not edit anything. The writer's text is then the last
    reply's (``arguments.text_value``: a follow-up that points back)."""
    if not given.history_text or len(request.split()) > 12:
        return None
    task = (
        "text-generation"
        if _LONGER.search(request)
        else "summarization"
        if _SHORTER.search(request)
        else None
    )
    return task if task in offered else None
