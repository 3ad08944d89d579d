"""One remote endpoint at run time: its InferenceClient, how many calls may be in flight, bounded retries
that honour Retry-After, and a circuit breaker that takes it out of selection while it keeps failing."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx2
from huggingface_hub import AsyncInferenceClient
from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError

from experts.errors import ExpertError, ExpertInputError, ExpertOutputError, ExpertUnavailable
from experts.remote.config import EndpointConfig

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 502, 503, 504})  # rate limited, model loading, gateway trouble


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, limit: int, url: str):
        self.inner, self.limit, self.url = inner, limit, url

    async def __aiter__(self):
        seen = 0
        async for chunk in self.inner:
            seen += len(chunk)
            if seen > self.limit:
                raise ExpertOutputError(f"{self.url} answered more than {self.limit} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class _CappedTransport(httpx2.AsyncBaseTransport):
    """Refuses an answer larger than the endpoint's max_output_bytes while it streams in, not after."""

    def __init__(self, limit: int, connections: int):
        self.limit = limit
        self.inner = httpx2.AsyncHTTPTransport(limits=httpx2.Limits(max_connections=connections))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await response.aclose()
            raise ExpertOutputError(f"{request.url} answered {declared} bytes (limit {self.limit})")
        response.stream = _CappedStream(response.stream, self.limit, str(request.url))  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Client(AsyncInferenceClient):
    """The real AsyncInferenceClient over this endpoint's own HTTP client: a byte cap, a connection limit,
    and no HF_HUB_OFFLINE hook (that flag forbids hub downloads; remote inference is the operator's
    explicit choice through inference_mode)."""

    def __init__(self, *args: Any, http: httpx2.AsyncClient, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._http = http

    async def _get_async_client(self) -> httpx2.AsyncClient:
        return self._http


class Endpoint:
    def __init__(
        self,
        name: str,
        config: EndpointConfig,
        token: str | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.name, self.config, self.token = name, config, token
        self.label = config.label(name)
        self._clock, self._sleep = clock, sleep
        self._slots = asyncio.Semaphore(config.concurrency)
        self._failures = 0
        self._open_until = 0.0
        self._client: _Client | None = None

    # --- circuit breaker ---
    @property
    def available(self) -> bool:
        return self._clock() >= self._open_until

    @property
    def state(self) -> str:
        """What /v1/models says: REMOTE, or REMOTE_UNAVAILABLE while the breaker is open."""
        return "REMOTE" if self.available else "REMOTE_UNAVAILABLE"

    def _record(self, ok: bool) -> None:
        if ok:
            self._failures = 0
            return
        self._failures += 1
        if self._failures >= self.config.failures_to_open:
            self._open_until = self._clock() + self.config.open_s
            # Half-open afterwards: one more failure opens it again at once.
            self._failures = self.config.failures_to_open - 1
            log.warning("remote endpoint %s marked unavailable for %.0f s", self.name, self.config.open_s)

    # --- calls ---
    def client(self) -> _Client:
        if self._client is None:
            c = self.config
            http = httpx2.AsyncClient(
                transport=_CappedTransport(c.max_output_bytes, c.concurrency),
                timeout=c.timeout_s,
                follow_redirects=True,
            )
            # No token: send no Authorization header rather than a login token found on disk.
            headers = {} if self.token else {"authorization": None}
            self._client = _Client(
                provider=c.provider, token=self.token, timeout=c.timeout_s, headers=headers, http=http
            )  # type: ignore[arg-type]
        return self._client

    async def call(self, model_id: str, run: Callable[[_Client, str], Awaitable[T]]) -> tuple[T, int]:
        """``run(client, target)`` with bounded retries; (its result, attempts). Typed errors only."""
        if not self.available:
            raise ExpertUnavailable(
                f"remote endpoint {self.name} is marked unavailable after repeated failures"
            )
        target = self.config.target(model_id)
        attempt = 0
        async with self._slots:
            while True:
                attempt += 1
                try:
                    result = await run(self.client(), target)
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    error, wait = self._classify(e, model_id, attempt)
                    if wait is None:
                        if not isinstance(error, ExpertInputError):  # the caller's fault, not the endpoint's
                            self._record(ok=False)
                        raise error from None
                    log.info("remote %s: %s; retry %d in %.1f s", self.name, error, attempt, wait)
                    await self._sleep(wait)
                    continue
                self._record(ok=True)
                return result, attempt

    def _classify(self, e: Exception, model_id: str, attempt: int) -> tuple[ExpertError, float | None]:
        """The typed error and how long to wait before retrying (None: give up now)."""
        c = self.config
        backoff = c.backoff_s * 2 ** (attempt - 1)
        retries_left = attempt <= c.max_retries
        where = f"{model_id} on {self.label}"
        if isinstance(e, ExpertError):
            return e, None
        if isinstance(e, InferenceTimeoutError | httpx2.TimeoutException):
            error: ExpertError = ExpertUnavailable(f"{where} did not answer within {c.timeout_s:g} s")
            return error, backoff if retries_left else None
        if isinstance(e, httpx2.TransportError):
            error = ExpertUnavailable(f"{where} is unreachable: {type(e).__name__}")
            return error, backoff if retries_left else None
        if isinstance(e, HfHubHTTPError) and e.response is not None:
            status = e.response.status_code
            said = _server_message(e.response)
            if status in RETRY_STATUSES:
                asked = _retry_after(e.response)
                error = ExpertUnavailable(f"{where} answered {status}{': ' + said if said else ''}")
                if not retries_left or (asked is not None and asked > c.max_retry_wait_s):
                    return error, None
                return error, max(backoff, asked or 0.0)
            if status in (400, 413, 415, 422):
                return ExpertInputError(
                    f"{where} refused the inputs ({status}){': ' + said if said else ''}"
                ), None
            return ExpertUnavailable(f"{where} answered {status}{': ' + said if said else ''}"), None
        # The client could not read what came back: malformed JSON, a missing field, not an image.
        return ExpertOutputError(f"{where} answered an unreadable {type(e).__name__}: {str(e)[:200]}"), None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client._http.aclose()
            self._client = None


def _retry_after(response: httpx2.Response) -> float | None:
    """Seconds the server asks us to wait: Retry-After (seconds or an HTTP date), or a loading model's
    ``estimated_time``."""
    value = response.headers.get("retry-after")
    if value:
        if value.strip().isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    try:
        body = json.loads(response.content or b"{}")
        return float(body["estimated_time"]) if isinstance(body, dict) and "estimated_time" in body else None
    except (ValueError, KeyError, TypeError, httpx2.ResponseNotRead):
        return None


def _server_message(response: httpx2.Response) -> str:
    try:
        body = json.loads(response.content or b"{}")
    except (ValueError, httpx2.ResponseNotRead):
        return ""
    message = body.get("error") if isinstance(body, dict) else None
    return str(message)[:200] if message else ""
