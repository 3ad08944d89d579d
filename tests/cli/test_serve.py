"""`hugginggpt serve`: it runs `serve run CONFIG`, and warns about the embedded LLM exactly when
`decide_llm` finds none (the config's `llm`, else the environment), as the app builder will."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from cli import main

WARNING = "No external LLM configured"
NO_LLM_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HUGGINGGPT_LLM_BASE_URL", "HUGGINGGPT_LLM_API_KEY")


@pytest.fixture
def serve(monkeypatch, tmp_path):
    for name in (*NO_LLM_ENV, "HUGGINGGPT_API_KEYS", "HUGGINGGPT_API_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    ran, watched = [], []
    monkeypatch.setattr(main.os, "execv", lambda path, argv: ran.append(argv))
    monkeypatch.setattr(main, "announce_when_ready", lambda url, say: watched.append(url))

    def run(args: dict, env: dict[str, str] | None = None):
        config = tmp_path / "serve_config.yaml"
        config.write_text(yaml.safe_dump({"applications": [{"name": "hugginggpt", "args": args}]}))
        result = CliRunner().invoke(main.app, ["serve", "--config", str(config)], env=env)
        assert result.exit_code == 0, result.output
        assert ran[-1][-2:] == ["run", str(config)]
        assert watched[-1] == "http://127.0.0.1:8000"  # a watcher says when the experts are live
        return result.output

    return run


def test_no_llm_anywhere_warns_about_the_embedded_one(serve):
    assert WARNING in serve({"profile": "offline"})


@pytest.mark.parametrize(
    "env", [{"OPENAI_API_KEY": "sk-x"}, {"OPENAI_BASE_URL": "http://x/v1"}, {"HUGGINGGPT_LLM_API_KEY": "k"}]
)
def test_an_llm_in_the_environment_means_no_warning(serve, env):
    assert WARNING not in serve({"profile": "offline"}, env)


def test_an_llm_in_the_config_means_no_warning(serve):
    assert WARNING not in serve({"profile": "offline", "llm": {"base_url": "http://x/v1", "model": "m"}})


def test_without_keys_it_says_loudly_who_is_served(serve):
    said = serve({"profile": "offline"})
    assert "NO API KEYS" in said and "this machine only" in said and "HUGGINGGPT_API_KEYS" in said
    opted_in = serve({"profile": "offline", "security": {"allow_unauthenticated": True}})
    assert "EVERY client" in opted_in


def test_with_keys_it_says_how_many_never_which(serve):
    said = serve({"profile": "offline"}, {"HUGGINGGPT_API_KEYS": "sk-one,sk-two"})
    assert "2 configured" in said and "NO API KEYS" not in said and "sk-one" not in said


def test_an_unreadable_key_file_stops_the_start(monkeypatch, tmp_path):
    monkeypatch.setattr(main.os, "execv", lambda path, argv: pytest.fail("must not start"))
    config = tmp_path / "serve_config.yaml"
    config.write_text(yaml.safe_dump({"applications": [{"name": "hugginggpt", "args": {}}]}))
    env = {"HUGGINGGPT_API_KEYS_FILE": str(tmp_path / "missing")}
    result = CliRunner().invoke(main.app, ["serve", "--config", str(config)], env=env)
    assert result.exit_code == 2 and "cannot be read" in result.output
