"""Solved requests shown to the planner as demonstrations. Static ones here; retrieval plugs in by protocol."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Protocol

from pydantic import BaseModel

from controller.schema import Task


class Demo(BaseModel):
    request: str
    tasks: list[Task]

    def uses_only(self, offered: Collection[str]) -> bool:
        return all(t.task in offered for t in self.tasks)

    def plan_json(self, max_arg_chars: int | None = None) -> str:
        """The plan as the planner should write it; long literal arguments cut to ``max_arg_chars`` (a
        demo teaches the plan's shape, and a small model's context is short)."""
        tasks = [t.model_dump() for t in self.tasks]
        if max_arg_chars is not None:
            for t in tasks:
                t["args"] = {k: _clip(v, max_arg_chars) for k, v in t["args"].items()}
        return json.dumps({"tasks": tasks}, ensure_ascii=False)


def _clip(value, limit: int):
    if isinstance(value, str) and len(value) > limit and "<GENERATED>" not in value:
        return value[:limit].rstrip() + "…"
    return value


class DemoSource(Protocol):
    async def find(self, request: str, k: int, offered: Collection[str]) -> list[Demo]: ...


def _t(id: int, task: str, args: dict, dep: list[int] | None = None) -> Task:
    return Task(id=id, task=task, dep=dep or [], args=args)


STATIC_DEMOS: list[Demo] = [
    Demo(
        request="Look at /exp1.jpg and tell me what objects are in it, then read the answer aloud.",
        tasks=[
            _t(0, "object-detection", {"image": "/exp1.jpg"}),
            _t(1, "text-to-speech", {"text": "<GENERATED>-0"}, [0]),
        ],
    ),
    Demo(
        request="Generate an image of a cat on a skateboard and describe what is in the picture.",
        tasks=[
            _t(0, "text-to-image", {"text": "a cat on a skateboard"}),
            _t(1, "image-to-text", {"image": "<GENERATED>-0"}, [0]),
        ],
    ),
    Demo(
        request="Transcribe /meeting.wav, summarise it, and tell me whether the tone is positive.",
        tasks=[
            _t(0, "automatic-speech-recognition", {"audio": "/meeting.wav"}),
            _t(1, "summarization", {"text": "<GENERATED>-0"}, [0]),
            _t(2, "text-classification", {"text": "<GENERATED>-0"}, [0]),
        ],
    ),
    Demo(
        request="What is the capital of France?",
        tasks=[],
    ),
]


class StaticDemos:
    def __init__(self, demos: list[Demo] | None = None):
        self.demos = STATIC_DEMOS if demos is None else demos

    async def find(self, request: str, k: int, offered: Collection[str]) -> list[Demo]:
        return [d for d in self.demos if d.uses_only(offered)][:k]
