"""Which question a question-answering task asks: a quoted question, else the request's last question as
written ("What's the weather like?"), without a label before it ("Then, answer: what color is it?")."""

from __future__ import annotations

import re

QUESTION_TASKS = {"visual-question-answering", "document-question-answering", "question-answering"}
# "... receipt.png — what's the total?": a question after a dash or a sentence end, in lower case, with apostrophes.
_LOWER_QUESTION = re.compile(r"(?:^|[.!?;:—–]\s+|\s[-—–]\s)([a-z][^.!?\n—–;:\"“”]*\?)")
# A question in capitals, with apostrophes inside words ("What's ...?") but no quote marks.
_QUESTION = re.compile(r"([A-Z](?:[^.!?\"'“”]|(?<=\w)'(?=\w))*\?)")
_QUESTION_LABEL = re.compile(r"^\s*(?:question|q)\s*:\s*", re.I)


def question_of(quotes: list[str], request: str, clause: str) -> str:
    """The question to ask; a quote it takes is removed from ``quotes``. Failing a question, the first quote
    left, else the task's own clause."""
    q = next((q for q in quotes if q.rstrip().endswith("?")), None)
    if q is None:
        m = _QUESTION.findall(request) or _LOWER_QUESTION.findall(request)
        q = m[-1].strip() if m else None
    if q is None:
        return quotes.pop(0) if quotes else clause.strip()
    if q in quotes:
        quotes.remove(q)
    # "Question: what is ...?", "Then, answer: what is ...?" -> "what is ...?"
    return _QUESTION_LABEL.sub("", q).rsplit(": ", 1)[-1]
