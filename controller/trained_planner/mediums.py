"""Pictures, videos and speech a request asks for beyond one task of each: media of several kinds in one step
("Create an image of a sunset and a video of ocean waves": a picture of "a sunset", a video of "ocean
waves"), several takes of one subject ("three different pictures of a cat"), one more picture for each
further step that asks for one ("Draw a castle. Then draw a knight."), and a new take on "another one"."""

from __future__ import annotations

import re
from collections.abc import Collection

import numpy as np

from controller.grounding import report_tasks
from controller.schema import Task, refs_in
from controller.trained_planner.subjects import (
    AGAIN,
    asks_to_make,
    generation_phrase,
    names_nothing,
    points_back,
)
from experts.tasks import TASK_TYPES, MediaKind

# The maker of each medium a request may ask for.
MAKER: dict[MediaKind, str] = {"image": "text-to-image", "video": "text-to-video", "audio": "text-to-speech"}
KIND_MADE_BY = {task: kind for kind, task in MAKER.items()}
# A request may list a written piece beside the media ("an image of a city and a poem about it"): its writer.
PART_MAKER: dict[MediaKind, str] = {**MAKER, "text": "text-generation"}
PART_KIND = {task: kind for kind, task in PART_MAKER.items()}
_PICTURE_MAKERS = frozenset({MAKER["image"], MAKER["video"]})  # the makers that take a seed

_NOUNS: dict[MediaKind, str] = {
    # "audio clip" before "clip": a clip alone is a video.
    "audio": r"audio(?: clip| file| recording| message)?|voice (?:clip|message|recording)|sound clip|recording"
    r"|voice ?over|spoken version",
    "image": r"image|picture|photo|photograph|drawing|painting|illustration|sketch|artwork|poster|logo|pic",
    "video": r"video|animation|movie|film|clip",
    "text": r"poem|story|short story|haiku|limerick|essay|slogan|tagline|joke|blog post|tweet",
}
_ADJECTIVE = r"(?:short|little|quick|small|nice|cool|realistic|beautiful|simple|brief|new|second|\w+-second)"
_MEDIUM = re.compile(
    r"\b(?:a|an|one|some|another)\s+(?:"
    + _ADJECTIVE
    + r"\s+){0,3}(?:(?P<audio>"
    + _NOUNS["audio"]
    + r")|(?P<image>"
    + _NOUNS["image"]
    + r")|(?P<video>"
    + _NOUNS["video"]
    + r")|(?P<text>"
    + _NOUNS["text"]
    + r"))s?\b\s*(?:of|showing|depicting|with|about|where|in which|that shows|for)?\s*",
    re.I,
)
# "... of a sunset and a video of ...": the joint between one medium's subject and the next medium.
_LISTED = re.compile(r"(?:,|;|\band|\bplus|\bas well as)\s*$", re.I)
_JOINT = re.compile(r"[\s,;]*(?:\band\b|\bplus\b|\bas well as\b|\bwith\b)?[\s,;]*$", re.I)
_WITH = re.compile(r"\bwith\s*$", re.I)
_SAYING = re.compile(
    r"^(?:(?:of\s+)?(?:someone|somebody|a (?:man|woman|person|voice))\s+)?(?:saying|that says|reading|"
    r"which says|speaking)\s+",
    re.I,
)


def _listed(clause: str, medium: re.Match[str]) -> bool:
    """Whether ``medium`` is listed after the one before it, or is speech of its own said over it ("a clip of a
    rocket launch with a voiceover saying 'liftoff'"), not part of its subject."""
    before = clause[: medium.start()]
    return bool(
        _LISTED.search(before)
        or (medium.lastgroup == "audio" and _WITH.search(before) and _SAYING.match(clause[medium.end() :]))
    )


