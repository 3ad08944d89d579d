"""Which question a question-answering task asks: a quoted question, else the request's last question as
written ("What's the weather like?"), without a label before it ("Then, answer: what color is it?"); and
one question about a picture for each plain question the request puts."""

from __future__ import annotations

import re
from collections.abc import Collection

from controller.schema import Task

QUESTION_TASKS = {"visual-question-answering", "document-question-answering", "question-answering"}
# "... receipt.png — what's the total?": a question after a dash or a sentence end, in lower case, with apostrophes.
_LOWER_QUESTION = re.compile(r"(?:^|[.!?;:—–]\s+|\s[-—–]\s)([a-z](?:[^.!?\n—–;:\"“”]|(?<=\w)\.(?=\w))*\?)")
# A question in capitals, with apostrophes inside words ("What's ...?") but no quote marks.
# A dot between letters ("street.jpg") is no sentence end; a spaced dash ("From bill.png - How much ...?") is.
_QUESTION = re.compile(r"([A-Z](?:(?!\s[-—–]\s)[^.!?\"'“”]|(?<=\w)['.](?=\w))*\?)")
_QUESTION_LABEL = re.compile(r"^\s*(?:question|q)\s*:\s*", re.I)


def question_of(quotes: list[str], request: str, clause: str) -> str:
    """The question to ask; a quote it takes is removed from ``quotes``. Failing a question, the first quote
    left, else the task's own clause."""
    q = next((q for q in quotes if q.rstrip().endswith("?")), None)
    if q is None:
        m = _QUESTION.findall(request) or _LOWER_QUESTION.findall(request)
        q = m[-1].strip() if m else None
        # "is it a good idea to learn Python?": the whole question, not "Python?" (a capital inside it)
        whole = _LOWER_QUESTION.match(request.strip())
        if q and whole and whole[1].endswith(q) and not _PLAIN_QUESTION.match(q):
            q = whole[1].strip()
    if q is None:
        return quotes.pop(0) if quotes else clause.strip()
    if q in quotes:
        quotes.remove(q)
    # "Question: what is ...?", "Then, answer: what is ...?" -> "what is ...?"
    return _QUESTION_LABEL.sub("", q).rsplit(": ", 1)[-1]


# A question to put to a picture ("How many cars are there?", "What's the color of the bus?"), not a request
# phrased as one ("Then, could you describe it?", "Is it possible to ...?", "What do you think?").
_PLAIN_QUESTION = re.compile(
    r"^(?!is it possible)(?:what|what's|which|who|whose|where|when|why|how|is|are|does|do|did|was|were)\b"
    r"(?!.*\b(?:you|me|i|we|us)\b)",
    re.I,
)
_ON_FILES = {"visual-question-answering", "document-question-answering"}


def each_question(tasks: list[Task], request: str, max_tasks: int) -> list[Task]:
    """``tasks`` with a question about a file asked once more for each other question the request puts, in
    the order they are put ("Look at party.png. How many people are there? What color is the cake?" asked
    only about the cake). Only a question that no other task reads: which answer it would read is not said."""
    asked = [
        q.strip() for q in _QUESTION.findall(request) if _PLAIN_QUESTION.match(q.split(", ")[-1].strip())
    ]
    if len(asked) < 2:
        return tasks
    first = next((t for t in tasks if t.task in _ON_FILES and t.args.get("text") in asked), None)
    if first is None or any(first.id in t.dep for t in tasks):
        return tasks
    taken = {t.args.get("text") for t in tasks if t is not first}
    texts = [q for q in dict.fromkeys(asked) if q not in taken][: max(max_tasks - len(tasks), 0) + 1]
    out = [t.model_copy(update={"args": {**t.args, "text": texts[0]}}) if t is first else t for t in tasks]
    for q in texts[1:]:
        out.append(Task(id=len(out), task=first.task, dep=first.dep, args={**first.args, "text": q}))
    return out


_PICTURE_ASKER = "visual-question-answering"
# Tasks on the last reply's text that a question about the picture is misread as ("is the cat happy?" read as
# sentiment), and the words that do ask about that text ("what's the mood of the caption?").
_ON_REPLY_TEXT = frozenset(
    {"text-classification", "zero-shot-classification", "token-classification", "question-answering",
     "conversational", "text-generation"}
)  # fmt: skip
_NAMES_TEXT = re.compile(
    r"\b(?:text|caption|description|summary|translation|transcript|answer|words?|sentences?|says?|said|written|"
    r"poem|story|review|reply|sentiment|tone)\b",
    re.I,
)


# With nothing chosen (read as chat), only a question that points at someone or something already seen: "are
# they dancing?" is about the picture; "who painted the Mona Lisa?" is not, nor "is it a good idea to ...?".
_POINTS = re.compile(r"\b(?:they|them|their|he|she|his|her|there|these|those)\b", re.I)


def asks_the_picture(
    request: str, chosen: list[str], newest_kind: str | None, offered: Collection[str]
) -> bool:
    """A plain question with no file of its own, right after a turn whose newest file is a picture, that the
    models read as work on the last reply's text: "Draw a cat wearing a hat" -> "is the cat happy?" classified
    the caption's sentiment, "are they dancing?" went to the chat model, which cannot see; both are questions
    to the picture."""
    question = request.strip()
    return (
        newest_kind == "image"
        and _PICTURE_ASKER in offered
        and question.endswith("?")
        and bool(_PLAIN_QUESTION.match(question))
        and (all(t in _ON_REPLY_TEXT for t in chosen) if chosen else bool(_POINTS.search(question)))
        and not _NAMES_TEXT.search(question)
    )
