"""The app's arguments: unknown keys refused at every level, and `decide` settles profile, catalog and LLM
once (no Ray needed: building the application graph starts nothing)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from deployments.settings import AppArgs, decide
from experts import catalog as catalog_module

EXTERNAL = {"base_url": "http://127.0.0.1:9/v1", "model": "m"}


@pytest.mark.parametrize(
    "args",
    [
        {"controller": {"max_task": 3}},
        {"controller": {"llm": EXTERNAL}},
        {"llm": {**EXTERNAL, "api-key": "x"}},
        {"experts": {"model": ["x"]}},
        {"embedded_llm": {"gpus": 1}},
        {"profiel": "offline"},
    ],
)
def test_unknown_keys_are_refused_at_every_level(args):
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        AppArgs.model_validate(args)


def test_auto_profile_resolves_to_offline_with_the_hub_unreachable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    decided = decide({"profile": "auto", "llm": EXTERNAL})
    assert decided.args.profile == "offline" and decided.catalog.profile == "offline"


def test_the_llm_comes_from_args_else_the_environment_else_none():
    assert decide({"profile": "offline"}, env={}).llm is None  # the app deploys the embedded LLM
    from_env = decide({"profile": "offline"}, env={"HUGGINGGPT_LLM_BASE_URL": "http://e/v1"}).llm
    assert from_env is not None and from_env.base_url == "http://e/v1"
    from_args = decide({"profile": "offline", "llm": EXTERNAL}, env={"HUGGINGGPT_LLM_BASE_URL": "x"}).llm
    assert from_args is not None and from_args.base_url == EXTERNAL["base_url"]


def _init_args(app) -> list:
    """Every constructor argument of the application graph (the ingress and what it binds)."""
    seen, todo = [], [app]
    while todo:
        replica = todo.pop()._bound_deployment._replica_config
        for value in [*replica.init_args, *replica.init_kwargs.values()]:
            for v in value.values() if isinstance(value, dict) else [value]:
                (todo if hasattr(v, "_bound_deployment") else seen).append(v)
    return seen


def test_build_app_with_profile_auto_loads_the_catalog_once_and_shares_it(monkeypatch):
    from deployments.app import build_app
    from experts.catalog import Catalog

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    calls = []
    read = catalog_module.read_catalog_file
    monkeypatch.setattr(catalog_module, "read_catalog_file", lambda *a: calls.append(a) or read(*a))
    app = build_app({"profile": "auto", "llm": EXTERNAL})
    assert len(calls) == 1
    catalogs = [v for v in _init_args(app) if isinstance(v, Catalog)]
    decided = [v for v in _init_args(app) if hasattr(v, "catalog")]
    assert catalogs and decided  # the pool's catalog and the ingress's are the one loaded
    assert all(c is decided[0].catalog for c in catalogs) and decided[0].catalog.profile == "offline"