def medium_parts(clause: str) -> dict[MediaKind, str]:
    """{kind: what that medium is of} for a clause that asks for media of two or more kinds, else {}; a
    written piece's part is its prompt ("a poem about it" -> "Write a poem about <the picture's subject>")."""
    found = list(_MEDIUM.finditer(clause))
    kinds = {m.lastgroup for m in found}
    # Media listed one after another ("an image of X and a video of Y"), not one inside another's subject
    # ("a picture of my dog with a recording of him barking").
    if len(kinds) < 2 or not all(_listed(clause, nxt) for nxt in found[1:]):
        return {}
    parts: dict[MediaKind, str] = {}
    written: tuple[str, str] | None = None  # (the piece as named, its own subject)
    subject = ""  # "an image and a video of a boy": a medium with no subject of its own shares the next one's
    for m, nxt in reversed(list(zip(found, [*found[1:], None], strict=True))):
        end = nxt.start() if nxt is not None else len(clause)
        text = _JOINT.sub("", clause[m.end() : end]).strip(" ,.;:!?")
        kind: MediaKind = m.lastgroup  # type: ignore[assignment]
        if kind == "text":
            written = (m.group(0).strip(), text)
            continue
        subject = _SAYING.sub("", text).strip() or subject
        if subject:
            parts[kind] = subject  # the first one named of a kind wins: it is written last
    if written is not None and parts:
        named, own = written
        # "a poem about it", "a poem": of the picture's subject; "a story about a dragon": its own.
        about = own if own and not points_back(own) else next(reversed(parts.values()))
        parts["text"] = f"Write {named} {about}" if own else f"Write {named} about {about}"
    return parts if len(parts) >= 2 else {}


def makers_of_other_media(
    chosen: list[str], clauses: list[str], offered: Collection[str], max_tasks: int
) -> list[str]:
    """The maker of each further medium that a chosen maker's clause asks for too: "I want a picture of a red
    car and a short video of a racing track" planned the video alone."""
    added: list[str] = []
    for clause in clauses:
        parts = medium_parts(clause)
        if not any(PART_KIND.get(t) in parts for t in chosen):
            continue
        for kind in parts:
            task = PART_MAKER[kind]
            if task in offered and task not in chosen + added and len(chosen) + len(added) < max_tasks:
                added.append(task)
    return added


def unlink_parts(
    order: list[str], links: dict[int, tuple[int, MediaKind]], task_clauses: list[str]
) -> dict[int, tuple[int, MediaKind]]:
    """``links`` without the ones between two makers of the media one clause lists, each of its own subject:
    "an image of a city and a poem about it" drew the poem instead of the city."""
    out = dict(links)
    for j, (i, _) in links.items():
        parts = medium_parts(task_clauses[j])
        if PART_KIND.get(order[i]) in parts and PART_KIND.get(order[j]) in parts:
            del out[j]
    return out


_ABOUT_IT = re.compile(r"\b(about|of|on|describing|for)\s+(?:it|that|this|them)\b", re.I)


def written_about(clause: str, tasks: list[Task]) -> str | None:
    """A writer's prompt for a step that writes about the picture or video made before it: "Draw a sunset and
    write a poem about it" -> "write a poem about a sunset" (the whole request asked the writer to draw)."""
    made = [str(t.args["text"]) for t in tasks if t.task in _PICTURE_MAKERS and not refs_in(t.args["text"])]
    return about(clause, made[-1]) if made else None


def about(clause: str, what: str) -> str | None:
    """``clause`` with the "it" it writes about replaced by ``what``: "write a fun fact about it" with an
    image classifier's label -> "write a fun fact about <GENERATED>-0" (the writer was given the bare label)."""
    if (m := _ABOUT_IT.search(clause)) is None:
        return None
    return f"{clause[: m.start()]}{m[1]} {what}{clause[m.end() :]}".strip(" ,;?")


