"""What a request gives the tasks to work on: files, URLs, attachments, quoted texts, a target language,
the phrase a generation task should draw — read with rules, so that values are copied, never invented."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from controller.grounding import report_texts
from controller.trained_planner.languages import find_target_language, language_alone, translated_before
from controller.trained_planner.mediums import PART_KIND, medium_parts
from controller.trained_planner.questions import QUESTION_TASKS, question_of
from controller.trained_planner.subjects import (
    AGAIN,
    asks_to_make,
    generation_phrase,
    names_a_subject,
    names_in_prompt,
    points_back,
)
from experts.tasks import TASK_TYPES, MediaKind

_EXTENSIONS: dict[MediaKind, tuple[str, ...]] = {
    "image": ("jpg", "jpeg", "png", "gif", "bmp", "tiff", "tif", "webp", "svg"),
    "audio": ("wav", "mp3", "flac", "ogg", "m4a", "aac", "wma", "aiff", "opus"),
    "video": ("mp4", "avi", "mov", "mkv", "webm", "flv", "wmv", "m4v", "mpg", "mpeg"),
}
_EXT_KIND = {ext: kind for kind, exts in _EXTENSIONS.items() for ext in exts}
_ALL_EXT = "|".join(sorted(_EXT_KIND, key=len, reverse=True))
# A URL, or a bare file name with a media extension ("example.jpg", "my_song.mp3").
_URL = re.compile(r"(?:https?://|/v1/artifacts/)[^\s'\"<>()\[\]]+", re.I)
# A file name, or a path ("/examples/a.jpg" as in HuggingGPT's own examples; the experts open local paths
# only inside the allowed folders).
_FILE = re.compile(rf"(?<![\w/.~-])(?:~?/)?(?:[\w.-]+/)*[\w][\w.-]*\.(?:{_ALL_EXT})\b", re.I)
_ATTACHED = re.compile(r"\[attached (image|audio|video): ([^\]\s]+)\]")


def without_attachments(text: str) -> str:
    return _ATTACHED.sub("", text).strip()


_QUOTE = re.compile(
    r"(?<!\w)'((?:[^']|(?<=\w)'(?=\w)){2,}?)'(?!\w)|\"([^\"]{2,}?)\"|“([^”]{2,}?)”|‘([^’]{2,}?)’|«([^»]{2,}?)»|「([^」]{2,}?)」"
)
_COLON = re.compile(r":\s+(.+)$", re.S)
# "Summarize this: <text>. Then read it aloud.": the text ends where the next step begins.
_NEXT_STEP = re.compile(
    r"(?<=[.!?])\s+(?:and )?(?:then|after that|afterwards|finally|also|next|now|once done)\b.*$", re.I | re.S
)


@dataclass(frozen=True)
class Media:
    kind: MediaKind
    value: str
    at: int  # character offset in the request


@dataclass
class Given:
    """Everything the conversation offers as task inputs, in the order it was mentioned."""

    media: list[Media] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    after_colon: str | None = None
    target_language: str | None = None
    history_media: list[Media] = field(default_factory=list)  # earlier turns' files, newest first
    history_text: str | None = None  # the last assistant reply, links removed
    history_request: str | None = None  # the user's previous turn
    history_subject: str | None = None  # what the latest earlier turn that names one asked to make
    history_quote: str | None = None  # the latest earlier turn's quoted text (or the text after its colon)

    def media_of(self, kind: MediaKind) -> list[Media]:
        return [m for m in self.media if m.kind == kind]


def media_kind(value: str) -> MediaKind | None:
    m = re.search(r"\.([a-z0-9]{2,5})(?:$|[?#])", value.lower())
    return _EXT_KIND.get(m.group(1)) if m else None


def find_media(text: str) -> list[Media]:
    found: dict[int, Media] = {}
    for m in _ATTACHED.finditer(text):
        found[m.start()] = Media(m.group(1), m.group(2), m.start())  # type: ignore[arg-type]
    taken = [(m.start(), m.end()) for m in _ATTACHED.finditer(text)]
    for m in _URL.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        url = m.group(0).rstrip(".,;:!?")
        kind = media_kind(url)
        if kind:
            found[m.start()] = Media(kind, url, m.start())
            taken.append((m.start(), m.end()))
    for m in _FILE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        kind = media_kind(m.group(0))
        if kind:
            found[m.start()] = Media(kind, m.group(0), m.start())
    return [found[k] for k in sorted(found)]


def find_quotes(text: str) -> list[str]:
    out = []
    for m in _QUOTE.finditer(text):
        value = next(g for g in m.groups() if g is not None).strip()
        if value and not media_kind(value) and not _URL.fullmatch(value):
            out.append(value)
    return out


def text_after_colon(text: str) -> str | None:
    m = _COLON.search(_ATTACHED.sub("", text))
    if not m:
        return None
    value = _NEXT_STEP.sub("", m.group(1)).strip().strip("'\"“”‘’").strip()
    if len(value) < 3 or media_kind(value) or value.startswith("//"):
        return None
    return value


_MD_LINK = re.compile(r"!?\[[^\]]*\]\([^)]*\)")


def bind_named_files(text: str, earlier: dict[str, str]) -> tuple[list[Media], dict[str, str]]:
    """The files ``text`` gives, where a file the user names ("describe cat.jpg") and also attaches is the
    attachment: its ``[attached …]`` line carries only the stored URL, so the k-th file of a kind the text
    names is its k-th attached file of that kind, or failing that the file of that name an earlier turn
    attached (``earlier``: name -> URL). Returns the media and this text's name -> URL bindings."""
    media = find_media(text)
    attached = {m.group(2) for m in _ATTACHED.finditer(text)}
    named = [m for m in media if m.value not in attached and not _URL.match(m.value)]
    bound: dict[str, str] = {}
    for kind in _EXTENSIONS:
        files = [m.value for m in media if m.value in attached and m.kind == kind]
        names = dict.fromkeys(m.value.lower() for m in named if m.kind == kind)
        bound.update(zip(names, files, strict=False))
    placed = set(bound.values())  # each listed where the text names it, not again at its marker
    out = []
    for m in media:
        url = bound.get(m.value.lower(), earlier.get(m.value.lower())) if m in named else None
        if url is not None:
            out.append(Media(m.kind, url, m.at))
        elif m.value not in placed:
            out.append(m)
    return out, bound


