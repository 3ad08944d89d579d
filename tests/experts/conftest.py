"""Shared fixtures: the offline model set (built once per session), a store, sample media artifacts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from expert_samples import png_bytes, wav_bytes

from experts.adapters import ExpertContext
from experts.artifacts import ArtifactStore
from experts.catalog import Catalog, load_catalog
from experts.fetch import FetchPolicy
from experts.local import LocalExperts
from experts.media import encode_wav  # noqa: F401
from experts.offline import build_all


@pytest.fixture(scope="session")
def offline_models() -> dict[str, Path]:
    start = time.perf_counter()
    paths = build_all()  # idempotent: a second session finds the marker files and returns at once
    print(f"offline set ready in {time.perf_counter() - start:.1f} s")
    return paths


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> ArtifactStore:
    return ArtifactStore(str(tmp_path_factory.mktemp("artifacts")))


@pytest.fixture(scope="session")
def offline_catalog() -> Catalog:
    return load_catalog("offline")


@pytest.fixture(scope="session")
def experts(offline_models: dict[str, Path], offline_catalog: Catalog, store: ArtifactStore) -> LocalExperts:
    return LocalExperts(offline_catalog, ExpertContext(store=store, device="cpu", fetch=FetchPolicy()))


@pytest.fixture(scope="session")
def image_id(store: ArtifactStore) -> str:
    return store.put(png_bytes(), "image/png")


@pytest.fixture(scope="session")
def audio_id(store: ArtifactStore) -> str:
    return store.put(wav_bytes(), "audio/wav")


@pytest.fixture(scope="session")
def speech_id(experts: LocalExperts) -> str:
    """Real speech (the bundled Piper voice), so recognisers have words to hear."""
    return experts.expert("rhasspy/piper-en_US-joe-medium").run({"text": "Hello world, this is a test."})[
        "audio"
    ]
