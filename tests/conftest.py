"""Session-wide fixtures: the scripted LLM server (one per session, reset per test)."""

from __future__ import annotations

import os

import pytest

# The suite never reaches a model hub, and Ray (where used) runs without token auth or telemetry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import time
from pathlib import Path

from controller.demo_pool import GoldRecord, load_pool
from evaluation.taskbench import load_dev
from experts.adapters import ExpertContext
from experts.artifacts import ArtifactStore
from experts.catalog import Catalog, load_catalog
from experts.embeddings import SentenceEmbedder, default_embedder
from experts.fetch import FetchPolicy
from experts.local import LocalExperts
from experts.offline import build_all
from tests.scripted_llm import ScriptedLLM


@pytest.fixture(scope="session")
def scripted_llm_server():
    server = ScriptedLLM().start()
    yield server
    server.stop()


@pytest.fixture
def llm_script(scripted_llm_server: ScriptedLLM) -> ScriptedLLM:
    scripted_llm_server.reset()
    return scripted_llm_server


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
def embedder() -> SentenceEmbedder:
    """One sentence embedder per session (loading it takes seconds)."""
    return default_embedder()


@pytest.fixture(scope="session")
def embedded_engine():
    """The embedded LLM (real SmolLM2-135M weights), loaded once per session."""
    from deployments.llm.engine import LocalLLM

    return LocalLLM()


@pytest.fixture(scope="session")
def pool() -> list[GoldRecord]:
    return load_pool()


@pytest.fixture(scope="session")
def dev() -> list[GoldRecord]:
    return load_dev()


@pytest.fixture(scope="session")
def scripted_hf_server():
    from tests.scripted_hf import ScriptedHF

    server = ScriptedHF().start()
    yield server
    server.stop()


@pytest.fixture
def hf_script(scripted_hf_server):
    scripted_hf_server.reset()
    return scripted_hf_server
