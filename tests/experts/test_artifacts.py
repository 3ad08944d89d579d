from __future__ import annotations

import errno
import hashlib
import os
import time

import pytest

from experts.artifacts import ArtifactStore, extension_for, media_type_of, validate_id
from experts.errors import (
    ArtifactNotFound,
    ExpertInputError,
    InvalidArtifactId,
    StorageFull,
    StorageUnavailable,
)
from experts.host import failure_code
from experts.retention import ArtifactPolicy, Sweeper, sweep


@pytest.mark.parametrize("url", ["local", "memory://artifacts-test"])
def test_round_trip_is_content_addressed(tmp_path, url):
    store = ArtifactStore(str(tmp_path / "a") if url == "local" else url)
    data = b"\x89PNG\r\n\x1a\nnot really a png"
    artifact_id = store.put(data, "image/png")
    assert artifact_id == f"{hashlib.sha256(data).hexdigest()}.png"
    assert store.put(data, "image/png") == artifact_id  # idempotent
    assert store.exists(artifact_id)
    assert store.get(artifact_id) == (data, "image/png")


def test_media_type_comes_back_from_the_extension(tmp_path):
    store = ArtifactStore(str(tmp_path))
    assert store.put(b"RIFF", "audio/x-wav").endswith(".wav")
    assert store.put(b"x", "video/mp4; codecs=avc1").endswith(".mp4")
    assert media_type_of("a" * 64 + ".jpg") == "image/jpeg"


def test_local_store_exposes_a_file_path(tmp_path):
    store = ArtifactStore(str(tmp_path))
    artifact_id = store.put(b"hello", "text/plain")
    path = store.local_path(artifact_id)
    assert path is not None and open(path, "rb").read() == b"hello"


@pytest.mark.parametrize(
    "bad",
    ["", "abc.png", "A" * 64 + ".png", "a" * 64 + ".exe", "a" * 64, "../" + "a" * 61 + ".png",
     "a" * 64 + ".png/../x", "a" * 63 + "g.png"],
)  # fmt: skip
def test_bad_ids_raise_a_typed_error(tmp_path, bad):
    store = ArtifactStore(str(tmp_path))
    with pytest.raises(InvalidArtifactId):
        validate_id(bad)
    with pytest.raises(InvalidArtifactId):
        store.get(bad)


def test_a_bad_id_is_quoted_in_the_error_cut_to_80_characters():
    """The task error a client reads names the bad value (cut, so a huge one cannot flood the answer)."""
    with pytest.raises(InvalidArtifactId) as raised:
        validate_id("x" * 200)
    assert str(raised.value) == f"not an artifact id: {'x' * 80!r}"


def test_a_bad_id_is_the_callers_fault_not_the_experts(tmp_path):
    """Catches a bad id counted as an internal failure: it would mark the task `internal` instead of
    `bad_input` and push the expert's replica towards `unhealthy_after_failures`."""
    with pytest.raises(ExpertInputError) as raised:
        ArtifactStore(str(tmp_path)).get("../../etc/passwd")
    assert failure_code(raised.value) == "bad_input"


def test_unknown_id_is_not_found(tmp_path):
    """The message names the missing id."""
    missing = "0" * 64 + ".png"
    with pytest.raises(ArtifactNotFound, match=f"^no artifact {missing}$"):
        ArtifactStore(str(tmp_path)).get(missing)
    with pytest.raises(ArtifactNotFound, match=f"^no artifact {missing}$"):
        ArtifactStore(str(tmp_path)).open(missing)


def test_unsupported_media_type_is_refused(tmp_path):
    with pytest.raises(ValueError):
        ArtifactStore(str(tmp_path)).put(b"x", "application/x-msdownload")


def test_a_corrupt_file_under_an_id_is_rewritten_not_trusted(tmp_path):
    store = ArtifactStore(str(tmp_path))
    data = b"the whole image"
    artifact_id = store.put(data, "image/png")
    path = store.local_path(artifact_id)
    with open(path, "wb") as f:  # what a crash between write and rename used to leave behind
        f.write(b"the who")
    assert store.put(data, "image/png") == artifact_id
    assert store.get(artifact_id) == (data, "image/png")


def test_writes_are_fsynced_before_the_id_appears(tmp_path, monkeypatch):
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr("experts.artifacts.os.fsync", lambda fd: (synced.append(fd), real(fd)))
    ArtifactStore(str(tmp_path)).put(b"durable", "image/png")
    assert len(synced) == 2  # the file, then the folder holding the rename


@pytest.mark.parametrize(("err", "typed"), [(errno.ENOSPC, StorageFull), (errno.EROFS, StorageUnavailable)])
def test_disk_full_and_read_only_are_typed_and_leave_no_file(tmp_path, monkeypatch, err, typed):
    store = ArtifactStore(str(tmp_path))

    def fail(fd):  # the OS refusing the write: the edge we do not own
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr("experts.artifacts.os.fsync", fail)
    with pytest.raises(typed) as raised:
        store.put(b"never stored", "image/png")
    assert raised.value.code == ("storage_full" if typed is StorageFull else "storage_unavailable")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # no temp, no half file under an id


@pytest.mark.parametrize("url", ["local", "memory://artifacts-garbled"])
def test_a_store_that_returns_other_bytes_than_written_is_refused(tmp_path, monkeypatch, url):
    """A storage backend that garbles writes (the edge we do not own): the put fails as
    storage_unavailable with the reason, and nothing is kept under the id."""
    store = ArtifactStore(str(tmp_path) if url == "local" else url)
    monkeypatch.setattr(store._fs, "cat_file", lambda path, *a, **kw: b"garbled")
    with pytest.raises(StorageUnavailable) as raised:
        store.put(b"the real bytes", "image/png")
    assert str(raised.value) == "the artifact store returned other bytes than were written"
    assert not store.exists(f"{hashlib.sha256(b'the real bytes').hexdigest()}.png")


