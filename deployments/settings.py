"""The application's arguments: everything serve_config.yaml's `args` may say, typed and validated, and
`decide`, which settles once what they leave open (the profile, the catalog, the LLM)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from controller.config import ControllerConfig, LLMConfig, decide_llm
from experts.catalog import Catalog, load_catalog
from experts.retention import ArtifactPolicy


class ExpertSet(BaseModel):
    """Which catalog models get a deployment of their own; the pool serves the rest on demand."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] | None = None  # None: the profile's default set
    pool: bool = True  # serve every other runnable catalog model through the multiplexed pool
    device: str = "auto"  # "cpu", "cuda", "cuda:1" or "auto"


class EmbeddedLLMArgs(BaseModel):
    """The LLM the app deploys itself when none is configured (no OPENAI_API_KEY / base URL / `llm`)."""

    model_config = ConfigDict(extra="forbid")

    model: str = (
        "smollm2-135m-instruct"  # the bundled GGUF, or any hub id / local folder (e.g. a Qwen instruct)
    )
    device: str = "auto"
    num_cpus: float = Field(0.0, ge=0)  # a request the Ray autoscaler can see on a cluster
    num_gpus: float = Field(0.0, ge=0)
    max_tokens: int = Field(1024, ge=16)  # cap per generation
    timeout_s: float = Field(600.0, gt=0)  # a CPU decodes a plan in seconds to a minute
    # Generations run one at a time; callers beyond this many waiting are refused at once (the
    # controller sees a 503 and answers from what it has) instead of queueing for minutes.
    max_queued_requests: int = Field(8, ge=1)


class AppArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: Literal["auto", "offline", "lite", "full"] = "auto"
    # None: taken from OPENAI_API_KEY / HUGGINGGPT_LLM_BASE_URL at start.
    llm: LLMConfig | None = None
    embedded_llm: EmbeddedLLMArgs = Field(default_factory=EmbeddedLLMArgs)
    experts: ExpertSet = Field(default_factory=ExpertSet)
    artifact_store: str = "var/artifacts"  # a local folder or any fsspec URL (s3://bucket/prefix)
    artifacts: ArtifactPolicy = Field(default_factory=ArtifactPolicy)  # quota and retention
    controller: ControllerConfig = Field(default_factory=ControllerConfig)
    max_body_bytes: int = Field(25 * 1024 * 1024, ge=1024)  # requests and uploads above this get 413
    # Pipeline runs at once per ingress replica; one more gets 503 + Retry-After at once (load shedding).
    max_active_requests: int = Field(64, ge=1)
    status_cache_s: float = Field(2.0, ge=0)  # how long the list of live experts is reused
    public_model_name: str = "hugginggpt"

    @model_validator(mode="after")
    def _retention_spares_running_requests(self) -> AppArgs:
        if self.artifacts.keep_recent_s < self.controller.max_deadline_s:
            raise ValueError(
                f"artifacts.keep_recent_s ({self.artifacts.keep_recent_s:g}) must be at least "
                f"controller.max_deadline_s ({self.controller.max_deadline_s:g}): a running request may "
                "still need an artifact it used"
            )
        return self


@dataclass(frozen=True)
class Decided:
    """What the app runs with, decided once by the app builder and passed on typed to every deployment."""

    args: AppArgs  # its profile resolved: never "auto"
    catalog: Catalog
    llm: LLMConfig | None  # None: no LLM configured; the app deploys the embedded one


def decide(args: AppArgs | Mapping[str, Any], env: Mapping[str, str] | None = None) -> Decided:
    app_args = args if isinstance(args, AppArgs) else AppArgs.model_validate(args)
    catalog = load_catalog(app_args.profile)
    resolved = app_args.model_copy(update={"profile": catalog.profile or app_args.profile})
    return Decided(resolved, catalog, decide_llm(app_args.llm, env))
