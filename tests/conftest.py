"""Session-wide fixtures: the scripted LLM server (one per session, reset per test)."""

from __future__ import annotations

import os

import pytest

# The suite never reaches a model hub, and Ray (where used) runs without token auth or telemetry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

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