def named_attachments(request: str, history: list[tuple[str, str]]) -> dict[str, str]:
    """File name (lower case) -> attached URL, for every file the conversation names and attaches."""
    names: dict[str, str] = {}
    for _, text in [*history, ("user", request)]:
        names.update(bind_named_files(text, names)[1])
    return names


_KIND_WORDS: dict[MediaKind, re.Pattern[str]] = {
    "image": re.compile(r"\b(?:image|photo|picture|pic|photograph|screenshot|drawing)s?\b", re.I),
    "audio": re.compile(r"\b(?:audio|recording|song|podcast|voice ?note|sound)s?\b", re.I),
}


def typed_by_words(request: str, media: list[Media]) -> list[Media]:
    """A URL with no file extension ("What's in this image? https://example.com/img?id=3") as the one kind
    of file the request talks about, when it gives none of that kind; its content is checked when fetched."""
    kinds = [k for k, words in _KIND_WORDS.items() if words.search(_URL.sub(" ", request))]
    if len(kinds) != 1 or any(m.kind == kinds[0] for m in media):
        return []
    given = {m.value for m in media}
    urls = [m for m in _URL.finditer(request) if m.group(0) not in given and not media_kind(m.group(0))]
    return [Media(kinds[0], m.group(0).rstrip(".,;:!?"), m.start()) for m in urls[:1]]


