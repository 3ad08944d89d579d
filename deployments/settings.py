"""The application's arguments: everything serve_config.yaml's `args` may say, typed and validated, and
`decide`, which settles once what they leave open (the profile, the catalog, the LLM)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from controller.config import ControllerConfig, LLMConfig, decide_llm
from deployments.http.security import AccessPolicy, load_key_digests
from experts.catalog import Catalog, ModelSpec, load_catalog, read_catalog_file
from experts.remote import RemoteConfig, remote_routes
from experts.retention import ArtifactPolicy


class ExpertSet(BaseModel):
    """Which catalog models get a deployment of their own; the pool serves the rest on demand."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] | None = None  # None: the profile's default set
    pool: bool = True  # serve every other runnable catalog model through the multiplexed pool
    device: str = "auto"  # "cpu", "cuda", "cuda:1" or "auto"
    # A call whose deployment has no running replica and is UNHEALTHY (its replicas died, e.g. with their
    # node) fails expert_unavailable after this long instead of waiting for Serve to place a new one.
    replica_wait_s: float = Field(30.0, gt=0)


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
    artifacts: ArtifactPolicy = Field(default_factory=ArtifactPolicy)  # quota and retention
    controller: ControllerConfig = Field(default_factory=ControllerConfig)
    max_body_bytes: int = Field(25 * 1024 * 1024, ge=1024)  # requests and uploads above this get 413
    # Pipeline runs at once per ingress replica; one more gets 503 + Retry-After at once (load shedding).
    max_active_requests: int = Field(64, ge=1)
    status_cache_s: float = Field(2.0, ge=0)  # how long the list of live experts is reused
    public_model_name: str = "hugginggpt"
    security: SecurityArgs = Field(default_factory=SecurityArgs)
    # local: experts on this cluster only. remote: every expert on the `remote` endpoints (no expert
    # deployments). hybrid: both; selection prefers a live local replica, then a remote one.
    inference_mode: Literal["local", "remote", "hybrid"] = "local"
    remote: RemoteConfig = Field(default_factory=RemoteConfig)

    @model_validator(mode="after")
    def _remote_needs_endpoints(self) -> AppArgs:
        if self.inference_mode != "local" and not (self.remote.models or self.remote.tasks):
            raise ValueError(
                f"inference_mode {self.inference_mode} needs remote.endpoints and remote.models or remote.tasks"
            )
        return self

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
    catalog: Catalog  # the profile's models: what this cluster deploys and pools
    llm: LLMConfig | None  # None: no LLM configured; the app deploys the embedded one
    access: AccessPolicy  # API key digests (from the environment) and the limits
    remote: Remote | None = None  # remote / hybrid inference_mode: the models remote endpoints serve

    def selectable(self) -> Catalog:
        """What selection chooses from: the profile's models plus the remote ones."""
        if self.remote is None:
            return self.catalog
        extra = [m for m in self.remote.specs.values() if self.catalog.get(m.id) is None]
        return Catalog([*self.catalog, *extra], profile=self.catalog.profile)


@dataclass(frozen=True)
class Remote:
    config: RemoteConfig
    routes: dict[str, str]  # model id -> endpoint name
    specs: dict[str, ModelSpec]  # the routed models' catalog entries


def decide(args: AppArgs | Mapping[str, Any], env: Mapping[str, str] | None = None) -> Decided:
    app_args = args if isinstance(args, AppArgs) else AppArgs.model_validate(args)
    catalog = load_catalog(app_args.profile)
    resolved = app_args.model_copy(update={"profile": catalog.profile or app_args.profile})
    return Decided(
        resolved,
        catalog,
        decide_llm(app_args.llm, env),
        decide_access(app_args.security, env),
        _decide_remote(app_args, env),
    )


def decide_access(security: SecurityArgs, env: Mapping[str, str] | None = None) -> AccessPolicy:
    return AccessPolicy(
        key_digests=load_key_digests(env),
        allow_unauthenticated=security.allow_unauthenticated,
        requests_per_minute=security.requests_per_minute,
        max_concurrent_runs=security.max_concurrent_runs,
        cors_origins=tuple(security.cors_origins),
    )


def _decide_remote(args: AppArgs, env: Mapping[str, str] | None) -> Remote | None:
    """Which catalog models (any profile: remote models need no local weights) each endpoint serves;
    a provider other than hf-inference needs its token at start, not at the first request."""
    if args.inference_mode == "local":
        return None
    models = read_catalog_file()
    routes = remote_routes(args.remote, models)
    for name, endpoint in args.remote.endpoints.items():
        needs_token = endpoint.provider not in (None, "hf-inference")
        if needs_token and name in routes.values() and endpoint.token(env) is None:
            where = endpoint.token_file or f"the environment variable {endpoint.token_env}"
            raise ValueError(
                f"remote endpoint {name!r} (provider {endpoint.provider}) needs a token in {where}"
            )
    specs = {m.id: m for m in models if m.id in routes}
    return Remote(args.remote, routes, specs)
