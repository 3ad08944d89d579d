"""The artifact store's retention: temp files a crash left behind are swept, artifacts unused for ``ttl_s``
expire, and above ``quota_bytes`` the least recently used go first. An artifact used within
``keep_recent_s`` (at least the longest request deadline) is never deleted: a running request may still
need it. A "use" is a write, read or existence check (the file's mtime, local stores; elsewhere the
write time).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from experts.artifacts import ARTIFACT_ID_RE, TEMP_SUFFIX, ArtifactStore, storage_errors
from experts.errors import StorageError

log = logging.getLogger(__name__)


class ArtifactPolicy(BaseModel):
    """serve_config.yaml ``args.artifacts``."""

    model_config = ConfigDict(extra="forbid")

    quota_bytes: int | None = Field(10 * 1024**3, ge=1024)  # None: no quota
    ttl_s: float | None = Field(7 * 24 * 3600.0, gt=0)  # unused this long: deleted; None: kept
    keep_recent_s: float = Field(900.0, ge=0)  # used this recently: never deleted
    temp_max_age_s: float = Field(3600.0, gt=0)  # a temp file older than this is a crashed write
    sweep_interval_s: float = Field(300.0, gt=0)


@dataclass
class SweepReport:
    temp_removed: int = 0
    expired: int = 0
    evicted: int = 0
    bytes_kept: int = 0
    files_kept: int = 0


def sweep(
    store: ArtifactStore, policy: ArtifactPolicy, now: float | None = None, room: int = 0
) -> SweepReport:
    """One pass over the store; sets ``store.used_bytes`` to what is left. ``room``: bytes about to be
    stored, so that the least recently used make room for them too (a put over the quota)."""
    now = time.time() if now is None else now
    report = SweepReport()
    fs = store.fs
    with storage_errors():
        files = fs.find(store.root, detail=True) if fs.exists(store.root) else {}
        kept: list[tuple[float, int, str]] = []  # (last use, size, path)
        for path, info in files.items():
            name = path.rsplit("/", 1)[-1]
            used = _mtime(info)
            size = int(info.get("size") or 0)
            if name.endswith(TEMP_SUFFIX):
                if now - used > policy.temp_max_age_s:
                    fs.rm_file(path)
                    report.temp_removed += 1
                continue
            if not ARTIFACT_ID_RE.match(name):
                continue  # not ours: never touched
            idle = now - used
            if policy.ttl_s is not None and idle > policy.ttl_s and idle > policy.keep_recent_s:
                fs.rm_file(path)
                report.expired += 1
                continue
            kept.append((used, size, path))
        total = sum(size for _, size, _ in kept)
        if policy.quota_bytes is not None and total + room > policy.quota_bytes:
            for used, size, path in sorted(kept):  # least recently used first
                if total + room <= policy.quota_bytes:
                    break
                if now - used <= policy.keep_recent_s:
                    break  # everything after this was used even more recently
                fs.rm_file(path)
                total -= size
                report.evicted += 1
        report.bytes_kept = total
        report.files_kept = len(kept) - report.evicted
    store.used_bytes = total
    return report


def _mtime(info: dict) -> float:
    value = info.get("mtime") or info.get("LastModified") or info.get("created") or 0.0
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


class Sweeper:
    """Sweeps ``store`` at start and every ``sweep_interval_s`` on a daemon thread; ``put`` calls it too
    when the quota looks full (``store.on_full``)."""

    def __init__(self, store: ArtifactStore, policy: ArtifactPolicy):
        self.store, self.policy = store, policy
        self._stop = threading.Event()
        self._lock = threading.Lock()
        store.quota_bytes = policy.quota_bytes
        store.on_full = self.run_once
        self._thread = threading.Thread(target=self._loop, name="artifact-sweeper", daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def run_once(self, room: int = 0) -> SweepReport | None:
        with self._lock:
            try:
                report = sweep(self.store, self.policy, room=room)
            except StorageError as e:
                log.warning("artifact sweep failed: %s", e)
                return None
        if report.temp_removed or report.expired or report.evicted:
            log.info("artifact sweep: %s", report)
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.policy.sweep_interval_s)
