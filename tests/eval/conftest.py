"""Fixtures for the planning-quality tests: one sentence embedder per session (loading it takes seconds)."""

from __future__ import annotations

import pytest

from controller.taskbench import GoldRecord, load_dev, load_pool
from experts.embeddings import SentenceEmbedder, default_embedder


@pytest.fixture(scope="session")
def embedder() -> SentenceEmbedder:
    return default_embedder()


@pytest.fixture(scope="session")
def pool() -> list[GoldRecord]:
    return load_pool()


@pytest.fixture(scope="session")
def dev() -> list[GoldRecord]:
    return load_dev()
