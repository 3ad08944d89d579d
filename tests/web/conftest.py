"""A live API server for the session (one uvicorn thread); each test points it at a fresh Service."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.deployments.conftest import make_service
from tests.web.live_server import api_server


@pytest.fixture(scope="session")
def live_api():
    with api_server() as (url, holder):
        yield SimpleNamespace(url=url, holder=holder)


@pytest.fixture
def live(live_api, llm_script, experts, offline_catalog, store):
    """The live server's URL, serving a Service over the scripted LLM and the offline experts."""
    live_api.holder.current = make_service(llm_script, experts, offline_catalog, store)
    return live_api
