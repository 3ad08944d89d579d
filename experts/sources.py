"""The one resolver for media inputs: whatever form a caller hands us, bytes of the expected kind come out.

Accepted forms, tried in this order: an artifact id (``<sha256>.<ext>``), an artifact path or URL
(``/v1/artifacts/<id>``, read from the store when it holds it), a data URL, an http(s) URL (through
the fetch guard), raw base64, and a local path inside an allow-listed folder.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

from pydantic import BaseModel, ConfigDict

from experts.artifacts import ARTIFACT_PATH_RE, ArtifactStore, is_artifact_id
from experts.errors import ExpertInputError, UnsafeSourceError
from experts.fetch import FetchPolicy, Resolver, _system_resolver, fetch_url, read_local
from experts.media import DATA_URL_RE, sniff_media_type, vet_media

_BASE64_RE = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}$")
_FILE_NAME_RE = re.compile(r"\w[\w .()-]*\.[A-Za-z0-9]{2,5}")  # "crowd.jpg": no folder, no scheme


class Media(BaseModel):
    model_config = ConfigDict(frozen=True)

    data: bytes
    media_type: str


def _checked(data: bytes, kind: str, source: str, policy: FetchPolicy) -> Media:
    if len(data) > policy.max_bytes:
        raise UnsafeSourceError(f"refused: {len(data)} bytes exceeds the {policy.max_bytes} byte cap")
    if not data:
        raise ExpertInputError(f"{source} is empty")
    return Media(data=data, media_type=vet_media(data, kind, source))


def _decode_data_url(value: str) -> tuple[bytes, str]:
    match = DATA_URL_RE.match(value)
    if not match:
        raise ExpertInputError("malformed data URL")
    payload = match["data"]
    try:
        data = base64.b64decode(payload, validate=False) if match["b64"] else unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise ExpertInputError("malformed base64 in data URL") from None
    return data, (match["type"] or "")


def resolve_media(
    value: object,
    kind: str,
    store: ArtifactStore,
    policy: FetchPolicy | None = None,
    resolver: Resolver = _system_resolver,
) -> Media:
    """Bytes of kind ``image``/``audio``/``video`` named by ``value``; raises ExpertInputError subclasses."""
    policy = policy or FetchPolicy()
    if not isinstance(value, str) or not value.strip():
        raise ExpertInputError(
            f"expected a {kind} reference (artifact id, URL, data URL or base64), got {value!r:.60}"
        )
    text = value.strip()
    if is_artifact_id(text):
        data, _ = store.get(text)
        return _checked(data, kind, "artifact", policy)
    path_match = ARTIFACT_PATH_RE.search(text.split("?", 1)[0])
    if path_match and (not text.startswith(("http://", "https://")) or store.exists(path_match[1])):
        data, _ = store.get(path_match[1])
        return _checked(data, kind, "artifact", policy)
    if text[:5].lower() == "data:":
        data, _ = _decode_data_url(text)
        return _checked(data, kind, "data URL", policy)
    scheme = text.split(":", 1)[0].lower() if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text) else ""
    if scheme in ("http", "https"):
        data, _ = fetch_url(text, kind, policy, resolver)
        return _checked(data, kind, "download", policy)
    if scheme and scheme != "file":
        raise UnsafeSourceError(f"refused: scheme {scheme!r}; only http and https are fetched")
    if not scheme and len(text) >= 16 and _BASE64_RE.match(text):
        try:
            data = base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            data = b""
        if data and sniff_media_type(data):
            return _checked(data, kind, "base64 data", policy)
    if not policy.local_roots and _FILE_NAME_RE.fullmatch(text):
        # A bare name ("crowd.jpg") the user named but never attached: say that, not "local path refused".
        raise ExpertInputError(f"{text} was not attached: attach the file or give its URL, and ask again")
    return _checked(read_local(text, policy), kind, "local file", policy)
