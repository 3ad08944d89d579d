"""A content-addressed artifact store over fsspec: media bytes in, a stable ``<sha256>.<ext>`` id out.

Ids name content, so writes are idempotent and an id can be cached and served forever
(the HTTP layer serves them at ``/v1/artifacts/<id>``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

import fsspec

from experts.errors import ArtifactNotFound, InvalidArtifactId, StorageFull, StorageUnavailable

DEFAULT_ARTIFACTS_URL = "./var/artifacts"
ARTIFACTS_URL_ENV = "HUGGINGGPT_ARTIFACTS"
TEMP_SUFFIX = ".tmp"  # a write in progress (or one a crash left behind: the sweep removes it)
CHUNK_BYTES = 1 << 16

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
    """Bytes keyed by content hash under one fsspec root (a local folder, ``memory://``, ``s3://``...).

    A file takes its id only once its bytes are on disk (fsynced) and hash to the id, so a crash never
    leaves a truncated file that would be served as immutable forever; an existing file is re-checked
    before ``put`` trusts it. Disk full and read-only stores raise ``StorageFull`` / ``StorageUnavailable``.
    With a ``quota_bytes``, ``put`` refuses new bytes the retention sweep cannot make room for.
    """

    def __init__(self, url: str = DEFAULT_ARTIFACTS_URL, quota_bytes: int | None = None):
        self.url = url
        self.quota_bytes = quota_bytes
        self.used_bytes: int | None = None  # known after a sweep; grows with each put
        with storage_errors():
            self._fs, self._root = fsspec.core.url_to_fs(url)
            self._fs.makedirs(self._root, exist_ok=True)
        protocols = self._fs.protocol if isinstance(self._fs.protocol, tuple) else (self._fs.protocol,)
        self.is_local = "file" in protocols
        # The retention sweep, called before refusing, with the bytes it should make room for.
        self.on_full: Callable[[int], object] | None = None

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        return self._fs

    @property
    def root(self) -> str:
        return self._root.rstrip("/")

    def _path(self, artifact_id: str) -> str:
        # Two-level fan-out keeps directories small on local disks.
        return f"{self.root}/{artifact_id[:2]}/{artifact_id}"

    def put(self, data: bytes, media_type: str) -> str:
        artifact_id = artifact_id_for(data, media_type)
        digest = artifact_id.partition(".")[0]
        path = self._path(artifact_id)
        with storage_errors():
            if self._intact(path, digest):
                self._touch(path)
                return artifact_id
            self._make_room(len(data))
            self._fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{path}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
            try:
                self._write_verified(tmp, data, digest)
                self._fs.mv(tmp, path)  # a rename: readers see the whole file or none
            finally:
                if self._fs.exists(tmp):
                    self._fs.rm_file(tmp)
            if self.is_local:
                _fsync_dir(os.path.dirname(path))
        if self.used_bytes is not None:
            self.used_bytes += len(data)
        return artifact_id

    def _write_verified(self, tmp: str, data: bytes, digest: str) -> None:
        if self.is_local:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        else:
            self._fs.pipe_file(tmp, data)
        if hashlib.sha256(self._fs.cat_file(tmp)).hexdigest() != digest:
            raise StorageUnavailable("the artifact store returned other bytes than were written")

    def _intact(self, path: str, digest: str) -> bool:
        """The file exists and hashes to its id (a corrupt one is rewritten by the caller)."""
        if not self._fs.exists(path):
            return False
        h = hashlib.sha256()
        with self._fs.open(path, "rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                h.update(chunk)
        return h.hexdigest() == digest

    def _make_room(self, size: int) -> None:
        if self.quota_bytes is None:
            return
        if self.used_bytes is None or self.used_bytes + size > self.quota_bytes:
            if self.on_full is not None:
                self.on_full(size)  # sets used_bytes
        if self.used_bytes is not None and self.used_bytes + size > self.quota_bytes:
            raise StorageFull(
                f"the artifact store is at its quota ({self.quota_bytes:,} bytes) and nothing can be "
                "evicted yet; try again later"
            )

    def _touch(self, path: str) -> None:
        """Mark a use (the retention policy evicts the least recently used first); local stores only."""
        if self.is_local:
            try:
                os.utime(path)
            except OSError:  # a read-only store still serves
                pass

    def get(self, artifact_id: str) -> tuple[bytes, str]:
        path = self._path(validate_id(artifact_id))
        try:
            with storage_errors():
                data = self._fs.cat_file(path)
        except FileNotFoundError:
            raise ArtifactNotFound(f"no artifact {artifact_id}") from None
        self._touch(path)
        return data, media_type_of(artifact_id)

    def open(self, artifact_id: str) -> tuple[BinaryIO, int, str]:
        """(an open binary file, its size, its media type): for streamed and ranged downloads."""
        path = self._path(validate_id(artifact_id))
        try:
            with storage_errors():
                f = self._fs.open(path, "rb")
                size = int(self._fs.size(path))
        except FileNotFoundError:
            raise ArtifactNotFound(f"no artifact {artifact_id}") from None
        self._touch(path)
        return f, size, media_type_of(artifact_id)

    def exists(self, artifact_id: str) -> bool:
        path = self._path(validate_id(artifact_id))
        found = self._fs.exists(path)
        if found:
            self._touch(path)
        return found

    def local_path(self, artifact_id: str) -> str | None:
        """A filesystem path for the artifact when the store is a local folder (for zero-copy serving)."""
        if not self.is_local:
            return None
        path = self._path(validate_id(artifact_id))
        return path if os.path.exists(path) else None


@contextmanager
def storage_errors() -> Iterator[None]:
    """OSErrors of the store as typed errors: a full disk or quota, a read-only or unreachable store."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull(f"the artifact store is full: {e.strerror or e}") from None
        if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO):
            raise StorageUnavailable(f"the artifact store cannot be written: {e.strerror or e}") from None
        raise StorageUnavailable(f"the artifact store failed: {type(e).__name__}: {e}") from None


def _fsync_dir(folder: str) -> None:
    """Make the rename itself durable (POSIX: the directory entry is data of the directory)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def default_store() -> ArtifactStore:
    """The store named by ``HUGGINGGPT_ARTIFACTS`` (any fsspec URL), else ``./var/artifacts``."""
    return ArtifactStore(os.environ.get(ARTIFACTS_URL_ENV, DEFAULT_ARTIFACTS_URL))
