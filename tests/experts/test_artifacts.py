from __future__ import annotations

import hashlib

import pytest

from experts.artifacts import ArtifactStore, media_type_of, validate_id
from experts.errors import ArtifactNotFound, ExpertInputError, InvalidArtifactId
from experts.host import failure_code


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


def test_a_bad_id_is_the_callers_fault_not_the_experts(tmp_path):
    """Catches a bad id counted as an internal failure: it would mark the task `internal` instead of
    `bad_input` and push the expert's replica towards `unhealthy_after_failures`."""
    with pytest.raises(ExpertInputError) as raised:
        ArtifactStore(str(tmp_path)).get("../../etc/passwd")
    assert failure_code(raised.value) == "bad_input"


def test_unknown_id_is_not_found(tmp_path):
    with pytest.raises(ArtifactNotFound):
        ArtifactStore(str(tmp_path)).get("0" * 64 + ".png")


def test_unsupported_media_type_is_refused(tmp_path):
    with pytest.raises(ValueError):
        ArtifactStore(str(tmp_path)).put(b"x", "application/x-msdownload")


def test_only_a_stored_artifact_on_a_local_disk_has_a_file_path(tmp_path):
    """Catches a path handed out for bytes that are not there (the zero-copy response would 500)."""
    assert ArtifactStore(str(tmp_path)).local_path("0" * 64 + ".png") is None
    memory = ArtifactStore("memory://artifacts-local-path")
    assert memory.local_path(memory.put(b"png", "image/png")) is None