def read_given(request: str, history: list[tuple[str, str]]) -> Given:
    earlier: dict[str, str] = {}
    turns = []
    for role, text in history:  # oldest first, so that a later turn's file of the same name wins
        found, bound = bind_named_files(text, earlier)
        earlier.update(bound)
        turns.append((role, text, found))
    media, _ = bind_named_files(request, earlier)
    media += typed_by_words(request, media)
    given = Given(
        media=media,
        quotes=find_quotes(request),
        after_colon=text_after_colon(request),
        target_language=find_target_language(request, _QUOTE.sub(" ", request)),
    )
    subject_made = False
    for role, text, found in reversed(turns):
        given.history_media.extend(reversed(found))
        if role == "user" and given.history_request is None:
            given.history_request = text
        if role == "user" and given.history_quote is None:
            given.history_quote = next(iter(find_quotes(text)), None) or text_after_colon(text)
        if role == "user" and names_a_subject(phrase := generation_phrase(text)):
            # Past "one more please" and "read it aloud" to "Draw a blue car"; failing a turn that asks to
            # make something, the latest that names anything.
            made = asks_to_make(text)
            if given.history_subject is None or (made and not subject_made):
                given.history_subject, subject_made = phrase, made
        if role != "assistant" or given.history_text is not None:
            continue
        if (outputs := report_texts(text)) is not None:  # a work report: its last text output
            given.history_text = outputs[-1] if outputs else None
            continue
        plain = _MD_LINK.sub("", text).strip()
        plain = re.sub(r"^(?:here(?:'s| is)[^:\n]*:|sure[^:\n]*:)\s*", "", plain, flags=re.I).strip()
        given.history_text = plain.strip('"“”').strip() or None
    return given


def earlier_subject(phrase: str, given: Given) -> str | None:
    """What a generation phrase that only points back ("it a video") means: the last reply's text, else
    what the latest earlier turn that names something asked to make ("draw a red barn" -> "a red barn", past
    an "again" in between)."""
    if not points_back(phrase):
        return None
    if (taken := _quote_taken(given, ())) is not None:
        return taken
    # A one- or two-word reply ("yes", "dog": a question's answer) is not what "it" is when a subject was asked
    # for before ("Draw a cat wearing a hat" -> "is the cat happy?" -> "now animate it" filmed "dog").
    answer_only = given.history_subject is not None and len((given.history_text or "").split()) <= 2
    if given.history_text and not (AGAIN.search(phrase) and given.history_subject) and not answer_only:
        return given.history_text  # "make it a video": of the last reply's text
    return given.history_subject  # "another one": a new take of what was asked for, not of the last reply


def _quote_taken(given: Given, later: Collection[str]) -> str | None:
    """The request's last quoted text that is not a question nor ``later``'s (a later task's own): once
    another task took it, "tell me whether it sounds positive" means that text, not the whole request."""
    return next((q for q in reversed(given.quotes) if not q.rstrip().endswith("?") and q not in later), None)


# --- the value of a task's text input ---------------------------------------------------------------

GENERATORS = {"text-to-image", "text-to-video"}  # their text is what to make
_SPEAK = {"text-to-speech"}
WRITERS = {"text-generation", "conversational"}  # they write from a prompt
REFERS_BACK = re.compile(
    r"\b(it|this|that|these|those|them|the (?:result|answer|text|transcript|summary|"
    r"translation|image|picture|photo|audio|recording|video|previous|last))\b",
    re.I,
)


def media_inputs(task: str):
    """``task``'s required inputs that are files (image, audio, video)."""
    return [i for i in TASK_TYPES[task].inputs if i.required and i.kind != "text"]


def lacks(given: Given, kind: MediaKind) -> bool:
    """Neither this turn nor an earlier one gives a file of ``kind``."""
    return not given.media_of(kind) and not any(m.kind == kind for m in given.history_media)


