"""The words we send the LLM at each stage. Kept in one place so they can be read and tuned together."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from controller.demos import Demo
from experts.catalog import ModelSpec
from experts.tasks import TASK_TYPES

PLAN_SYSTEM = """You are the task planner of HuggingGPT. You turn the user's request into a list of AI tasks \
that expert models will run. Reply with JSON only: {{"tasks": [...]}}.

Each task is {{"id": N, "task": TYPE, "dep": [ids], "args": {{INPUT: VALUE}}}}:
- "id" numbers tasks from 0. "dep" lists the ids whose output this task uses ([] if none).
- "task" is one of the task types below, spelled exactly.
- "args" gives each input of the task: a literal taken from the request (text, a file name or URL), or \
"<GENERATED>-N" for the output of task N.
- Plan only what the request asks for, at most {max_tasks} tasks. If the request needs no model \
(a greeting, a general question), reply {{"tasks": []}}.

Task types (inputs -> outputs):
{task_lines}"""

# Literal arguments in demonstrations are cut to this many characters: retrieved TaskBench demos carry
# whole paragraphs, which cost a small model's context and prefill time without teaching the plan.
DEMO_ARG_CHARS = 80

PLAN_RETRY = """Your plan could not be used: {reasons}.
Reply again with the corrected plan as JSON only, in the form {{"tasks": [...]}}."""

SELECT_SYSTEM = """You choose the most suitable model for one task of a user's request. \
Consider what the request needs, each model's description, and its popularity. \
Reply with JSON only: {"id": "<one of the candidate ids>", "reason": "<one sentence>"}."""

RESPOND_SYSTEM = """You are HuggingGPT. Expert models have worked on the user's request; you write the final \
answer from their results. Answer the request directly first, then say briefly which models did what. \
Copy every artifact URL exactly as given, as markdown (![description](URL) for images, [name](URL) for \
audio and video). Report failed or skipped tasks honestly with their reason; never invent results."""

CHAT_SYSTEM = (
    "You are HuggingGPT, a helpful assistant. Answer the user directly and concisely. No tool or model "
    "ran for this message: never claim to have made, edited, transcribed, translated or analysed anything; "
    "if the user asks for such work, say what input or request you need."
)


ARG_MAX_CHARS = 400


def task_lines(offered: Collection[str]) -> str:
    lines = []
    for name in sorted(offered):
        t = TASK_TYPES[name]
        ins = ", ".join(f"{i.name}: {i.kind}{'' if i.required else ' (optional)'}" for i in t.inputs)
        lines.append(f"- {name}: {t.description}. ({ins}) -> {', '.join(t.output_kinds)}")
    return "\n".join(lines)


def plan_messages(
    request: str,
    history: Sequence[tuple[str, str]],
    offered: Collection[str],
    demos: Sequence[Demo],
    max_tasks: int,
) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": PLAN_SYSTEM.format(max_tasks=max_tasks, task_lines=task_lines(offered))}
    ]
    for demo in demos:
        messages.append({"role": "user", "content": demo.request})
        messages.append({"role": "assistant", "content": demo.plan_json(max_arg_chars=DEMO_ARG_CHARS)})
    if history:
        context = "\n".join(f"{role}: {text}" for role, text in history)
        messages.append(
            {"role": "user", "content": f"Earlier in this conversation:\n{context}\n\nRequest: {request}"}
        )
    else:
        messages.append({"role": "user", "content": request})
    return messages


def plan_schema(offered: Collection[str], max_tasks: int) -> dict[str, Any]:
    """JSON schema of a plan, bounded so that constrained decoding cannot loop on arrays."""
    return {
        "title": "plan",
        "type": "object",
        "properties": {
            "tasks": {
                "type": "array",
                "maxItems": max_tasks,
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer", "minimum": 0, "maximum": max_tasks - 1},
                        "task": {"type": "string", "enum": sorted(offered)},
                        "dep": {"type": "array", "items": {"type": "integer"}, "maxItems": max_tasks},
                        "args": {
                            "type": "object",
                            # An argument is a short literal or a reference; long text belongs in the
                            # request, not copied token by token (small models loop inside strings).
                            "additionalProperties": {"type": "string", "maxLength": ARG_MAX_CHARS},
                            "maxProperties": 4,
                        },
                    },
                    "required": ["id", "task", "dep", "args"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["tasks"],
        "additionalProperties": False,
    }


def select_messages(
    request: str, task: dict[str, Any], candidates: Sequence[ModelSpec]
) -> list[dict[str, Any]]:
    lines = []
    for m in candidates:
        desc = " ".join(m.description.split())[:240]
        tags = ", ".join(m.tags[:8])
        lines.append(
            f'- id: "{m.id}"; likes: {m.likes}; downloads: {m.downloads}; tags: {tags}; about: {desc}'
        )
    user = (
        f"User request: {request}\n\nTask: {json.dumps(task, ensure_ascii=False)}\n\n"
        f"Candidate models:\n" + "\n".join(lines)
    )
    return [{"role": "system", "content": SELECT_SYSTEM}, {"role": "user", "content": user}]


def select_schema(candidate_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "title": "model_choice",
        "type": "object",
        "properties": {
            "id": {"type": "string", "enum": list(candidate_ids)},
            "reason": {"type": "string", "maxLength": 300},
        },
        "required": ["id", "reason"],
        "additionalProperties": False,
    }


def respond_messages(request: str, report: list[dict[str, Any]]) -> list[dict[str, Any]]:
    user = (
        f"User request: {request}\n\nWhat the experts did (JSON):\n"
        f"{json.dumps(report, ensure_ascii=False, indent=1)}\n\nWrite the answer."
    )
    return [{"role": "system", "content": RESPOND_SYSTEM}, {"role": "user", "content": user}]


def chat_messages(request: str, history: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": CHAT_SYSTEM}]
    for role, text in history:
        messages.append({"role": "assistant" if role == "assistant" else "user", "content": text})
    messages.append({"role": "user", "content": request})
    return messages
