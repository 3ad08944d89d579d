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


# The experts these tests run. LocalExperts loads different models on parallel threads, and two
# transformers models loading at once can fail ("Cannot copy out of meta tensor"); loading them one by
# one up front keeps these UI tests about the UI. (Ray runs each expert in its own process.)
USED_MODELS = ["offline/tiny-stable-diffusion", "offline/tiny-vit", "offline/tiny-vit-gpt2"]


@pytest.fixture(scope="session")
def warm_experts(experts):
    for model_id in USED_MODELS:
        experts.expert(model_id)
    return experts


@pytest.fixture
def live(live_api, llm_script, warm_experts, offline_catalog, store):
    """The live server's URL, serving a Service over the scripted LLM and the offline experts."""
    live_api.holder.current = make_service(llm_script, warm_experts, offline_catalog, store)
    return live_api
