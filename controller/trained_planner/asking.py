"""When the planner answers instead of planning: the question for a file a request points at ("this audio",
"the picture I sent") or for text a bare command does not give, a reply to that question read as the request
it answers, and what the service can do ("What can you do?", a file no expert opens)."""

from __future__ import annotations

import re
from collections.abc import Collection

import numpy as np

from controller.messages import Conversation
from controller.schema import Task, refs_in
from controller.trained_planner.arguments import (
    Given,
    find_media,
    find_quotes,
    lacks,
    media_inputs,
)
from controller.trained_planner.completion import likeliest
from controller.trained_planner.languages import LANGUAGES
from controller.trained_planner.structure import starts_a_step
from experts.tasks import TASK_TYPES, MediaKind

# The words that say a request talks about a kind of file: a likely task on a file nobody gave is then kept
# and the file asked for.
MENTIONS: dict[str, re.Pattern[str]] = {
    "image": re.compile(
        r"\b(?:image|photo|picture|pic|photograph|screenshot|scan|drawing|chart|document)s?\b", re.I
    ),
    "audio": re.compile(
        r"\b(?:audio|recording|voice ?note|voice message|song|podcast|sound|speech)s?\b", re.I
    ),
    "video": re.compile(r"\b(?:video|clip|footage|movie)s?\b", re.I),
}


# "this audio", "my photo", "the picture I sent": the user means a file they think they gave.
# The words for a file, one group: what ``_POINTED_KIND`` maps to kinds.
_FILE_NOUN = (
    r"(audio|recording|voice ?note|voice message|song|podcast|image|photo|picture|pic|photograph|screenshot|scan|"
    r"drawing|video|clip|footage)s?\b"
)
_POINTED = re.compile(
    r"\b(?:this|my|our|attached|the attached|the (?:\w+ )?(?:i|we) (?:just )?(?:sent|uploaded|attached|shared)|"
    rf"the following)\s+(?:\w+\s+)?{_FILE_NOUN}|\b(?:the|this) (image|photo|picture|audio|recording|"
    r"video) (?:i|we) (?:just )?(?:sent|uploaded|attached|shared)",
    re.I,
)
_POINTED_KIND: dict[str, tuple[MediaKind, ...]] = {
    **dict.fromkeys(("audio", "voicenote", "voice note", "voice message", "song", "podcast"), ("audio",)),
    **dict.fromkeys(
        ("image", "photo", "picture", "pic", "photograph", "screenshot", "scan", "drawing"), ("image",)
    ),
    **dict.fromkeys(("video", "footage"), ("video",)),
    # Either kind: "this clip" is satisfied by a given audio file as well as by a video.
    **dict.fromkeys(("clip", "recording"), ("audio", "video")),
}


def pointed_at(request: str) -> tuple[tuple[MediaKind, ...], int] | None:
    """The kinds of file the request points at ("this audio") and where it does."""
    m = _POINTED.search(request)
    if not m:
        return None
    kinds = _POINTED_KIND.get((m.group(1) or m.group(2) or "").lower())
    return (kinds, m.start()) if kinds else None


# "the picture", "that recording": a file the user talks about as if it had been given.
_REFERRED = re.compile(
    rf"\b(?:the|this|that|these|those|my|our|your|attached)\s+(?:\w+\s+)?{_FILE_NOUN}", re.I
)


def ask_for_referred_file(
    request: str, given: Given, node_p: dict[str, float], offered: Collection[str]
) -> str | None:
    """The question for a file the request talks about but nobody gave, when some live task on that kind of
    file is at least weakly likely: a chat model asked "what does the sign in the picture say?" invents it."""
    m = _REFERRED.search(request)
    kinds = _POINTED_KIND.get(m.group(1).lower()) if m else None
    if not kinds or not all(lacks(given, kind) for kind in kinds):
        return None
    best = likeliest_on(kinds, offered, node_p)
    if best is None:
        return None
    kind = next(i.kind for i in media_inputs(best) if i.kind in kinds)
    return ask_for(kind, best)


def likeliest_on(
    kinds: Collection[MediaKind], offered: Collection[str], node_p: dict[str, float]
) -> str | None:
    """The live task on a file of one of ``kinds`` that either model finds likeliest, if at least ``LEAST``."""
    takers = [t for t in offered if any(i.kind in kinds for i in media_inputs(t))]
    return likeliest(takers, node_p)


def ask_for(kind: MediaKind, task: str | None) -> str:
    """The question for a missing file, naming the task that would open it when there is one."""
    which = f" ({task.replace('-', ' ')})" if task else ""
    return (
        f"{ASKED}the {kind} to work on{which}, and none was attached or named. Please attach the {kind} file "
        "(or give its URL) in your reply and I will go on."
    )


ASKED = "To do that I need "  # how each of the planner's questions for a missing input starts


_CHANGE_OF_MIND = re.compile(
    r"^\W*(?:never ?mind|forget (?:it|that|about it)|cancel|no thanks|instead)\b", re.I
)


