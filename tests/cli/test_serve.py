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
    for name in NO_LLM_ENV:
        monkeypatch.delenv(name, raising=False)
    ran = []
    monkeypatch.setattr(main.os, "execv", lambda path, argv: ran.append(argv))

    def run(args: dict, env: dict[str, str] | None = None):
        config = tmp_path / "serve_config.yaml"
        config.write_text(yaml.safe_dump({"applications": [{"name": "hugginggpt", "args": args}]}))
        result = CliRunner().invoke(main.app, ["serve", "--config", str(config)], env=env)
        assert result.exit_code == 0, result.output
        assert ran[-1][-2:] == ["run", str(config)]
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