def edit_of_named_picture(tasks: list[Task], pictures: list[str], offered: Collection[str]) -> list[Task]:
    """``tasks`` with a new picture whose subject names a picture the user gave, and that no task opens, made
    as an edit of that picture: "Please generate a canny image based on e3.jpg" drew "a canny image based on
    e3.jpg" and never opened e3.jpg (TaskBench's one such request in the folds plans the edit too)."""
    opened = {v for t in tasks for k, v in t.args.items() if k == "image"}
    out = list(tasks)
    for n, t in enumerate(tasks):
        text = str(t.args.get("text", ""))
        named = next((p for p in pictures if p in text and p not in opened), None)
        if t.task == MAKER["image"] and named is not None and _EDITOR in offered:
            out[n] = Task(id=t.id, task=_EDITOR, dep=t.dep, args={"image": named, "text": text})
            opened.add(named)
    return out


_EDITOR = "image-to-image"


_COUNTS = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4}
_SEVERAL = re.compile(
    r"^(?P<n>two|three|four|[234])\s+(?:(?:different|separate|unique|more|distinct|new|other|"
    + _ADJECTIVE
    + r")\s+)*(?:images|pictures|photos|drawings|paintings|illustrations|videos|clips|versions|variations|"
    r"takes)\s+(?:of|showing|with)\s+(?P<subject>\S.*)$",
    re.I | re.S,
)


def for_each_copy(tasks: list[Task], max_tasks: int) -> list[Task]:
    """``tasks`` with a picture or video asked for several times ("Generate three different pictures of a
    cat") made that many times, each of the subject alone; not when a later task reads it (which copy is not
    said)."""
    out = list(tasks)
    for t in tasks:
        m = _SEVERAL.match(str(t.args.get("text", ""))) if t.task in _PICTURE_MAKERS else None
        if m is None or any(t.id in other.dep for other in tasks):
            continue
        subject = m["subject"].strip()
        out[out.index(t)] = t.model_copy(update={"args": {**t.args, "text": subject}})
        for take in range(1, 1 + min(_COUNTS[m["n"].lower()] - 1, max(max_tasks - len(out), 0))):
            args = {**t.args, "text": subject, "seed": str(take)}  # the same seed would make the same picture
            out.append(Task(id=len(out), task=t.task, dep=t.dep, args=args))
    return out


_DRAW_AT = 0.6  # how strongly a further clause must read as the same picture or video step


def each_drawing_step(
    tasks: list[Task],
    clauses: list[str],
    taken: set[int],
    readings: np.ndarray,
    labels: list[str],
    max_tasks: int,
) -> list[Task]:
    """``tasks`` with a picture or video made once more for each further clause that asks for one of its
    own ("Draw a castle. Then draw a knight." drew the castle alone): a clause no task is placed in
    (``taken``), that starts with a verb of making, reads as the same step first, at ``_DRAW_AT`` or more,
    and names something to make. Without the verb, TaskBench's context sentences ("I'm working on a painting
    of a sunset ...") became pictures: v-F1 52.69 -> 52.37 in the fold models."""
    out, taken = list(tasks), set(taken)
    task_columns = [j for j, label in enumerate(labels) if label in TASK_TYPES]
    for t in tasks:
        if t.task not in _PICTURE_MAKERS:
            continue
        column = labels.index(t.task)
        for k, clause in enumerate(clauses):
            phrase = generation_phrase(clause)
            if (
                k in taken
                or readings[k, column] < _DRAW_AT
                or readings[k, column] < readings[k, task_columns].max()
                or not asks_to_make(clause)
                or names_nothing(phrase)
                or any(str(o.args.get("text")) in phrase for o in out if o.task == t.task)  # the same subject
                or len(out) >= max_tasks
            ):
                continue
            out.append(Task(id=len(out), task=t.task, dep=[], args={**t.args, "text": phrase}))
            taken.add(k)
    return out


def make_again(request: str, history: list[tuple[str, str]], offered: Collection[str]) -> str | None:
    """The maker to run once more for a short "one more please" / "again" after a reply that made a picture,
    a video or speech (the models read it as chat: the small chat model answered it)."""
    if len(request.split()) > 6 or not AGAIN.search(request) or not history or history[-1][0] != "assistant":
        return None
    made = [t for t in report_tasks(history[-1][1]) if t in KIND_MADE_BY]
    return made[-1] if made and made[-1] in offered else None
