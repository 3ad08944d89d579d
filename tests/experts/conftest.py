"""Sample media artifacts for the adapter tests (the offline set and the store come from tests/conftest.py)."""

from __future__ import annotations

import pytest
from expert_samples import png_bytes, wav_bytes

from experts.artifacts import ArtifactStore
from experts.local import LocalExperts


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
