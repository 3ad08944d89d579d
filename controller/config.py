"""Controller configuration: the pipeline's settings and the LLM's, from serve_config.yaml args or the environment.

Unknown keys are refused (a misspelt setting must not be silently ignored)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from controller.deadline import Deadline
from experts.artifacts import ARTIFACT_URL_PREFIX


class LLMConfig(BaseModel):
    """Any OpenAI-compatible endpoint: OpenAI itself, vLLM, ray.serve.llm or the embedded LLM."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None  # None: the openai client's default (api.openai.com)
    api_key: SecretStr = SecretStr("not-needed")
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)  # bounded: connection errors, 429 and 5xx only
    temperature: float = Field(0.0, ge=0, le=2)
    # Ask the endpoint for JSON-schema constrained output (OpenAI, vLLM and the embedded LLM support it).
    structured_output: bool = False


def decide_llm(
    configured: LLMConfig | None = None,
    env: Mapping[str, str] | None = None,
    *,
    base_url: str | None = None,
    model: str | None = None,
) -> LLMConfig | None:
    """The one place that decides which LLM to use; None means none is configured (deploy the embedded one).

    In order: an explicit ``base_url`` (a command-line flag; the key comes from the environment), the
    configured ``llm`` (serve_config.yaml's args), then the environment: ``HUGGINGGPT_LLM_BASE_URL`` or
    ``OPENAI_BASE_URL``, ``HUGGINGGPT_LLM_API_KEY`` or ``OPENAI_API_KEY``, ``HUGGINGGPT_LLM_MODEL``.
    ``model`` overrides the model whichever source wins.
    """
    if configured is not None and not base_url:
        return configured.model_copy(update={"model": model}) if model else configured
    env = os.environ if env is None else env
    api_key = env.get("HUGGINGGPT_LLM_API_KEY") or env.get("OPENAI_API_KEY")
    fields: dict[str, object] = {"base_url": base_url}
    if not base_url:
        fields["base_url"] = env.get("HUGGINGGPT_LLM_BASE_URL") or env.get("OPENAI_BASE_URL") or None
        if fields["base_url"] is None and not api_key:
            return None
        if env_model := env.get("HUGGINGGPT_LLM_MODEL"):
            fields["model"] = env_model
    if api_key:
        fields["api_key"] = SecretStr(api_key)
    if model:
        fields["model"] = model
    return LLMConfig.model_validate(fields)


class ControllerConfig(BaseModel):
    """How the pipeline plans, selects and runs; the LLM it talks to is decided apart (``decide_llm``)."""

    model_config = ConfigDict(extra="forbid")

    max_tasks: int = Field(10, ge=1, le=100)  # plans longer than this are rejected
    task_timeout_s: float = Field(300.0, gt=0)  # one expert call
    # A request's deadline: every stage, model choice, expert call and LLM call fits inside it. A client
    # may ask for another (header X-Request-Timeout, seconds), clamped to max_deadline_s.
    deadline_s: float = Field(300.0, gt=0)
    max_deadline_s: float = Field(900.0, gt=0)
    history_token_budget: int = Field(1500, ge=100)  # earlier chat turns shown to the planner
    max_message_chars: int = Field(20_000, ge=100)  # a longer user message is refused
    selection_top_k: int = Field(5, ge=1, le=20)  # candidates shown to the LLM when choosing
    artifact_url_prefix: str = ARTIFACT_URL_PREFIX
    plan_demos: int = Field(3, ge=0, le=10)
    # Token budget of a plan reply; None: 64 + 96 per allowed task. A reply cut off here is not executed.
    plan_max_tokens: int | None = Field(None, ge=32)
    # "dag": a task starts the moment its dependencies finish. "polling": JARVIS's loop (start what is
    # ready, sleep polling_interval_s when nothing started), kept to measure the difference.
    scheduler: Literal["dag", "polling"] = "dag"
    polling_interval_s: float = Field(0.5, gt=0, le=10)
    # Start each task as soon as its JSON object is complete in the LLM's streamed plan (LLMCompiler).
    stream_plan: bool = False
    # Who plans: "trained" (controller/trained_planner, no LLM), "llm", or "llm+trained" (the trained
    # planner takes over when the LLM's plan stays unusable). "auto": trained when the only LLM is the
    # small embedded one, else llm+trained.
    planner: Literal["auto", "trained", "llm", "llm+trained"] = "auto"
    # Who writes the answer: "llm", or "grounded" (from the results, every text output and artifact link,
    # nothing invented, no LLM call). "auto": grounded when the only LLM is the small embedded one.
    answer: Literal["auto", "llm", "grounded"] = "auto"

    @model_validator(mode="after")
    def _deadline_within_cap(self) -> ControllerConfig:
        if self.deadline_s > self.max_deadline_s:
            raise ValueError(
                f"deadline_s ({self.deadline_s:g}) exceeds max_deadline_s ({self.max_deadline_s:g})"
            )
        return self

    def deadline(self, requested_s: float | None = None) -> Deadline:
        """A request's deadline: the default, or the client's within the cap."""
        seconds = self.deadline_s if requested_s is None else min(requested_s, self.max_deadline_s)
        return Deadline(seconds)
