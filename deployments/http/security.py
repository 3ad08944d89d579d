"""Who may call the API, how often, from which browser origin: API keys, per-key rate limits, CORS, and
the headers every response carries. Pure ASGI and Ray-free, like the rest of the HTTP layer.

Keys come from the environment (``HUGGINGGPT_API_KEYS``, comma-separated) or a file
(``HUGGINGGPT_API_KEYS_FILE``, e.g. a mounted Kubernetes Secret), never from serve_config.yaml. Only their
SHA-256 digests travel on (deployment arguments are pickled and stored by Serve); a request's key is
hashed and compared with every digest in constant time, and is never logged. A key is known by its id,
the first 12 hex digits of its digest: that is what metrics and logs see.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deployments.http.protocol import error

KEYS_ENV = "HUGGINGGPT_API_KEYS"
KEYS_FILE_ENV = "HUGGINGGPT_API_KEYS_FILE"
# What answers without a key: probes, and the page and its assets (static, no data; the page asks for a key).
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/"})
OPEN_PREFIXES = ("/ui/",)
# A run holds an LLM and experts for seconds to minutes: these routes count against max_concurrent_runs.
RUN_PATHS = frozenset({"/v1/chat/completions", "/hugginggpt", "/tasks", "/results", "/v1/plans/execute"})
ANONYMOUS = "anonymous"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def load_key_digests(env: Mapping[str, str] | None = None) -> frozenset[str]:
    """The digests of the configured keys: ``HUGGINGGPT_API_KEYS`` plus ``HUGGINGGPT_API_KEYS_FILE``'s lines
    (commas or newlines separate keys; blank entries are ignored). A named file that cannot be read is an
    error: starting without the keys someone meant to set would open the service."""
    env = os.environ if env is None else env
    text = env.get(KEYS_ENV, "")
    if path := env.get(KEYS_FILE_ENV):
        try:
            text += "\n" + Path(path).read_text()
        except OSError as e:
            raise ValueError(f"{KEYS_FILE_ENV}={path} cannot be read: {e.strerror}") from None
    keys = {k.strip() for k in text.replace(",", "\n").splitlines() if k.strip()}
    return frozenset(key_digest(k) for k in keys)


@dataclass(frozen=True)
class AccessPolicy:
    """Decided once by the app builder: the key digests and the limits."""

    key_digests: frozenset[str] = frozenset()
    # Without keys, clients beyond loopback are refused unless this explicit opt-in is set.
    allow_unauthenticated: bool = False
    requests_per_minute: int | None = None  # per key (per client address without keys); None: no limit
    max_concurrent_runs: int | None = None  # runs in flight per key; None: no limit
    cors_origins: tuple[str, ...] = ()

    @property
    def keys_required(self) -> bool:
        return bool(self.key_digests)

    def identify(self, token: str) -> str | None:
        """The key id for a presented key, or None. Every digest is compared, in constant time each."""
        presented = key_digest(token)
        found = None
        for digest in self.key_digests:
            if hmac.compare_digest(presented, digest):
                found = digest[:12]
        return found


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class AccessState:
    """The live counters of one ingress replica: token buckets and runs in flight, per key."""

    policy: AccessPolicy
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    running: dict[str, int] = field(default_factory=dict)

    def take_request(self, who: str) -> float:
        """0 when a request may go now (one token taken), else the seconds until one may."""
        rate = self.policy.requests_per_minute
        if rate is None:
            return 0.0
        now = self.clock()
        bucket = self.buckets.setdefault(who, _Bucket(float(rate), now))
        bucket.tokens = min(float(rate), bucket.tokens + (now - bucket.at) * rate / 60)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) * 60 / rate

    def start_run(self, who: str) -> bool:
        cap = self.policy.max_concurrent_runs
        if cap is not None and self.running.get(who, 0) >= cap:
            return False
        self.running[who] = self.running.get(who, 0) + 1
        return True

    def end_run(self, who: str) -> None:
        self.running[who] -= 1
        if not self.running[who]:
            del self.running[who]


def _is_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    try:
        return client is not None and ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class Guard:
    """API keys and rate limits in front of every route but ``OPEN_PATHS``. ``usage(key_id, outcome)``
    counts each decision (``allowed``, ``unauthorized``, ``rate_limited``, ``too_many_runs``)."""

    def __init__(self, app: ASGIApp, state: Callable[[], AccessState], usage: Callable[[str, str], None]):
        self.app, self.state, self.usage = app, state, usage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return await self.app(scope, receive, send)
        state = self.state()
        who, refusal = self._who(scope, state.policy)
        if refusal is not None:
            self.usage(who, "unauthorized")
            return await refusal(scope, receive, send)
        if (wait := state.take_request(who)) > 0:
            self.usage(who, "rate_limited")
            return await _too_many(f"more than {state.policy.requests_per_minute} requests a minute", wait)(
                scope, receive, send
            )
        is_run = scope.get("method") == "POST" and path in RUN_PATHS
        if is_run and not state.start_run(who):
            self.usage(who, "too_many_runs")
            message = f"{state.policy.max_concurrent_runs} runs are already in flight for this key"
            return await _too_many(message, 1.0)(scope, receive, send)
        self.usage(who, "allowed")
        try:
            await self.app(scope, receive, send)
        finally:
            if is_run:
                state.end_run(who)

    @staticmethod
    def _who(scope: Scope, policy: AccessPolicy) -> tuple[str, Response | None]:
        if policy.keys_required:
            token = _bearer(scope)
            key_id = policy.identify(token) if token else None
            if key_id is None:
                said = "an invalid" if token else "no"
                return ANONYMOUS, error(
                    401,
                    f"{said} API key: send `Authorization: Bearer <key>` with a key this service was given",
                    "invalid_api_key",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return key_id, None
        if policy.allow_unauthenticated or _is_loopback(scope):
            client = scope.get("client")
            return (client[0] if client else ANONYMOUS), None
        return ANONYMOUS, error(
            403,
            "this service has no API keys configured, so it answers only on loopback; where it runs, set "
            f"{KEYS_ENV} (or security.allow_unauthenticated: true to serve everyone)",
            "remote_access_disabled",
        )


def _too_many(message: str, wait_s: float) -> Response:
    retry = str(max(1, math.ceil(wait_s)))
    headers = {"Retry-After": retry}
    return error(
        429,
        f"{message}; retry in {retry} s",
        "rate_limit_exceeded",
        type_="rate_limit_error",
        headers=headers,
    )


class Cors(CORSMiddleware):
    """Starlette's CORS with the origins read from the service (the app is built before its settings are
    known; rebuilt only when they change), and a refused preflight answered in the one error shape."""

    def __init__(self, app: ASGIApp, origins: Callable[[], tuple[str, ...]]):
        self.inner, self.origins, self.built_for = app, origins, None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origins = self.origins()
        if not origins or scope["type"] != "http":
            return await self.inner(scope, receive, send)
        if origins != self.built_for:
            super().__init__(
                self.inner,
                allow_origins=list(origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
                expose_headers=["Retry-After"],
                max_age=600,
            )
            self.built_for = origins
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = error(400, f"CORS preflight refused: {response.body.decode()[:200]}", "cors_refused")
        refused.headers.update({"Vary": "Origin"})
        return refused


class SecurityHeaders:
    """Headers on every response: never let a browser guess a type (an uploaded file is served as the type
    its bytes were checked to be, and nothing else)."""

    HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
