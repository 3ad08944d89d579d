"""A scripted Hugging Face inference server on a loopback port: the remote experts' edge we do not own.

It answers the routes huggingface_hub's InferenceClient calls for a dedicated endpoint URL
(``POST /models/<model id>``, and ``.../v1/chat/completions`` for chat) with canned outputs per task: PNG
and WAV bytes, JSON labels, boxes, masks and text. A test can script failures per model (429 with
Retry-After, 503 "model loading", slowness, malformed, oversize or wrong-typed answers).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image

from experts.adapters import ExpertContext
from experts.artifacts import ArtifactStore
from experts.catalog import read_catalog_file
from experts.fetch import FetchPolicy
from experts.media import encode_wav
from experts.remote import RemoteConfig, RemoteExperts, remote_routes
from tests.loopback import LoopbackServer


def png(size: tuple[int, int] = (32, 24), color: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def wav(seconds: float = 0.25) -> bytes:
    t = np.linspace(0, seconds, int(16_000 * seconds), endpoint=False)
    return encode_wav(0.3 * np.sin(2 * np.pi * 440 * t), 16_000)


_MASK = base64.b64encode(png((32, 24), (255, 255, 255))).decode()

# What a real server answers per task (the shapes InferenceClient parses).
CANNED: dict[str, Any] = {
    "text-classification": [[{"label": "POSITIVE", "score": 0.91}, {"label": "NEGATIVE", "score": 0.09}]],
    "token-classification": [
        {"entity_group": "PER", "word": "Ada", "start": 0, "end": 3, "score": 0.98},
        {"entity_group": "LOC", "word": "London", "start": 13, "end": 19, "score": 0.95},
    ],
    "zero-shot-classification": [{"label": "travel", "score": 0.8}, {"label": "cooking", "score": 0.2}],
    "summarization": [{"summary_text": "A short remote summary."}],
    "translation": [{"translation_text": "Bonjour le monde"}],
    "question-answering": {"answer": "Paris", "score": 0.87, "start": 0, "end": 5},
    "sentence-similarity": [0.73],
    "image-classification": [{"label": "tabby cat", "score": 0.7}, {"label": "tiger", "score": 0.2}],
    "object-detection": [
        {"label": "cat", "score": 0.93, "box": {"xmin": 1, "ymin": 2, "xmax": 20, "ymax": 18}},
        {"label": "remote", "score": 0.6, "box": {"xmin": 3, "ymin": 3, "xmax": 9, "ymax": 9}},
    ],
    "image-segmentation": [{"label": "cat", "score": 0.9, "mask": _MASK}],
    "image-to-text": [{"generated_text": "a remote caption of a cat"}],
    "visual-question-answering": [{"answer": "two", "score": 0.8}, {"answer": "one", "score": 0.1}],
    "document-question-answering": [{"answer": "42 EUR", "score": 0.66, "start": 3, "end": 4}],
    "automatic-speech-recognition": {"text": "hello from the remote side"},
    "audio-classification": [{"label": "speech", "score": 0.88}, {"label": "music", "score": 0.12}],
}
BINARY: dict[str, tuple[bytes, str]] = {
    "text-to-image": (png((64, 48)), "image/png"),
    "image-to-image": (png((32, 24), (10, 200, 10)), "image/png"),
    "text-to-speech": (wav(), "audio/wav"),
}


@dataclass
class Fault:
    """What a model answers instead of its canned output, ``times`` times (None: always)."""

    status: int = 200
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    times: int | None = None


@dataclass
class Hit:
    model: str
    task: str
    at: float
    authorization: str | None
    content_type: str | None
    body: bytes = b""


@dataclass
class ScriptedHF:
    tasks: dict[str, str] = field(default_factory=dict)  # model id -> task it serves
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0

    @property
    def base_url(self) -> str:
        """An endpoint ``base_url`` template serving every model by id."""
        return f"http://{self.host}:{self.port}/models/{{model}}"

    def serve(self, model: str, task: str) -> None:
        self.tasks[model] = task

    def fail(self, model: str, **fault: Any) -> Fault:
        f = Fault(**fault)
        self.faults.setdefault(model, []).append(f)
        return f

    def reset(self) -> None:
        self.tasks.clear()
        self.faults.clear()
        self.hits.clear()

    def calls(self, model: str) -> list[Hit]:
        return [h for h in self.hits if h.model == model]

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/models/{path:path}")
        async def infer(path: str, request: Request):
            chat = path.endswith("/v1/chat/completions")
            model = path.removesuffix("/v1/chat/completions") if chat else path
            task = self.tasks.get(model)
            body = await request.body()
            self.hits.append(
                Hit(model, str(task), time.monotonic(), request.headers.get("authorization"),
                    request.headers.get("content-type"), body)
            )  # fmt: skip
            if task is None:
                return JSONResponse({"error": f"Model {model} does not exist"}, 404)
            fault = self._next_fault(model)
            if fault is not None:
                if fault.delay_s:
                    await asyncio.sleep(fault.delay_s)
                if fault.body is not None or fault.status != 200:
                    content = (
                        fault.body if fault.body is not None else json.dumps({"error": "scripted"}).encode()
                    )
                    return Response(content, fault.status, fault.headers, media_type=fault.content_type)
            if chat:
                message = json.loads(body)["messages"][-1]["content"]
                return JSONResponse(_chat_completion(model, f"remote reply to: {message}"))
            if task in BINARY:
                data, media_type = BINARY[task]
                return Response(data, media_type=media_type)
            return JSONResponse(CANNED[task])

        return app

    def _next_fault(self, model: str) -> Fault | None:
        for fault in self.faults.get(model, []):
            if fault.times is None or fault.times > 0:
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def start(self) -> ScriptedHF:
        self._server = LoopbackServer(self._app(), self.host, self.port)
        self.port = self._server.port
        return self

    def stop(self) -> None:
        self._server.stop()


def _chat_completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "scripted",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
    }


def remote_experts(
    server: ScriptedHF,
    store: ArtifactStore,
    *,
    name: str = "hf",
    tasks: Iterable[str] = (),
    models: Iterable[str] = (),
    env: dict[str, str] | None = None,
    **endpoint: Any,
) -> RemoteExperts:
    """RemoteExperts with one endpoint on ``server`` serving ``tasks`` and ``models`` (catalog-file entries),
    each of them scripted to answer with its task's canned output."""
    config = RemoteConfig.model_validate(
        {
            "endpoints": {name: {"base_url": server.base_url, "backoff_s": 0.01, **endpoint}},
            "tasks": dict.fromkeys(tasks, name),
            "models": dict.fromkeys(models, name),
        }
    )
    catalog = read_catalog_file()
    routes = remote_routes(config, catalog)
    specs = {m.id: m for m in catalog}
    for model_id in routes:
        server.serve(model_id, specs[model_id].task)
    ctx = ExpertContext(store=store, device="cpu", fetch=FetchPolicy())
    return RemoteExperts(config, routes, specs, ctx, env=env or {})
