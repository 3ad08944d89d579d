"""Config is decided in one place: unknown keys are refused, and `decide_llm` picks the LLM."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from controller.config import ControllerConfig, LLMConfig, decide_llm
from experts.artifacts import ARTIFACT_URL_PREFIX


@pytest.mark.parametrize(
    "model, fields",
    [
        (ControllerConfig, {"max_task": 3}),  # a typo of max_tasks must not be silently ignored
        (ControllerConfig, {"llm": {"model": "x"}}),  # the LLM is not a controller setting
        (LLMConfig, {"modle": "x"}),
    ],
)
def test_unknown_keys_are_refused(model, fields):
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        model.model_validate(fields)


def test_the_artifact_prefix_defaults_to_the_one_spelling():
    assert ControllerConfig().artifact_url_prefix == ARTIFACT_URL_PREFIX == "/v1/artifacts/"


def test_nothing_configured_means_no_llm():
    assert decide_llm(None, {}) is None
    assert decide_llm(None, {"HUGGINGGPT_LLM_MODEL": "m"}) is None  # a model alone names no endpoint


def test_the_configured_llm_wins_over_the_environment():
    configured = LLMConfig(base_url="http://configured/v1", model="c")
    env = {"HUGGINGGPT_LLM_BASE_URL": "http://env/v1", "OPENAI_API_KEY": "sk-env"}
    assert decide_llm(configured, env) == configured
    assert decide_llm(configured, env, model="m").model == "m"


@pytest.mark.parametrize(
    "env, base_url, key",
    [
        ({"OPENAI_API_KEY": "sk-1"}, None, "sk-1"),
        ({"OPENAI_BASE_URL": "http://o/v1"}, "http://o/v1", "not-needed"),
        (
            {
                "HUGGINGGPT_LLM_BASE_URL": "http://h/v1",
                "OPENAI_BASE_URL": "http://o/v1",
                "OPENAI_API_KEY": "a",
            },
            "http://h/v1",
            "a",
        ),
        ({"HUGGINGGPT_LLM_API_KEY": "h", "OPENAI_API_KEY": "o"}, None, "h"),
    ],
)
def test_the_environment_names_the_llm(env, base_url, key):
    llm = decide_llm(None, {**env, "HUGGINGGPT_LLM_MODEL": "m"})
    assert llm is not None
    assert (llm.base_url, llm.api_key.get_secret_value(), llm.model) == (base_url, key, "m")


def test_an_explicit_base_url_wins_and_takes_the_key_from_the_environment():
    configured = LLMConfig(base_url="http://configured/v1")
    llm = decide_llm(configured, {"OPENAI_API_KEY": "sk-2"}, base_url="http://flag/v1", model="f")
    assert llm is not None
    assert (llm.base_url, llm.api_key.get_secret_value(), llm.model) == ("http://flag/v1", "sk-2", "f")
