"""Controller configuration: one pydantic model, filled from serve_config.yaml args or the environment."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class LLMConfig(BaseModel):
    """Any OpenAI-compatible endpoint: OpenAI itself, vLLM, ray.serve.llm or the embedded LLM."""

    base_url: str | None = None  # None: the openai client's default (api.openai.com)
    api_key: SecretStr = SecretStr("not-needed")
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)  # bounded: connection errors, 429 and 5xx only
    temperature: float = Field(0.0, ge=0, le=2)
    # Ask the endpoint for JSON-schema constrained output (OpenAI, vLLM and the embedded LLM support it).
    structured_output: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> LLMConfig | None:
        """The LLM named by OPENAI_API_KEY / HUGGINGGPT_LLM_BASE_URL, or None when nothing is configured."""
        env = dict(os.environ if env is None else env)
        base_url = env.get("HUGGINGGPT_LLM_BASE_URL") or env.get("OPENAI_BASE_URL")
        api_key = env.get("HUGGINGGPT_LLM_API_KEY") or env.get("OPENAI_API_KEY")
        if not base_url and not api_key:
            return None
        fields: dict[str, object] = {"base_url": base_url or None}
        if api_key:
            fields["api_key"] = SecretStr(api_key)
        if model := env.get("HUGGINGGPT_LLM_MODEL"):
            fields["model"] = model
        return cls.model_validate(fields)


class ControllerConfig(BaseModel):
    llm: LLMConfig = Field(default_factory=LLMConfig)
    max_tasks: int = Field(10, ge=1, le=100)  # plans longer than this are rejected
    task_timeout_s: float = Field(300.0, gt=0)
    history_token_budget: int = Field(1500, ge=100)  # earlier chat turns shown to the planner
    max_message_chars: int = Field(20_000, ge=100)  # a longer user message is refused
    selection_top_k: int = Field(5, ge=1, le=20)  # candidates shown to the LLM when choosing
    artifact_url_prefix: str = "/v1/artifacts/"
    plan_demos: int = Field(3, ge=0, le=10)
    # "dag": a task starts the moment its dependencies finish. "polling": JARVIS's loop (start what is
    # ready, sleep polling_interval_s when nothing started), kept to measure the difference.
    scheduler: Literal["dag", "polling"] = "dag"
    polling_interval_s: float = Field(0.5, gt=0, le=10)
    # Start each task as soon as its JSON object is complete in the LLM's streamed plan (LLMCompiler).
    stream_plan: bool = False
