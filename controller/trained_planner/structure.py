"""From the chosen task types to a DAG: find where the request asks for each task, score every possible
dependency with a small learned model, keep the best parent of each task without closing a cycle, and
number the tasks in an order that respects the dependencies.

In TaskBench's gold plans 94 % of tasks have at most one parent, so each task gets at most one; a task
whose media input the request does not give must take it from a task that makes it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import permutations

import numpy as np

from controller.schema import Task, ref
from controller.trained_planner.arguments import WRITERS, Given, find_media
from controller.trained_planner.mediums import MAKER
from controller.trained_planner.model import words
from experts.tasks import TASK_TYPES, MediaKind

# The verbs people start a step with; a step may also start with the verb's -ing form ("..., converting
# the image to text, summarising it").
_STEP_VERBS = (
    "generat|creat|mak|convert|transform|translat|summari[sz]|classify|detect|identify|answer|tell|turn|produc|"
    "extract|estimat|segment|transcrib|edit|describ|caption|find|determin|compar|check|analy[sz]|recogni[sz]|read|"
    "speak|say|enhanc|writ|us|apply|draw|paint|giv|provid|predict|label|categori[sz]|measur|calculat|get|show|"
    "improv|clean|remov|denois|respond|reply|continu|modify|adjust|chang|visuali[sz]|highlight|break|explain|"
    "render|synthesi[sz]|compos|assess|evaluat|examin|craft|design|perform|isolat|separat|convey|present|narrat|"
    "recit|outlin|list|split|tokeni[sz]|sort|alter|upscal|restor|brighten|colou?ri[sz]|animat|depict|illustrat"
)
_STEP_START = rf"(?:{_STEP_VERBS})(?:e|es|ed|ing|s)?\b"
# Clause boundaries: sentence ends, the words people use to chain steps, and a comma or "and" before a step's
# verb ("classify this audio, modify the image based on it, create a video ..."): TaskBench's long requests
# list their steps that way, and a step read in its own clause is placed right (grouped CV of the task
# order on gold task sets: edge F1 70.2 -> 74.0).
_SPLIT = re.compile(
    r"(?<=[.!?;])\s+|\n+|,\s*(?:and\s+)?(?:then|after that|afterwards|next|finally|also|lastly)\b"
    r"|\s+(?:and then|then|after that|afterwards|followed by|finally|next|before|once)\s+|,\s+and\s+"
    rf"|\s+and\s+(?=(?:also\s+|please\s+|finally\s+)?{_STEP_START})"
    rf"|,\s*(?=(?:also\s+|please\s+)?{_STEP_START})",
    re.I,
)
KINDS: tuple[MediaKind, ...] = ("text", "image", "audio", "video")


_STARTS_A_STEP = re.compile(rf"^\W*(?:(?:please|now|then|just|ok|okay)\W+)*{_STEP_START}", re.I)


def starts_a_step(text: str) -> bool:
    """The text opens with a step's verb ("Draw a cat instead", "please transcribe it"): a request."""
    return bool(_STARTS_A_STEP.match(text))


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


# The words around a file's name in a clause that only hands it over: "I've got this image named 'a.jpg'",
# "Take selfie.jpg", "[attached image: …]".
_HANDING = frozenset(
    "take use using with here is are the this my file image photo picture audio recording clip video given "
    "for and i have uploaded attached an a please consider from got i've named called".split()
)


def only_names_files(clause: str) -> bool:
    """The clause does nothing but give files: where a file was given, not a step to place a task in."""
    rest, media = clause, find_media(clause)
    for m in media:
        rest = rest.replace(m.value, " ")
    return bool(media) and all(w in _HANDING for w in words(rest))


# "turn it into a short clip", "and read that aloud": a step whose first words point at what came before.
_OPENS_BACK = re.compile(
    r"^\W*(?:(?:and|then|now|please|also|after that|next)\W+)*(?:\w+\W+){0,2}?(?:it|this|that|them)\b", re.I
)


def opens_with_back_reference(clause: str) -> bool:
    return bool(_OPENS_BACK.match(clause))


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
    # For each task, the clause model's expected place over all clauses, 0 (first) to 1 (last): a task whose
    # words are spread over a context sentence and a step is placed between them, not at the context.
    spread: dict[str, float]


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
            layout.spread[b] - layout.spread[a],
        ],
        dtype=np.float32,
    )


_GENERATORS = frozenset({"text-to-image", "text-to-speech", "text-to-video", "text-generation"})
PAIR_FEATURES = 9


