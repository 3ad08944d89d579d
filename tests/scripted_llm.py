"""A scripted OpenAI-compatible chat-completions server on a loopback port.

It stands in for the remote LLM, the edge we do not own; the real ``openai`` client talks to it over
real HTTP, streaming and not. The suite's other stand-in is tests/controller/experts_double.py, a timed
expert side for tests whose unit is the scheduler or the pipeline (ordering, overlap, failures,
cancellation); what it stands for is also covered once through Ray (tests/deployments/test_ray_app.py,
test_expert_on_ray.py). A test scripts replies per stage
(recognised by the stage's system prompt) and optionally per words of the user's message.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from controller import prompts
from tests.loopback import LoopbackServer

Stage = Literal["plan", "select", "respond", "chat"]
# The opening words of each stage's system prompt tell the stages apart.
STAGE_MARKERS: dict[Stage, str] = {
    "plan": prompts.PLAN_SYSTEM[:60],
    "select": prompts.SELECT_SYSTEM[:60],
    "respond": prompts.RESPOND_SYSTEM[:60],
    "chat": prompts.CHAT_SYSTEM[:60],
}
Reply = str | Callable[[dict[str, Any]], str]


def stage_of(body: dict[str, Any]) -> Stage | None:
    system = " ".join(
        str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "system"
    )
    return next((s for s, marker in STAGE_MARKERS.items() if marker in system), None)


def last_user_text(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return str(users[-1].get("content", "")) if users else ""


@dataclass
class Rule:
    stage: Stage | None
    contains: str | None
    reply: Reply
    delay_s: float = 0.0  # before the first byte
    status: int = 200
    times: int | None = None  # None: forever
    chunk_delay_s: float = 0.0  # between streamed chunks (token rate emulation)
    finish_reason: str = "stop"
    raw: str | None = None  # a body sent as is (200, application/json), e.g. garbage instead of a completion

    def matches(self, body: dict[str, Any]) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.stage is not None and stage_of(body) != self.stage:
            return False
        return self.contains is None or self.contains in last_user_text(body)


@dataclass
class ScriptedLLM:
    rules: list[Rule] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0

    def on(self, stage: Stage | None, reply: Reply, *, contains: str | None = None, **kw: Any) -> Rule:
        """Add a rule; earlier rules win, so script specific cases before general ones."""
        rule = Rule(stage=stage, contains=contains, reply=reply, **kw)
        self.rules.append(rule)
        return rule

    def reset(self) -> None:
        self.rules.clear()
        self.requests.clear()

    def calls(self, stage: Stage) -> list[dict[str, Any]]:
        return [r for r in self.requests if stage_of(r) == stage]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # --- server ---

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request):
            body = await request.json()
            self.requests.append(body)
            rule = next((r for r in self.rules if r.matches(body)), None)
            if rule is None:
                return JSONResponse(
                    {"error": {"message": f"no scripted reply for stage {stage_of(body)}", "type": "script"}},
                    status_code=500,
                )
            if rule.times is not None:
                rule.times -= 1
            if rule.delay_s:
                await asyncio.sleep(rule.delay_s)
            if rule.raw is not None:
                return Response(rule.raw, media_type="application/json")
            if rule.status != 200:
                return JSONResponse({"error": {"message": "scripted failure", "type": "script"}}, rule.status)
            text = rule.reply(body) if callable(rule.reply) else rule.reply
            if body.get("stream"):
                return StreamingResponse(self._sse(body, rule, text), media_type="text/event-stream")
            return JSONResponse(_completion(body, text, rule.finish_reason))

        return app

    async def _sse(self, body: dict[str, Any], rule: Rule, text: str):
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        pieces = _word_pieces(text)
        for i, piece in enumerate(pieces):
            if rule.chunk_delay_s and i:
                await asyncio.sleep(rule.chunk_delay_s)
            chunk = _chunk(cid, body, {"content": piece}, None)
            yield f"data: {json.dumps(chunk)}\n\n"
        yield f"data: {json.dumps(_chunk(cid, body, {}, rule.finish_reason))}\n\n"
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", "scripted"),
                "choices": [],
                "usage": _usage(body, text),
            }
            yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"

    def start(self) -> ScriptedLLM:
        self._server = LoopbackServer(self._app(), self.host, self.port)
        self.port = self._server.port
        return self

    def stop(self) -> None:
        self._server.stop()


def _word_pieces(text: str) -> list[str]:
    """Split into word-sized chunks (a token stream), keeping every character."""
    pieces, current = [], ""
    for ch in text:
        current += ch
        if ch in " \n":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces or [""]


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4 + 1
    completion = len(text) // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(body: dict[str, Any], text: str, finish_reason: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
        ],
        "usage": _usage(body, text),
    }


def _chunk(cid: str, body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
