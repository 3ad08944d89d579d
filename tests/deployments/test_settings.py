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


HF = {"base_url": "http://127.0.0.1:9/models/{model}"}
CAPTIONER = "nlpconnect/vit-gpt2-image-captioning"


@pytest.mark.parametrize(
    ("remote", "error"),
    [
        (
            {"endpoints": {"hf": {**HF, "token": "hf_secret"}}},
            "Extra inputs are not permitted",
        ),  # never in the file
        ({"endpoints": {"hf": {**HF, "timeout": 3}}}, "Extra inputs are not permitted"),
        ({"endpoints": {"hf": {}}}, "exactly one of provider or base_url"),
        ({"endpoints": {"hf": {**HF, "provider": "together"}}}, "exactly one of provider or base_url"),
        ({"endpoints": {"hf": {"base_url": "ftp://x"}}}, "http"),
        ({"endpoints": {"hf": HF}, "models": {CAPTIONER: "nowhere"}}, "names no endpoint 'nowhere'"),
        ({"endpoints": {"hf": HF}, "tasks": {"image-captioning": "hf"}}, "unknown task"),
        (
            {"endpoints": {"hf": {"base_url": "http://e/one"}}, "tasks": {"image-to-text": "hf"}},
            "serves one model",
        ),
        ({"endpoints": {"hf": {**HF, "max_retries": 99}}}, "less than or equal to 10"),
    ],
)
def test_remote_settings_are_validated(remote, error):
    with pytest.raises(ValidationError, match=error):
        AppArgs.model_validate({"inference_mode": "hybrid", "remote": remote})


def test_remote_and_hybrid_need_an_endpoint_with_models():
    with pytest.raises(ValidationError, match=r"needs remote\.endpoints"):
        AppArgs.model_validate({"inference_mode": "remote"})
    assert AppArgs().inference_mode == "local"  # the default: nothing leaves the cluster


def test_decide_routes_remote_models_and_adds_them_to_selection_only():
    decided = decide(
        {"profile": "offline", "llm": EXTERNAL, "inference_mode": "hybrid",
         "remote": {"endpoints": {"hf": HF}, "tasks": {"image-to-text": "hf"}}},
        env={},
    )  # fmt: skip
    assert decided.remote is not None and decided.remote.routes[CAPTIONER] == "hf"
    assert decided.catalog.get(CAPTIONER) is None  # the cluster does not deploy or pool it
    assert decided.selectable().get(CAPTIONER) is not None
    assert decide({"profile": "offline", "llm": EXTERNAL}, env={}).remote is None


def test_a_provider_needs_its_token_from_the_environment_or_a_secret_file(tmp_path):
    args = {
        "profile": "offline", "llm": EXTERNAL, "inference_mode": "remote",
        "remote": {"endpoints": {"together": {"provider": "together"}}, "models": {CAPTIONER: "together"}},
    }  # fmt: skip
    with pytest.raises(ValueError, match="needs a token in the environment variable HF_TOKEN"):
        decide(args, env={})
    assert decide(args, env={"HF_TOKEN": "hf_x"}).remote is not None
    secret = tmp_path / "hf-token"
    secret.write_text("hf_mounted")
    args["remote"]["endpoints"]["together"]["token_file"] = str(secret)
    assert decide(args, env={}).remote.config.endpoints["together"].token() == "hf_mounted"


def _deployment_names(app) -> set[str]:
    names, todo = set(), [app]
    while todo:
        bound = todo.pop()._bound_deployment
        names.add(bound.name)
        for value in [*bound._replica_config.init_args, *bound._replica_config.init_kwargs.values()]:
            todo += [
                v
                for v in (value.values() if isinstance(value, dict) else [value])
                if hasattr(v, "_bound_deployment")
            ]
    return names


def test_remote_mode_deploys_no_experts(monkeypatch):
    from deployments.app import build_app

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    app = build_app(
        {"profile": "offline", "llm": EXTERNAL, "inference_mode": "remote",
         "remote": {"endpoints": {"hf": HF}, "tasks": {"image-to-text": "hf"}}}
    )  # fmt: skip
    assert _deployment_names(app) == {"Ingress"}
    local = build_app({"profile": "offline", "llm": EXTERNAL, "experts": {"models": ["offline/tiny-vit"]}})
    assert _deployment_names(local) == {"Ingress", "expert:offline--tiny-vit", "expert-pool"}
