"""Find and read the JSON value in an LLM reply: code fences, prose around it, Python-style quoting,
trailing commas. Pure functions; raises ``JSONishError`` with a sentence fit to show the LLM."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[\]}])")
_OPENERS = {"[": "]", "{": "}"}
_JSON_WORD = re.compile(r"(true|false|null)\b")  # matched at a position, never on a copied tail


class JSONishError(ValueError):
    pass


def extract_json(text: str) -> Any:
    """The first JSON array or object in ``text``, leniently read."""
    if not text or not text.strip():
        raise JSONishError("the reply was empty")
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    candidates.append(text)
    last_error = "the reply holds no JSON array or object"
    for chunk in candidates:
        for span in _balanced_spans(chunk):
            try:
                return loads_lenient(span)
            except JSONishError as e:
                last_error = str(e)
        if _unterminated(chunk):
            last_error = "the reply was cut off before the JSON was complete"
    raise JSONishError(last_error)


def loads_lenient(span: str) -> Any:
    try:
        return json.loads(span)
    except json.JSONDecodeError:
        pass
    no_trailing = _TRAILING_COMMA.sub(r"\1", span)
    try:
        return json.loads(no_trailing)
    except json.JSONDecodeError:
        pass
    # Python-literal style ('single quotes', True/None, trailing commas): ast reads it safely.
    try:
        value = ast.literal_eval(_json_words_to_python(span))
    except (ValueError, SyntaxError, MemoryError, RecursionError) as e:
        raise JSONishError(f"the JSON could not be read: {type(e).__name__}") from e
    if not isinstance(value, list | dict):
        raise JSONishError("the reply's JSON is not an array or object")
    return value


def _json_words_to_python(span: str) -> str:
    """true/false/null -> True/False/None outside of string literals."""
    out: list[str] = []
    i, n = 0, len(span)
    while i < n:
        c = span[i]
        if c in "\"'":
            j = _string_end(span, i)
            out.append(span[i:j])
            i = j
            continue
        m = _JSON_WORD.match(span, i) if (i == 0 or not span[i - 1].isalnum()) else None
        if m:
            out.append({"true": "True", "false": "False", "null": "None"}[m.group(1)])
            i += len(m.group(1))
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _string_end(s: str, start: int) -> int:
    """Index just past the string literal that opens at ``start`` (or len(s) if unterminated)."""
    quote = s[start]
    i = start + 1
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == quote:
            return i + 1
        i += 1
    return len(s)


def _balanced_spans(text: str):
    """Each top-level bracketed span in order, skipping brackets inside strings. Never the inside of a
    span: a broken list must not be read as its first element (that would drop the other tasks)."""
    i, n = 0, len(text)
    while i < n:
        if text[i] in _OPENERS:
            end = _match_close(text, i)
            if end is None:
                return  # cut off (or broken): what follows is inside it, not a JSON value of its own
            yield text[i : end + 1]
            i = end
        i += 1


def _match_close(text: str, start: int) -> int | None:
    stack = [_OPENERS[text[start]]]
    i = start + 1
    while i < len(text):
        c = text[i]
        if c in "\"'" and _quote_opens_string(text, i):
            i = _string_end(text, i)
            continue
        if c in _OPENERS:
            stack.append(_OPENERS[c])
        elif c in "]}":
            if c != stack[-1]:
                return None
            stack.pop()
            if not stack:
                return i
        i += 1
    return None


def _quote_opens_string(text: str, i: int) -> bool:
    # An apostrophe inside a word ("don't") is not a string delimiter.
    if text[i] == "'" and i > 0 and text[i - 1].isalpha():
        return False
    return True


def _unterminated(text: str) -> bool:
    first = min((text.find(c) for c in _OPENERS if c in text), default=-1)
    return first >= 0 and _match_close(text, first) is None
