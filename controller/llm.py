"""The LLM client: one OpenAI-compatible endpoint, per-stage token accounting, typed failures."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai

from controller.config import LLMConfig
from controller.schema import StageUsage

log = logging.getLogger(__name__)


class LLMUnavailable(RuntimeError):
    """The endpoint could not be reached, timed out, or failed after the bounded retries. The message is
    shown to clients, so it says what happened and nothing the endpoint said: a provider's error text can
    hold a masked key, an account or an internal address. The detail goes to the log."""


def _unavailable(e: Exception) -> LLMUnavailable:
    log.warning("LLM call failed: %s: %s", type(e).__name__, _short(str(e)))
    if isinstance(e, openai.APITimeoutError | httpx.TimeoutException):
        return LLMUnavailable("the LLM endpoint did not answer in time")
    if isinstance(e, openai.RateLimitError):
        return LLMUnavailable("the LLM endpoint is rate limiting this service")
    if isinstance(e, openai.APIStatusError):
        if e.status_code in (401, 403):
            return LLMUnavailable(
                f"the LLM endpoint refused this service's credentials (HTTP {e.status_code})"
            )
        return LLMUnavailable(f"the LLM endpoint answered HTTP {e.status_code}")
    return LLMUnavailable("the LLM endpoint could not be reached")


class LLMClient:
    def __init__(self, config: LLMConfig, http_client: httpx.AsyncClient | None = None):
        """``http_client`` replaces the network (e.g. a transport to an in-cluster deployment)."""
        self.config = config
        self._client = openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=config.api_key.get_secret_value(),
            timeout=httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s)),
            max_retries=config.max_retries,
            http_client=http_client,
        )

    async def close(self) -> None:
        await self._client.close()

    def _params(self, messages: list[dict[str, Any]], json_schema: dict | None, max_tokens: int | None):
        params: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
        }
        if max_tokens:
            params["max_tokens"] = max_tokens
        if json_schema is not None and self.config.structured_output:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": json_schema.get("title", "output"), "schema": json_schema},
            }
        return params

    async def complete(
        self,
        messages: list[dict[str, Any]],
        usage: StageUsage,
        *,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """The assistant's text. Raises LLMUnavailable; a cut-off reply (finish_reason=length) is returned
        as is so that the caller's parser rejects it rather than acting on half a plan."""
        start = time.perf_counter()
        try:
            resp = await self._client.chat.completions.create(
                **self._params(messages, json_schema, max_tokens)
            )
        except (openai.APIConnectionError, openai.APIStatusError) as e:
            raise _unavailable(e) from e
        except (openai.APIError, ValueError) as e:  # a body that is not a chat completion (a proxy's page)
            raise LLMUnavailable(
                "the LLM endpoint answered with something that is not a chat completion"
            ) from e
        finally:
            usage.calls += 1
            usage.seconds += time.perf_counter() - start
        if resp.usage:
            usage.prompt_tokens += resp.usage.prompt_tokens or 0
            usage.completion_tokens += resp.usage.completion_tokens or 0
        if not resp.choices:
            raise LLMUnavailable("the LLM endpoint returned no choices")
        choice = resp.choices[0]
        if choice.finish_reason == "length":
            log.warning("LLM reply was cut off at max_tokens")
        return choice.message.content or ""

    async def stream(
        self,
        messages: list[dict[str, Any]],
        usage: StageUsage,
        *,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[str]:
        """Text deltas as the endpoint produces them. Raises LLMUnavailable before the first delta only
        when the request itself fails; a stream that breaks midway raises LLMUnavailable too."""
        start = time.perf_counter()
        params = self._params(messages, json_schema, max_tokens)
        usage.calls += 1
        try:
            stream = await self._client.chat.completions.create(
                **params, stream=True, stream_options={"include_usage": True}
            )
            async for chunk in stream:
                if chunk.usage:
                    usage.prompt_tokens += chunk.usage.prompt_tokens or 0
                    usage.completion_tokens += chunk.usage.completion_tokens or 0
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
        except (openai.APIConnectionError, openai.APIStatusError, httpx.HTTPError) as e:
            raise _unavailable(e) from e
        except (openai.APIError, ValueError) as e:
            raise LLMUnavailable("the LLM endpoint streamed something that is not a chat completion") from e
        finally:
            usage.seconds += time.perf_counter() - start


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
