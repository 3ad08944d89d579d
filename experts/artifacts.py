"""A content-addressed artifact store over fsspec: media bytes in, a stable ``<sha256>.<ext>`` id out.

Ids name content, so writes are idempotent and an id can be cached and served forever
(the HTTP layer serves them at ``/v1/artifacts/<id>``).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid

import fsspec

from experts.errors import ArtifactNotFound, InvalidArtifactId

DEFAULT_ARTIFACTS_URL = "./var/artifacts"
ARTIFACTS_URL_ENV = "HUGGINGGPT_ARTIFACTS"

# One extension per media type; the id's extension is how ``get`` recovers the media type.
MEDIA_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "txt": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
}
_EXTENSIONS: dict[str, str] = {media: ext for ext, media in MEDIA_TYPES.items()}
# Spellings seen in the wild for the media types above.
_EXTENSIONS.update(
    {
        "audio/x-wav": "wav",
        "audio/wave": "wav",
        "audio/vnd.wave": "wav",
        "audio/mp3": "mp3",
        "audio/x-flac": "flac",
        "image/jpg": "jpg",
        "application/ogg": "ogg",
    }
)

ARTIFACT_ID_RE = re.compile(r"^[0-9a-f]{64}\.(?:" + "|".join(MEDIA_TYPES) + r")$")
# Where the HTTP layer serves artifacts; the one spelling of it (the controller's default URL prefix too).
ARTIFACT_URL_PREFIX = "/v1/artifacts/"
# An artifact referred to by its served path or URL: ``/v1/artifacts/<id>`` or ``http://host/v1/artifacts/<id>``.
ARTIFACT_PATH_RE = re.compile(
    r"(?:^|/)" + re.escape(ARTIFACT_URL_PREFIX.lstrip("/")) + r"([0-9a-f]{64}\.[a-z0-9]+)$"
)


def extension_for(media_type: str) -> str:
    """The id extension for a media type (parameters like ``; charset=`` ignored)."""
    base = media_type.split(";", 1)[0].strip().lower()
    try:
        return _EXTENSIONS[base]
    except KeyError:
        raise ValueError(f"unsupported media type {media_type!r}") from None


def artifact_id_for(data: bytes, media_type: str) -> str:
    """The id the store gives these bytes (known before storing them: ids name content)."""
    return f"{hashlib.sha256(data).hexdigest()}.{extension_for(media_type)}"


def validate_id(artifact_id: str) -> str:
    if not isinstance(artifact_id, str) or not ARTIFACT_ID_RE.match(artifact_id):
        raise InvalidArtifactId(f"not an artifact id: {str(artifact_id)[:80]!r}")
    return artifact_id


def is_artifact_id(value: object) -> bool:
    return isinstance(value, str) and ARTIFACT_ID_RE.match(value) is not None


def media_type_of(artifact_id: str) -> str:
    return MEDIA_TYPES[validate_id(artifact_id).rsplit(".", 1)[1]]


class ArtifactStore:
    """Bytes keyed by content hash under one fsspec root (a local folder, ``memory://``, ``s3://``...)."""

    def __init__(self, url: str = DEFAULT_ARTIFACTS_URL):
        self.url = url
        self._fs, self._root = fsspec.core.url_to_fs(url)
        self._fs.makedirs(self._root, exist_ok=True)

    def _path(self, artifact_id: str) -> str:
        # Two-level fan-out keeps directories small on local disks.
        return f"{self._root.rstrip('/')}/{artifact_id[:2]}/{artifact_id}"

    def put(self, data: bytes, media_type: str) -> str:
        artifact_id = artifact_id_for(data, media_type)
        path = self._path(artifact_id)
        if not self._fs.exists(path):
            self._fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            # Write then rename, so a reader never sees a half-written artifact.
            tmp = f"{path}.{uuid.uuid4().hex}.tmp"
            self._fs.pipe_file(tmp, data)
            self._fs.mv(tmp, path)
        return artifact_id

    def get(self, artifact_id: str) -> tuple[bytes, str]:
        path = self._path(validate_id(artifact_id))
        try:
            data = self._fs.cat_file(path)
        except FileNotFoundError:
            raise ArtifactNotFound(f"no artifact {artifact_id}") from None
        return data, media_type_of(artifact_id)

    def exists(self, artifact_id: str) -> bool:
        return self._fs.exists(self._path(validate_id(artifact_id)))

    def local_path(self, artifact_id: str) -> str | None:
        """A filesystem path for the artifact when the store is a local folder (for zero-copy serving)."""
        if "file" not in (
            self._fs.protocol if isinstance(self._fs.protocol, tuple) else (self._fs.protocol,)
        ):
            return None
        path = self._path(validate_id(artifact_id))
        return path if os.path.exists(path) else None


def default_store() -> ArtifactStore:
    """The store named by ``HUGGINGGPT_ARTIFACTS`` (any fsspec URL), else ``./var/artifacts``."""
    return ArtifactStore(os.environ.get(ARTIFACTS_URL_ENV, DEFAULT_ARTIFACTS_URL))