def with_the_answer(conv: Conversation) -> Conversation:
    """A reply to the planner's own question for a missing input, as the request it answers: "Translate to
    French" -> "To do that I need the text to translate, ..." -> "'Where is the library?'" ran question
    answering over the planner's own words. Text joins after a colon; files and quotes on their own line."""
    h = conv.history
    if len(h) < 2 or h[-1][0] != "assistant" or not h[-1][1].startswith(ASKED) or h[-2][0] != "user":
        return conv
    asked, reply = h[-2][1].rstrip(" :"), conv.request.strip()
    if starts_a_step(reply) or _CHANGE_OF_MIND.match(reply):
        # "never mind, draw a cat instead", "Describe this one [attached …]": a request of its own.
        return conv
    joint = "\n" if find_media(reply) or find_quotes(reply) else ": "
    return Conversation(request=f"{asked}{joint}{reply}", history=h[:-2], attachments=conv.attachments)


# The words of a bare command on text it does not give: "Summarize the following:", "Translate to French",
# "Make it a video", "Read this aloud please".
_COMMAND = frozenset(
    "please can could would you me for us summarize summarise summary sum up shorten translate translation "
    "to into in the following this that it these those text sentence paragraph passage article read aloud out "
    "loud say speak classify sentiment of make turn a an video picture image drawing draw create generate "
    "now also just another one more again".split()
) | {language.lower() for language in LANGUAGES}
_WHAT = {
    "summarization": "the text to summarize",
    "translation": "the text to translate",
    "text-to-speech": "the text to read aloud",
    "text-to-image": "what the picture should show",
    "text-to-video": "what the video should show",
}


def text_to_ask_for(tasks: list[Task], request: str, given: Given) -> str | None:
    """The question for the text a bare command does not give, when no earlier reply gives it either:
    "Summarize the following:" summarised its own words, "Make it a video" filmed "it a video"."""
    if given.history_text or given.history_request or given.quotes or given.after_colon or len(tasks) != 1:
        return None
    words = re.findall(r"[^\W\d_]+", request.lower())
    text = tasks[0].args.get("text")
    if not words or any(w not in _COMMAND for w in words) or not isinstance(text, str) or refs_in(text):
        return None
    what = _WHAT.get(tasks[0].task, "the text to work on")
    return f"{ASKED}{what}, and the request does not say. Reply with it and I will go on."


ABOUT_SERVICE = "a question about what the service can do"
MAKING = re.compile(r"\b(?:creat|mak|generat|produc|render|animat|turn|convert|film|shoot)\w*", re.I)
# Kinds of file that no task type takes (video: the catalog only makes videos).
NO_TAKER = {
    k
    for k in ("image", "audio", "video")
    if not any(i.kind == k for t in TASK_TYPES.values() for i in t.inputs)
}


def what_can_run(offered: Collection[str]) -> str:
    if not offered:
        return (
            "No expert is running right now, so I cannot make or analyse anything yet; try again in a minute."
        )
    names = ", ".join(sorted(t.replace("-", " ") for t in offered))
    return (
        f"With the experts running right now I can do: {names}. Ask in plain words and name or attach your "
        'files, for example "Draw a lighthouse at dusk, then describe the picture."'
    )


# "Can you make videos?", "Which languages can you translate?": about the service, not a job for it.
_ABOUT_SERVICE = re.compile(
    r"^\s*(?:(?:can|could|do|will|would) you(?: be able to| also| even)? \w+(?: \w+)?\s+(?:videos?|images?|"
    r"pictures?|photos?|audio|speech|music|voices?|translations?|languages?|files?|things|documents?|pdfs?)|"
    r"(?:which|what) (?:languages|tasks|models|kinds? of \w+|sorts? of \w+|things|file types|formats)"
    r" (?:can|do|are) you\b[^?]*|what (?:else )?can you do|what are you able to do)\s*\??\s*$",
    re.I,
)


def asks_about_service(request: str) -> bool:
    return bool(_ABOUT_SERVICE.search(request))


def made_before(
    tasks: list[str],
    kind: MediaKind,
    at: int,
    pieces: list[tuple[int, str]],
    evidence: np.ndarray,
    labels: list[str],
) -> bool:
    """Whether a task that makes ``kind`` is asked for before the clause holding offset ``at``, or in it when
    no task of that clause works on a ``kind`` ("create this image from the description" makes the image it
    points at; "make this image look like a Van Gogh painting" works on one the user meant to give)."""
    here = max(k for k, (offset, _) in enumerate(pieces) if offset <= at) if pieces[0][0] <= at else 0
    place = {t: int(np.argmax(evidence[:, labels.index(t)])) for t in tasks}
    worked_on_here = any(place[t] == here and any(i.kind == kind for i in media_inputs(t)) for t in tasks)
    return any(
        kind in TASK_TYPES[t].output_kinds and (place[t] < here or (place[t] == here and not worked_on_here))
        for t in tasks
    )