def test_sweep_removes_crashed_temp_files_and_expired_artifacts_only(tmp_path):
    store = ArtifactStore(str(tmp_path))
    policy = ArtifactPolicy(ttl_s=3600, keep_recent_s=60, temp_max_age_s=60)
    old, fresh = store.put(b"old", "image/png"), store.put(b"fresh", "image/png")
    crashed = tmp_path / old[:2] / f"{old}.abc.tmp"
    crashed.write_bytes(b"half")
    stranger = tmp_path / "notes.txt"
    stranger.write_text("not an artifact")
    hours_ago = time.time() - 7200
    for p in (store.local_path(old), crashed):
        os.utime(p, (hours_ago, hours_ago))
    report = sweep(store, policy)
    assert (report.temp_removed, report.expired) == (1, 1)
    assert not store.exists(old) and store.exists(fresh) and stranger.exists()


def test_over_quota_the_least_recently_used_go_but_never_one_in_use(tmp_path):
    store = ArtifactStore(str(tmp_path))
    policy = ArtifactPolicy(quota_bytes=2048, ttl_s=None, keep_recent_s=600)
    ids = [store.put(bytes([i]) * 1000, "image/png") for i in range(3)]
    now = time.time()
    for age, artifact_id in zip((5000, 4000, 10), ids, strict=True):  # ids[2] was used 10 s ago
        os.utime(store.local_path(artifact_id), (now - age, now - age))
    store.get(ids[1])  # a read is a use: ids[1] is now the most recent
    report = sweep(store, policy, now=now)
    assert report.evicted == 1 and not store.exists(ids[0])
    assert store.exists(ids[1]) and store.exists(ids[2])


def test_quota_refuses_new_bytes_when_nothing_may_be_evicted(tmp_path):
    store = ArtifactStore(str(tmp_path))
    Sweeper(store, ArtifactPolicy(quota_bytes=2048, keep_recent_s=600))  # not started: put sweeps on demand
    store.put(b"a" * 1500, "image/png")
    with pytest.raises(StorageFull):
        store.put(b"b" * 1500, "image/png")  # the first is in use (recent): the quota holds


def test_a_put_up_to_the_quota_is_kept_and_one_byte_more_is_refused(tmp_path):
    """The quota counts every byte stored since the last sweep: exactly at the quota is allowed, one byte
    over is refused with the reason (catches a count that keeps only the last put, or `>=`)."""
    store = ArtifactStore(str(tmp_path))
    Sweeper(store, ArtifactPolicy(quota_bytes=3000, keep_recent_s=600))
    for i in range(3):
        store.put(bytes([i]) * 1000, "image/png")
    with pytest.raises(StorageFull) as raised:
        store.put(b"x", "image/png")
    assert str(raised.value) == (
        "the artifact store is at its quota (3,000 bytes) and nothing can be evicted yet; try again later"
    )


def test_a_put_over_the_quota_evicts_the_least_recently_used_first(tmp_path):
    """Over the quota, a put sweeps on demand: an artifact nobody used for an hour makes room."""
    store = ArtifactStore(str(tmp_path))
    Sweeper(store, ArtifactPolicy(quota_bytes=2048, ttl_s=None, keep_recent_s=60))
    old = store.put(b"a" * 1500, "image/png")
    hour_ago = time.time() - 3600
    os.utime(store.local_path(old), (hour_ago, hour_ago))
    new = store.put(b"b" * 1500, "image/png")
    assert store.exists(new) and not store.exists(old)


def test_storing_the_same_bytes_again_keeps_the_file_and_marks_a_use(tmp_path):
    """Ids name content: a second put of the same bytes writes nothing, but counts as a use, so the
    retention policy keeps it (catches a rewrite on every put, or a re-put that is not a use)."""
    store = ArtifactStore(str(tmp_path))
    artifact_id = store.put(b"same bytes", "image/png")
    path = store.local_path(artifact_id)
    hour_ago = time.time() - 3600
    os.utime(path, (hour_ago, hour_ago))
    inode = os.stat(path).st_ino
    assert store.put(b"same bytes", "image/png") == artifact_id
    assert os.stat(path).st_ino == inode and os.stat(path).st_mtime > hour_ago + 3000


def test_media_type_parameters_are_ignored_however_many():
    assert extension_for("Image/PNG; charset=binary; q=0.9") == "png"


def test_an_unsupported_media_type_is_named_in_the_error(tmp_path):
    """An expert that makes a kind of file the store does not keep: the task error names the type."""
    with pytest.raises(ValueError) as raised:
        ArtifactStore(str(tmp_path)).put(b"%PDF", "application/pdf")
    assert str(raised.value) == "unsupported media type 'application/pdf'"


def test_open_streams_the_bytes_with_their_size(tmp_path):
    store = ArtifactStore(str(tmp_path))
    artifact_id = store.put(b"0123456789", "audio/wav")
    f, size, media_type = store.open(artifact_id)
    with f:
        f.seek(3)
        assert (f.read(4), size, media_type) == (b"3456", 10, "audio/wav")


def test_only_a_stored_artifact_on_a_local_disk_has_a_file_path(tmp_path):
    """Catches a path handed out for bytes that are not there (the zero-copy response would 500)."""
    assert ArtifactStore(str(tmp_path)).local_path("0" * 64 + ".png") is None
    memory = ArtifactStore("memory://artifacts-local-path")
    assert memory.local_path(memory.put(b"png", "image/png")) is None