def linked_slot(task: str, kind: MediaKind, given: Given) -> str | None:
    """The input of ``task`` that an earlier task's ``kind`` output fills, or None when it fills none and the
    link only orders the two: a question about a file the user gave keeps the user's question after a text
    task ("For street.jpg: describe the scene, and tell me whether it's day or night" asked the caption). A
    question over an earlier task's text reads that text as its context and asks the user's question."""
    if kind == "text" and task in QUESTION_TASKS:
        files = media_inputs(task)
        if files and not any(lacks(given, i.kind) for i in files):
            return None
        if task == "question-answering":
            return "context"
    return next(i.name for i in TASK_TYPES[task].inputs if i.kind == kind)


def text_value(
    task: str,
    slot: str,
    given: Given,
    quotes: list[str],
    request: str,
    clause: str,
    later: Collection[str] = (),
) -> str | None:
    """The value of ``task``'s text input ``slot``: a quote, the text after a colon, what to make, the last
    reply's text for a follow-up, or the request itself (``quotes``: not yet used and not ``later``, the
    quotes in a later task's own clause; a quote taken is removed)."""
    # "Make the image brighter [attached image: …]": the marker says where a file was given, it is no text.
    request, clause = without_attachments(request), _ATTACHED.sub("", clause)
    if task == "translation" and slot == "target_language":
        return given.target_language or language_alone(request) or "English"  # "what about German?"
    if task == "zero-shot-classification" and slot == "labels":
        m = re.search(
            r"\b(?:labels?|categories|classes|as|into)\s*:?\s+([\w \-]+(?:\s*,\s*[\w \-]+)+)", request
        )
        return m.group(1).replace(" or ", ", ").strip() if m else "positive, negative"
    if task in QUESTION_TASKS and slot == "text":
        return question_of(quotes, request, clause)
    if task == "image-to-image" and slot == "text":
        return quotes.pop(0) if quotes else clause.strip()
    if (kind := PART_KIND.get(task)) and (part := medium_parts(clause).get(kind)):
        # "an image of a forest and an audio clip saying 'welcome'": the picture is of the forest.
        if (inside := next((q for q in quotes if q in part), None)) is not None:
            quotes.remove(inside)
            return inside
        return part
    named = task in WRITERS and any(names_in_prompt(q) for q in quotes[:1])
    if quotes and not named:
        return quotes.pop(0)
    if task == "sentence-similarity" and given.after_colon and (pair := _two_sentences(given.after_colon)):
        return pair[slot == "text2"]
    if given.after_colon and not (task in GENERATORS and given.after_colon not in clause):
        # "Generate an image of a robot. Then, answer: what color is it?": the picture is not of the question.
        return given.after_colon
    if task in GENERATORS:
        # "a video and an image of 'a boy is running'": the image took the quote, the video is of it too.
        if inside := [q for q in given.quotes if q in clause]:
            return inside[0]
        phrase = generation_phrase(clause)
        return earlier_subject(phrase, given) or phrase
    if not named and (taken := _quote_taken(given, later)) is not None:
        return taken
    earlier = translated_before(request, given.history_request, given.history_quote)
    if task == "translation" and earlier is not None:
        return earlier  # "and to Italian?": the text translated before, not its Spanish translation
    if given.history_text and (REFERS_BACK.search(request) or len(request.split()) <= 6):
        return given.history_text
    if task in _SPEAK:
        return generation_phrase(clause)
    if task in WRITERS and (at := request.find(clause.strip())) >= 0:
        # "Write a short story about a robot, then summarize it": the writer's prompt ends with its own step;
        # the later steps are other tasks' work, and a language model asked them would do them in its story.
        return request[: at + len(clause.strip())].strip()
    return request


# "two sentences: I love football, and Football is my sport": where the second one starts.
_SECOND = re.compile(
    r"(?<=[.!?;])\s+|\s*\n+\s*|,?\s+(?:vs\.?|versus)\s+|,?\s+and\s+(?=[A-Z\"'“‘])|,\s+(?=[A-Z])"
)


def _two_sentences(text: str) -> tuple[str, str] | None:
    """The two texts a similarity request gives after its colon, when they can be told apart."""
    parts = [p.strip(" \"'“”‘’") for p in _SECOND.split(text.strip(), maxsplit=1)]
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None