def order(tasks: Sequence[str], before, needs_source: set[str]) -> list[str]:
    """The order of ``tasks`` that best agrees with ``before(a, b)`` (the probability that a comes before
    b) over every pair, among the orders in which a task that needs a medium only another task makes
    comes after a task that makes it. Exhaustive up to ``_EXACT`` tasks (5,040 orders), else greedy."""
    tasks = list(tasks)
    if len(tasks) < 2:
        return tasks
    logp = {(a, b): math.log(max(before(a, b), 1e-6)) for a in tasks for b in tasks if a != b}
    if len(tasks) > _EXACT:
        score = {a: sum(logp[(a, b)] for b in tasks if b != a) for a in tasks}
        return sorted(tasks, key=lambda t: -score[t])
    # Decided once, not per order: who makes a medium for whom, and which tasks must wait for a maker.
    makers = {t: {s for s in tasks if s != t and makes_media(s, t)} for t in tasks if t in needs_source}
    waiting = {t: m for t, m in makers.items() if m}

    def unfed(seq: Sequence[str]) -> int:
        return sum(1 for j, t in enumerate(seq) if t in waiting and waiting[t].isdisjoint(seq[:j]))

    best, best_key = tasks, None
    for seq in permutations(tasks):
        key = (
            -unfed(seq),
            sum(logp[(seq[i], seq[j])] for i in range(len(seq)) for j in range(i + 1, len(seq))),
        )
        if best_key is None or key > best_key:
            best, best_key = list(seq), key
    return best


_EXACT = 7


def makes_media(source: str, target: str) -> bool:
    """``source`` makes a medium (image, audio, video) that ``target`` takes."""
    return feeds(source, target) in ("image", "audio", "video")


def passes(source: str, target: str) -> MediaKind | None:
    """The kind of ``source``'s output that can fill one of ``target``'s inputs, optional ones included
    (a caption as an image edit's instruction), media first."""
    outs = TASK_TYPES[source].output_kinds
    ins = {i.kind for i in TASK_TYPES[target].inputs}
    return next((k for k in ("image", "audio", "video", "text") if k in outs and k in ins), None)  # type: ignore[return-value]


GAPS = 3  # link rates are learned for tasks 1, 2 and 3-or-more places apart
LINK_AT = 0.4  # a task takes an earlier task's output when such a link is at least this common


def wire(
    order: Sequence[str], needs_source: set[str], link_rate: Callable[[str, str, int], float]
) -> dict[int, tuple[int, MediaKind]]:
    """{target index: (source index, kind)}: each task takes the output of the earlier task it is most
    often linked to in the gold plans (``link_rate(a, b, gap)``: how often ``a`` feeds ``b`` when it comes
    ``gap`` places before it), if that is common enough; a task whose media input the request does not
    give always takes it from the likeliest earlier task that makes that kind."""
    links: dict[int, tuple[int, MediaKind]] = {}
    for j in range(1, len(order)):
        task = order[j]
        options = [
            (link_rate(order[i], task, j - i), i, kind) for i in range(j) if (kind := passes(order[i], task))
        ]
        makers = [o for o in options if o[2] != "text"]
        if task in needs_source and makers:
            _, i, kind = max(makers)
            links[j] = (i, kind)
        elif options and (best := max(options))[0] >= LINK_AT:
            links[j] = (best[1], best[2])
        elif task in COMPARES and (texts := [i for _, i, kind in options if kind == "text"]):
            # A comparison after a task that writes text compares that text: TaskBench's gold plans feed 101
            # of 135 comparisons, at rates under LINK_AT for most pairs. Grouped CV (fold models): edge
            # 55.20 -> 55.36, no fold lower; the same for question answering or the visual ones: no gain.
            links[j] = (texts[-1], "text")
    return links


COMPARES = frozenset({"sentence-similarity"})  # tasks that compare two texts
_CLASSIFIERS = frozenset(
    {"audio-classification", "image-classification", "text-classification", "zero-shot-classification",
     "tabular-classification"}
)  # fmt: skip


def reads_only_a_label(order: Sequence[str], links: dict[int, tuple[int, MediaKind]]) -> set[str]:
    """Text classification whose input is another classifier's label and that nothing reads: "What's the
    mood of this song?" classified the label the song got (TaskBench's gold plans never do)."""
    read = {i for i, _ in links.values()}
    return {
        order[j]
        for j, (i, _) in links.items()
        if order[j] == "text-classification" and order[i] in _CLASSIFIERS and j not in read
    }


_LABELLERS = {"text-classification", "zero-shot-classification"}  # their output is a label, not the text
LABELLERS = _LABELLERS | {"image-classification", "audio-classification"}  # a writer writes about the label
_ON_TEXT = {"translation", "summarization", "text-to-speech"}


def text_behind_label(
    task: str, source: Task, given: Given
) -> tuple[str, tuple[int, MediaKind] | None] | None:
    """(text, link) for a text task that the plan links to a text classifier: the classified text and its own
    link, not the label ("Check whether 'The movie was a masterpiece' is positive, then translate it"
    translated "POSITIVE"). None when the link stands (TaskBench's gold plans never link these)."""
    if task not in _ON_TEXT or source.task not in _LABELLERS:
        return None
    if (text := source.args.get("text")) in given.quotes:
        return text, None
    return (ref(source.dep[0]), (source.dep[0], "text")) if source.dep else None


