"""Turn OpenAI-style chat messages into what the planner reads: the request text, the earlier turns,
and attachments stored as artifacts (media never travels through the LLM)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Protocol

from controller.schema import AudioPart, ChatMessage, ImagePart, TextPart
from experts.artifacts import ARTIFACT_URL_PREFIX, artifact_id_for
from experts.errors import ExpertInputError
from experts.media import DATA_URL_RE, vet_media


class RequestError(ValueError):
    """The caller's messages cannot be planned from; the message says what to change."""


class AttachmentStore(Protocol):
    def put(self, data: bytes, media_type: str) -> str:
        """Store the bytes; return the artifact id."""
        ...


@dataclass
class _Pending:
    """Attachments read but not yet stored: nothing is stored for a request that is then refused."""

    store: AttachmentStore | None
    url_prefix: str
    items: list[tuple[bytes, str]] = field(default_factory=list)

    def add(self, data: bytes, kind: str, what: str) -> str:
        if self.store is None:
            raise RequestError("this service accepts attachments only as URLs (no artifact store configured)")
        if not data:
            raise RequestError("an attachment is empty")
        try:
            media_type = vet_media(data, kind, what)
        except ExpertInputError as e:
            raise RequestError(str(e)) from None
        self.items.append((data, media_type))
        return self.url_prefix + artifact_id_for(data, media_type)

    def store_all(self) -> None:
        for data, media_type in self.items:
            self.store.put(data, media_type)  # type: ignore[union-attr]  # add() refused without a store


@dataclass
class Conversation:
    request: str  # the last user turn, attachments written in as URLs
    history: list[tuple[str, str]] = field(default_factory=list)  # (role, text) before it, oldest first
    attachments: list[str] = field(default_factory=list)  # URLs of stored attachments


def read_conversation(
    messages: list[ChatMessage],
    *,
    max_chars: int,
    store: AttachmentStore | None,
    url_prefix: str,
) -> Conversation:
    turns = [m for m in messages if m.role != "system"]
    if not turns:
        raise RequestError("messages must contain at least one user message")
    if turns[-1].role != "user":
        raise RequestError(f"the last message must come from the user, not {turns[-1].role!r}")
    pending = _Pending(store, url_prefix)
    history: list[tuple[str, str]] = []
    for m in turns[:-1]:
        text, _ = _flatten(m, pending, url_prefix, max_chars)
        if text:
            history.append((m.role, text))
    request, attachments = _flatten(turns[-1], pending, url_prefix, max_chars)
    if not request.strip():
        raise RequestError("the last user message is empty")
    if len(request) > max_chars:
        raise RequestError(
            f"the last user message has {len(request):,} characters; at most {max_chars:,} are accepted"
        )
    pending.store_all()
    return Conversation(request=request, history=history, attachments=attachments)


def _flatten(
    message: ChatMessage, pending: _Pending, url_prefix: str, max_chars: int
) -> tuple[str, list[str]]:
    content = message.content
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    urls: list[str] = []
    for part in content:
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif isinstance(part, ImagePart):
            url = _attach(part.image_url.url, "image", pending, url_prefix)
            urls.append(url)
            texts.append(f"[attached image: {url}]")
        elif isinstance(part, AudioPart):
            try:
                data = base64.b64decode(part.input_audio.data, validate=True)
            except (binascii.Error, ValueError) as e:
                raise RequestError("input_audio.data is not valid base64") from e
            url = pending.add(data, "audio", "the input_audio")
            urls.append(url)
            texts.append(f"[attached audio: {url}]")
        if sum(map(len, texts)) > max_chars:
            break  # the length check of the caller reports it; stop copying early
    return "\n".join(texts), urls


def _attach(url: str, kind: str, pending: _Pending, url_prefix: str) -> str:
    if not url.startswith("data:"):
        # The configured prefix (what this service hands out) or the path the HTTP layer serves.
        if not url.startswith(("http://", "https://", url_prefix, ARTIFACT_URL_PREFIX)):
            raise RequestError(f"an attached {kind} must be an http(s) URL, an artifact URL or a data URL")
        return url
    m = DATA_URL_RE.match(url)
    if not m or not m.group("b64"):
        raise RequestError(f"the attached {kind} data URL must be base64-encoded")
    media_type = m.group("type") or "application/octet-stream"
    if not media_type.startswith(kind + "/"):
        raise RequestError(f"the attached {kind} has media type {media_type!r}")
    try:
        data = base64.b64decode(m.group("data"), validate=True)
    except (binascii.Error, ValueError) as e:
        raise RequestError(f"the attached {kind} data URL is not valid base64") from e
    return pending.add(data, kind, f"the attached {kind}")


def estimate_tokens(text: str) -> int:
    """~4 characters a token for English; the planner's history budget needs no exact count."""
    return len(text) // 4 + 1


def trim_history(history: list[tuple[str, str]], budget: int) -> list[tuple[str, str]]:
    """The most recent turns that fit the token budget, oldest first."""
    kept: list[tuple[str, str]] = []
    used = 0
    for role, text in reversed(history):
        cost = estimate_tokens(text) + 4
        if used + cost > budget:
            break
        kept.append((role, text))
        used += cost
    return list(reversed(kept))
