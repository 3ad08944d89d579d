"""Where remote experts run: Hugging Face Inference Providers or dedicated endpoints, as serve_config.yaml's
`args.remote` says. Validated once (unknown keys refused); a token never lives in the file, only the name of
the environment variable or the mounted Secret file that holds it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from experts.tasks import TASK_TYPES

MODEL_PLACEHOLDER = "{model}"  # in a base_url: one gateway serving many models by id


class EndpointConfig(BaseModel):
    """One remote inference endpoint and the limits every call to it keeps."""

    model_config = ConfigDict(extra="forbid")

    # Serverless Inference Providers ("hf-inference", "together", "fal-ai", ... or "auto"), or a dedicated
    # Inference Endpoint / self-hosted server URL. Exactly one of the two.
    provider: str | None = None
    base_url: str | None = None
    # The token: read from this environment variable (a Kubernetes Secret exposed with secretKeyRef), or
    # from a file (a Secret mounted as a volume). None of them set: requests go without a token.
    token_env: str = "HF_TOKEN"
    token_file: str | None = None
    timeout_s: float = Field(60.0, gt=0)  # one HTTP call
    max_retries: int = Field(2, ge=0, le=10)  # 429, 503 (model loading), 5xx gateway errors, timeouts
    backoff_s: float = Field(0.5, ge=0)  # first wait; doubles per retry unless the server says Retry-After
    max_retry_wait_s: float = Field(30.0, ge=0)  # a longer Retry-After fails the call instead of waiting
    concurrency: int = Field(4, ge=1, le=256)  # calls in flight to this endpoint at once
    max_output_bytes: int = Field(50 * 1024 * 1024, ge=1024)  # a larger answer is refused (bad_output)
    failures_to_open: int = Field(5, ge=1)  # consecutive failed calls that mark the endpoint unavailable
    open_s: float = Field(60.0, gt=0)  # how long it stays unavailable before it is tried again

    @model_validator(mode="after")
    def _one_target(self) -> EndpointConfig:
        if (self.provider is None) == (self.base_url is None):
            raise ValueError("an endpoint needs exactly one of provider or base_url")
        if self.base_url is not None and not re.match(r"^https?://", self.base_url):
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        return self

    @property
    def per_model(self) -> bool:
        """Whether it serves any model by id (a provider, or a base_url with {model}), not one fixed model."""
        return self.provider is not None or MODEL_PLACEHOLDER in (self.base_url or "")

    def target(self, model_id: str) -> str:
        """What InferenceClient's ``model=`` gets: the hub id for a provider, else the URL."""
        if self.base_url is None:
            return model_id
        return self.base_url.replace(MODEL_PLACEHOLDER, model_id)

    def label(self, name: str) -> str:
        """Where a task ran, as answers and events say it: the provider, or the endpoint's name."""
        return self.provider or name

    def token(self, env: Mapping[str, str] | None = None) -> str | None:
        if self.token_file:
            path = Path(self.token_file)
            if not path.is_file():
                raise ValueError(f"token_file {self.token_file} does not exist")
            return path.read_text().strip() or None
        return (os.environ if env is None else env).get(self.token_env) or None


class RemoteConfig(BaseModel):
    """Endpoints by name, and which one serves each model (``models``) or each task's models (``tasks``)."""

    model_config = ConfigDict(extra="forbid")

    endpoints: dict[str, EndpointConfig] = Field(default_factory=dict)
    models: dict[str, str] = Field(default_factory=dict)  # model id -> endpoint name
    tasks: dict[str, str] = Field(default_factory=dict)  # task -> endpoint name (every hub model of it)

    @model_validator(mode="after")
    def _references(self) -> RemoteConfig:
        for where, mapping in (("models", self.models), ("tasks", self.tasks)):
            for key, name in mapping.items():
                if name not in self.endpoints:
                    raise ValueError(f"remote.{where}[{key!r}] names no endpoint {name!r}")
        for task, name in self.tasks.items():
            if task not in TASK_TYPES:
                raise ValueError(f"remote.tasks names an unknown task {task!r}")
            if not self.endpoints[name].per_model:
                raise ValueError(
                    f"remote.tasks[{task!r}]: endpoint {name!r} serves one model (its base_url has no "
                    f"{MODEL_PLACEHOLDER}); map it under remote.models instead"
                )
        for name, endpoint in self.endpoints.items():
            fixed = [m for m, n in self.models.items() if n == name]
            if not endpoint.per_model and len(fixed) > 1:
                raise ValueError(f"endpoint {name!r} serves one model but {len(fixed)} are mapped to it")
        return self
