"""Every JSON shape of the HTTP API: request bodies, the OpenAI error body, completions, stream chunks.

Nothing else in the service spells these shapes; the embedded LLM's OpenAI dialect uses them too.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from controller.schema import ChatMessage

RETRY_AFTER_S = "5"
SSE_DONE = "data: [DONE]\n\n"


# --- request bodies ----------------------------------------------------------------------------


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # sampling knobs of the OpenAI API are accepted and ignored

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None


class JarvisRequest(BaseModel):
    messages: list[ChatMessage] = Field(min_length=1)


class ExecutePlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[dict[str, Any]]
    request: str = ""  # the user's words, shown to model selection and to the answer
    respond: bool = False  # also write an answer (stage 4)
    stream: bool = False


# --- errors --------------------------------------------------------------------------------------


def error_body(message: str, code: str, type_: str = "invalid_request_error") -> dict[str, Any]:
    """The OpenAI error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def error(status: int, message: str, code: str, *, type_: str | None = None, headers=None) -> JSONResponse:
    kind = type_ or ("invalid_request_error" if status < 500 else "service_unavailable")
    return JSONResponse(error_body(message, code, kind), status_code=status, headers=headers)


def client_closed() -> JSONResponse:
    """499: the client went away before the answer (nginx's code; nobody reads it, the logs do)."""
    return error(499, "client closed the request", "client_closed")


# --- completions and stream chunks ----------------------------------------------------------------


def usage_body(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def completion_body(
    model: str, content: str, finish_reason: str | None, usage: dict[str, int], **extra: Any
) -> dict[str, Any]:
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
        ],
        "usage": usage,
        **extra,
    }


class ChunkWriter:
    """The ``chat.completion.chunk`` SSE lines of one streamed completion (one id, one timestamp)."""

    def __init__(self, model: str):
        self.head = {"id": completion_id(), "object": "chat.completion.chunk", "created": int(time.time())}
        self.head["model"] = model

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {**self.head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def usage(self, usage: dict[str, int]) -> str:
        """The final chunk that ``stream_options.include_usage`` asks for: no choices, the token counts."""
        return f"data: {json.dumps({**self.head, 'choices': [], 'usage': usage})}\n\n"
