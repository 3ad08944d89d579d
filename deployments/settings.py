"""The application's arguments: everything serve_config.yaml's `args` may say, typed and validated, and
`decide`, which settles once what they leave open (the profile, the catalog, the LLM)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from controller.config import ControllerConfig, LLMConfig, decide_llm
from deployments.http.security import AccessPolicy, load_key_digests
from experts.catalog import Catalog, load_catalog


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


class SecurityArgs(BaseModel):
    """Access to the API. The keys themselves never live here: HUGGINGGPT_API_KEYS / HUGGINGGPT_API_KEYS_FILE."""

    model_config = ConfigDict(extra="forbid")

    # Without keys only loopback clients are served; true serves everyone without a key (an explicit opt-in).
    allow_unauthenticated: bool = False
    requests_per_minute: int | None = Field(None, ge=1)  # per key (per client address without keys)
    max_concurrent_runs: int | None = Field(None, ge=1)  # runs in flight per key
    cors_origins: list[str] = Field(default_factory=list)  # browser origins allowed to call the API


class AppArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: Literal["auto", "offline", "lite", "full"] = "auto"
    # None: taken from OPENAI_API_KEY / HUGGINGGPT_LLM_BASE_URL at start.
    llm: LLMConfig | None = None
    embedded_llm: EmbeddedLLMArgs = Field(default_factory=EmbeddedLLMArgs)
    experts: ExpertSet = Field(default_factory=ExpertSet)
    artifact_store: str = "var/artifacts"  # a local folder or any fsspec URL (s3://bucket/prefix)
    controller: ControllerConfig = Field(default_factory=ControllerConfig)
    max_body_bytes: int = Field(25 * 1024 * 1024, ge=1024)  # requests and uploads above this get 413
    status_cache_s: float = Field(2.0, ge=0)  # how long the list of live experts is reused
    public_model_name: str = "hugginggpt"
    security: SecurityArgs = Field(default_factory=SecurityArgs)


@dataclass(frozen=True)
class Decided:
    """What the app runs with, decided once by the app builder and passed on typed to every deployment."""

    args: AppArgs  # its profile resolved: never "auto"
    catalog: Catalog
    llm: LLMConfig | None  # None: no LLM configured; the app deploys the embedded one
    access: AccessPolicy  # API key digests (from the environment) and the limits


def decide(args: AppArgs | Mapping[str, Any], env: Mapping[str, str] | None = None) -> Decided:
    app_args = args if isinstance(args, AppArgs) else AppArgs.model_validate(args)
    catalog = load_catalog(app_args.profile)
    resolved = app_args.model_copy(update={"profile": catalog.profile or app_args.profile})
    return Decided(resolved, catalog, decide_llm(app_args.llm, env), decide_access(app_args.security, env))


def decide_access(security: SecurityArgs, env: Mapping[str, str] | None = None) -> AccessPolicy:
    return AccessPolicy(
        key_digests=load_key_digests(env),
        allow_unauthenticated=security.allow_unauthenticated,
        requests_per_minute=security.requests_per_minute,
        max_concurrent_runs=security.max_concurrent_runs,
        cors_origins=tuple(security.cors_origins),
    )
