"""What a written reply may claim: it links only artifacts that exist in this conversation or run, and the
small embedded model never reads earlier work reports as its own words (it would repeat them as if this
turn had done the work)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing

from experts.artifacts import ARTIFACT_URL_PREFIX

# An artifact reference as a model writes it: the served path, maybe behind a host, with whatever id.
_REFERENCE = re.compile(
    r"(?:https?://[^\s()<>\[\]]*)?" + re.escape(ARTIFACT_URL_PREFIX) + r"[^\s()<>\[\]\"'`]*"
)
_MARKDOWN_LINK = re.compile(r"!?\[[^\[\]\n]*\]\(\s*([^()\s]*)\s*\)")
# A link still being written at the end of the text: its label, or its URL, is open.
_OPEN_LINK = re.compile(r"!?\[[^\[\]\n]*(?:\](?:\([^()\n]*)?)?\Z")
# One line of the grounded answer (controller.response.grounded_answer): "- **task name** (model): ..."
# "- **task name** (model) — what sets it apart: ..." (the label only where the plan runs that task twice).
REPORT_LINE = re.compile(r"^- \*\*([a-z0-9 -]+)\*\*(?: \([^)\n]*\))?(?: — [^:\n]*)?: ", re.MULTILINE)


def artifact_ids(texts: Iterable[str]) -> set[str]:
    """The artifact ids the texts refer to (what a reply may link to)."""
    return {_id_of(m.group(0)) for text in texts for m in _REFERENCE.finditer(text)}


_SENTENCE_END = ".,;:!?"  # after a bare URL, the sentence's punctuation, not the URL's


def _id_of(reference: str) -> str:
    return reference.rsplit(ARTIFACT_URL_PREFIX, 1)[1].rstrip(_SENTENCE_END)


def is_work_report(text: str) -> bool:
    """An assistant turn that reports what experts did: it links artifacts or has the grounded answer's
    lines."""
    return bool(_REFERENCE.search(text) or REPORT_LINE.search(text))


# What a report line says when its task made no text: these are not outputs a follow-up can mean.
_NO_TEXT = re.compile(r"^(?:did not run\.|done, no output\.|skipped — |failed — )")


def report_texts(text: str) -> list[str] | None:
    """The text outputs of a grounded work report, in order, links taken out; ``None`` when ``text`` is
    not one ("read it aloud" after a report means the summary, not "- **summarization** (t5-small): ...")."""
    heads = list(REPORT_LINE.finditer(text))
    if not heads:
        return None
    ends = [h.start() for h in heads[1:]] + [len(text)]
    outputs = (
        _MARKDOWN_LINK.sub("", text[h.end() : end]).strip() for h, end in zip(heads, ends, strict=True)
    )
    return [o for o in outputs if o and not _NO_TEXT.match(o)]


def report_tasks(text: str) -> list[str]:
    """The task types a grounded work report ran, in order ("text to image" -> "text-to-image")."""
    return [m.group(1).replace(" ", "-") for m in REPORT_LINE.finditer(text)]


def chat_history_for_small_model(history: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The earlier turns without the work reports and the requests they answered: a 135M model given a
    report as its own earlier words repeats it, claiming work that no expert did in this turn."""
    kept: list[tuple[str, str]] = []
    for role, text in history:
        if role == "assistant" and is_work_report(text):
            if kept and kept[-1][0] == "user":
                kept.pop()
            continue
        kept.append((role, text))
    return kept


class LinkGuard:
    """Removes, from a streamed reply, every artifact link or URL that names no artifact it may link.

    Text is released up to the last word boundary outside a link still being written, so every released
    piece holds whole links and whole URLs and the check sees each one complete."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed
        self.removed: list[str] = []
        self._held = ""

    def feed(self, delta: str) -> str:
        self._held += delta
        cut = max(self._held.rfind(c) for c in " \n\t") + 1
        open_link = _OPEN_LINK.search(self._held)
        if open_link:
            cut = min(cut, open_link.start())
        out, self._held = self._held[:cut], self._held[cut:]
        return self._clean(out)

    def flush(self) -> str:
        """The rest, at the end of the reply; a link cut off while its URL was written is dropped."""
        out, self._held = self._held, ""
        cut_off = _OPEN_LINK.search(out)
        if cut_off and "](" in cut_off.group(0):
            self.removed.append(cut_off.group(0))
            out = out[: cut_off.start()]
        return self._clean(out)

    def _clean(self, text: str) -> str:
        text = _MARKDOWN_LINK.sub(self._link, text)
        return _REFERENCE.sub(self._bare, text)

    def _link(self, m: re.Match[str]) -> str:
        target = m.group(1)
        if ARTIFACT_URL_PREFIX in target and _id_of(target) not in self.allowed:
            self.removed.append(target)
            return ""
        return m.group(0)

    def _bare(self, m: re.Match[str]) -> str:
        reference = m.group(0)
        if _id_of(reference) in self.allowed:
            return reference
        url = reference.rstrip(_SENTENCE_END)  # the sentence's punctuation stays
        self.removed.append(url)
        return reference[len(url) :]


async def guard_links(deltas: AsyncIterator[str], guard: LinkGuard) -> AsyncIterator[str]:
    async with aclosing(deltas) as stream:
        async for delta in stream:
            if out := guard.feed(delta):
                yield out
    if out := guard.flush():
        yield out
