"""The embedded LLM as a Ray Serve deployment, reached by the controller through
deployments.llm_transport.HandleTransport.

Deployed only when no external LLM is configured (see build_app). On a GPU cluster the production
choice is ray.serve.llm (vLLM) or any hosted endpoint, reached by the same client over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ray import serve

from deployments.http.protocol import error_body
from deployments.llm.engine import GenerationError, LocalLLM
from deployments.llm.openai_api import OpenAIChat
from deployments.llm_transport import STREAM_ERROR


@serve.deployment(
    ray_actor_options={"num_cpus": 0},
    max_ongoing_requests=8,  # generations queue on the engine's lock; more would only wait longer
    max_queued_requests=8,  # and past these the caller is refused at once (EmbeddedLLMArgs sets it)
    health_check_period_s=10,
    health_check_timeout_s=60,
)
class EmbeddedLLM:
    def __init__(self, model: str, device: str = "auto", max_tokens: int = 1024):
        self.chat = OpenAIChat(LocalLLM(model, device=device), max_tokens_cap=max_tokens)

    async def complete(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            return 200, await self.chat.complete(self.chat.parse(body))
        except GenerationError as e:
            return 400, error_body(str(e), "invalid_request")

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        try:
            request = self.chat.parse(body)
        except GenerationError as e:
            yield STREAM_ERROR + json.dumps(error_body(str(e), "invalid_request"))
            return
        async for line in self.chat.stream(request):
            yield line
