"""OpenAI chat-completions over a LocalLLM: request validation, JSON and SSE responses.

Used by the standalone server (`python -m deployments.llm.server`) and by the Ray deployment, so both
speak exactly the same dialect to the same `openai` client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deployments.http.protocol import SSE_DONE, ChunkWriter, completion_body, error_body, usage_body
from deployments.llm.engine import Generation, GenerationError, LocalLLM, SamplingParams


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # text parts only: this model reads no media
            return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: dict[str, Any] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = ""
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(0.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(1, ge=1, le=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    response_format: ResponseFormat | None = None

    def sampling(self, cap: int) -> SamplingParams:
        schema = None
        if self.response_format and self.response_format.type == "json_schema":
            schema = (self.response_format.json_schema or {}).get("schema")
            if not isinstance(schema, dict):
                raise GenerationError("response_format.json_schema.schema must be a JSON schema object")
        elif self.response_format and self.response_format.type == "json_object":
            schema = {"type": "object"}
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        wanted = self.max_completion_tokens or self.max_tokens or cap
        return SamplingParams(
            max_tokens=min(wanted, cap),
            temperature=self.temperature,
            top_p=self.top_p,
            stop=stops,
            json_schema=schema,
            seed=self.seed,
        )

    def chat(self) -> list[dict[str, str]]:
        role = {"developer": "system", "tool": "user"}
        return [{"role": role.get(m.role, m.role), "content": m.text()} for m in self.messages]


class OpenAIChat:
    """The chat-completions dialect over one engine; generation runs on a worker thread."""

    def __init__(self, engine: LocalLLM, max_tokens_cap: int = 1024):
        self.engine = engine
        self.cap = max_tokens_cap

    def parse(self, body: dict[str, Any]) -> ChatRequest:
        """Raises GenerationError with a readable message for a bad request."""
        try:
            request = ChatRequest.model_validate(body)
            request.sampling(self.cap)
        except ValidationError as e:
            first = e.errors()[0]
            raise GenerationError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
        return request

    async def complete(self, request: ChatRequest) -> dict[str, Any]:
        out = Generation()
        parts = [d async for d in self._deltas(request, out)]
        return completion_body(self.engine.name, "".join(parts), out.finish_reason, _usage(out))

    async def stream(self, request: ChatRequest) -> AsyncIterator[str]:
        """SSE lines of chat.completion.chunk objects, ending with [DONE]."""
        writer, out = ChunkWriter(self.engine.name), Generation()
        yield writer.chunk({"role": "assistant", "content": ""})
        async for delta in self._deltas(request, out):
            yield writer.chunk({"content": delta})
        yield writer.chunk({}, out.finish_reason)
        if (request.stream_options or {}).get("include_usage"):
            yield writer.usage(_usage(out))
        yield SSE_DONE

    async def _deltas(self, request: ChatRequest, out: Generation) -> AsyncIterator[str]:
        """The engine's deltas, produced on a thread and handed over through a queue; a consumer that
        stops early (client gone) makes the thread stop at its next token."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancelled = threading.Event()
        params = request.sampling(self.cap)

        def produce() -> None:
            try:
                for delta in self.engine.generate(request.chat(), params, out):
                    if cancelled.is_set():
                        return
                    loop.call_soon_threadsafe(queue.put_nowait, ("delta", delta))
                loop.call_soon_threadsafe(queue.put_nowait, ("end", None))
            except Exception as e:  # handed to the consumer, which raises it in the request's context
                loop.call_soon_threadsafe(queue.put_nowait, ("error", e))

        worker = loop.run_in_executor(None, produce)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "delta":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            cancelled.set()
            await asyncio.shield(worker)


def _usage(out: Generation) -> dict[str, int]:
    return usage_body(out.prompt_tokens, out.completion_tokens)


def create_llm_api(chat: OpenAIChat) -> FastAPI:
    """A standalone OpenAI-compatible app (the Ray deployment calls OpenAIChat directly instead)."""
    app = FastAPI(title="HuggingGPT embedded LLM")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("the request body is not valid JSON", "invalid_json"), status_code=400)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        try:
            body = await request.json()
            parsed = chat.parse(body if isinstance(body, dict) else {})
        except (GenerationError, ValueError) as e:
            return JSONResponse(error_body(str(e), "invalid_request"), status_code=400)
        if parsed.stream:
            return StreamingResponse(chat.stream(parsed), media_type="text/event-stream")
        try:
            return JSONResponse(await chat.complete(parsed))
        except GenerationError as e:
            return JSONResponse(error_body(str(e), "invalid_request"), status_code=400)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": chat.engine.name, "object": "model", "owned_by": "local"}]}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