# "what the first image gets classified as", "the original picture": the earliest of the made ones.
_FIRST_MADE = re.compile(
    r"\b(?:first|original|initial)\s+(?:one|image|picture|photo|drawing|painting|audio|recording|clip|sound)\b",
    re.I,
)


def to_first_made(
    order: Sequence[str], links: dict[int, tuple[int, MediaKind]], task_clauses: Sequence[str]
) -> dict[int, tuple[int, MediaKind]]:
    """``links`` with each task whose clause asks for the first or the original of a made picture or audio
    taking it from the earliest task that makes that kind: "draw a dragon, make a pixel-art version of it,
    and tell me what the first image gets classified as" classified the pixel art (the nearer maker)."""
    out = dict(links)
    for j, (i, kind) in links.items():
        if kind != "text" and _FIRST_MADE.search(task_clauses[j]):
            out[j] = (next(k for k in range(i + 1) if passes(order[k], order[j]) == kind), kind)
    return out


_FROM_WORDS = frozenset(MAKER.values())  # they make a new picture, video or speech from words
_ONE_TEXT_IN = frozenset(  # tasks whose only text input is the text they work on
    {"text-classification", "token-classification", "text2text-generation", "summarization", "translation",
     "conversational", "text-generation", "zero-shot-classification", "text-to-image", "text-to-video",
     "text-to-speech", "image-to-image"}
)  # fmt: skip


def on_own_inputs(
    order: Sequence[str], links: dict[int, tuple[int, MediaKind]], task_clauses: Sequence[str], given: Given
) -> dict[int, tuple[int, MediaKind]]:
    """``links`` without the ones into a task whose own clause gives what it would read: a file of that kind
    the user gave, where the link brings a new picture, video or speech made from words ("Generate an image of
    a dog and detect objects in photo.jpg" detected the dog's objects), or a quoted text, where the link brings
    a writer's text ("..., could you help me translate 'The cat is sitting on the chair' to Spanish?"
    translated the chat reply). Grouped CV (fold models): edge 55.37 -> 55.45 for the files (three folds up,
    none down), 55.45 -> 55.49 for the quotes (three up, none down); node unchanged."""

    def gives_its_own(j: int, i: int, kind: MediaKind) -> bool:
        clause = task_clauses[j]
        if kind == "text":
            own_quote = any(q in clause and not q.rstrip().endswith("?") for q in given.quotes)
            return order[i] in WRITERS and order[j] in _ONE_TEXT_IN and own_quote
        return order[i] in _FROM_WORDS and any(m.value in clause for m in given.media_of(kind))

    return {j: (i, kind) for j, (i, kind) in links.items() if not gives_its_own(j, i, kind)}


# The words that name one task type's output in a later step's clause: "convert the summary into audio" reads
# the summarization, not the text generation ordered between them. Grouped CV (fold models): edge 55.49 ->
# 56.31; chosen on four folds and scored on the fifth, every fold gained (mean 55.49 -> 56.21), each time with
# four or five of the first five below (the generated picture, depth map, written text and video moved
# nothing and are kept for what they say). Not kept: "the audio" (a recording the user gave as often as made speech: -0.39), "the
# translation" (-0.06), "the caption / description" (-0.07).
_NAMED_OUTPUT = {
    "summarization": r"(?:the|that|this) summary|summari[sz]ed (?:text|version|content|points)",
    "automatic-speech-recognition": r"(?:the|that|this) transcri(?:pt|ption|bed text)",
    "image-to-image": r"(?:the|that|this) (?:edited|modified|transformed|updated|enhanced|altered|converted|"
    r"revised) (?:image|picture|photo|version)",
    "image-segmentation": r"(?:the|that|this) segment(?:ed|ation)",
    "object-detection": r"(?:the|those|these) (?:detected|identified) objects",
    "text-to-image": r"(?:the|that|this) (?:generated|created|new|rendered) (?:image|picture|photo)",
    "depth-estimation": r"(?:the|that|this) depth (?:map|image|estimat)",
    "text-generation": r"(?:the|that|this) (?:generated|written) (?:text|story|paragraph|content|poem)",
    "text-to-video": r"(?:the|that|this) (?:generated )?video",
}
_NAMES_OUTPUT = {task: re.compile(pattern, re.I) for task, pattern in _NAMED_OUTPUT.items()}


def to_named_outputs(
    order: Sequence[str], links: dict[int, tuple[int, MediaKind]], task_clauses: Sequence[str]
) -> dict[int, tuple[int, MediaKind]]:
    """``links`` with each task whose clause names the output of exactly one earlier task ("the summary", "the
    edited image") taking that output, whichever task the link rates chose or whether they chose none."""
    out = dict(links)
    for j in range(1, len(order)):
        named = [
            i
            for i in range(j)
            if (said := _NAMES_OUTPUT.get(order[i]))
            and said.search(task_clauses[j])
            and passes(order[i], order[j])
        ]
        if len(named) == 1 and (kind := passes(order[named[0]], order[j])):
            out[j] = (named[0], kind)
    return out
