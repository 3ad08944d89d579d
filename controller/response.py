"""Stage 4: the LLM writes the answer from the request, the plan, the selections and the results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from controller.llm import LLMClient
from controller.prompts import respond_messages
from controller.schema import Selection, StageUsage, Task, TaskResult, refs_in
from experts.tasks import MEDIA_KINDS

_TEXT_LIMIT = 1500  # per output field shown to the LLM; the full text stays in the results


def report(
    tasks: Sequence[Task], selections: Sequence[Selection], results: Sequence[TaskResult]
) -> list[dict]:
    """What the LLM sees of the work: compact, media as URLs, long texts clipped."""
    chosen = {s.task_id: s for s in selections}
    by_id = {r.task_id: r for r in results}
    out: list[dict[str, Any]] = []
    for t in tasks:
        r = by_id.get(t.id)
        s = chosen.get(t.id)
        entry: dict[str, Any] = {"id": t.id, "task": t.task, "args": t.args}
        if s:
            entry["model"] = s.model_id
            entry["why_this_model"] = s.reason
        if r:
            entry["status"] = r.status
            if r.ran_on and r.ran_on != "local":  # remote / hybrid inference: say where it ran
                entry["ran_on"] = r.ran_on
            if r.fallback:
                entry["fallback"] = r.fallback
            if r.error:
                entry["error"] = r.error
            if r.outputs:
                entry["outputs"] = {k: _clip(v) for k, v in r.outputs.items()}
        out.append(entry)
    return out


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _TEXT_LIMIT:
        return value[:_TEXT_LIMIT] + f"… [{len(value) - _TEXT_LIMIT} more characters]"
    if isinstance(value, list) and len(value) > 20:
        return [*value[:20], f"… {len(value) - 20} more"]
    return value


async def stream_answer(
    llm: LLMClient, request: str, work: list[dict[str, Any]], usage: StageUsage
) -> AsyncIterator[str]:
    async for delta in llm.stream(respond_messages(request, work), usage, max_tokens=1024):
        yield delta


def fallback_answer(results: Sequence[TaskResult], why: str) -> str:
    """An answer made without the LLM, so that nothing the experts produced is lost."""
    lines = [
        f"The answer could not be written by the language model ({why}). Here is what the experts produced:"
    ]
    for r in results:
        head = f"- task {r.task_id} ({r.task}, {r.model_id or 'no model'}): {r.status}"
        if r.error:
            head += f" — {r.error}"
        lines.append(head)
        if r.outputs.get("text"):
            lines.append(f"  text: {_clip(r.outputs['text'])}")
        for kind in MEDIA_KINDS:
            if kind != "text" and isinstance(r.outputs.get(kind), str):
                lines.append(f"  {kind}: {r.outputs[kind]}")
    return "\n".join(lines)


_GROUNDED_TEXT_LIMIT = 2000  # characters of one text output quoted in a grounded answer
_LABEL_LIMIT = 80


def _labels(tasks: Sequence[Task]) -> dict[int, str]:
    """{task id: what sets it apart} for each task whose type the plan runs more than once: three
    translations read "into Japanese", "into Korean", ...; two questions about one picture, each question;
    the same task on two files, each file's name. None where that would not tell them apart."""
    out: dict[int, str] = {}
    for name in {t.task for t in tasks}:
        same = [t for t in tasks if t.task == name]
        if len(same) < 2:
            continue
        said = {t.id: _what_sets_apart(t) for t in same}
        if all(said.values()) and len(set(said.values())) == len(same):
            out.update({i: label for i, label in said.items() if label})
    return out


def _what_sets_apart(task: Task) -> str | None:
    args = {k: v for k, v in task.args.items() if isinstance(v, str) and not refs_in(v)}
    if task.task == "translation" and "target_language" in args:
        label = f"into {args['target_language']}"
    elif "text2" in args:  # "Which is closer to 'I love dogs': 'I adore puppies' or 'I hate cats'?"
        label = f"“{args.get('text', '…')}” and “{args['text2']}”"
    elif (question := args.get("text")) and "question" in task.task:
        label = f"“{question}”"
    elif files := [v for k, v in args.items() if k in MEDIA_KINDS and k != "text"]:
        label = files[0].rsplit("/", 1)[-1]
    elif text := args.get("text"):
        label = f"“{text}”"
    else:
        return None
    label = " ".join(label.replace(":", " -").split())  # one line; a colon would end the head
    return label if len(label) <= _LABEL_LIMIT else label[: _LABEL_LIMIT - 2] + "…”"


def grounded_answer(
    tasks: Sequence[Task], selections: Sequence[Selection], results: Sequence[TaskResult]
) -> str:
    """The answer without an LLM: what each task produced, verbatim (long texts cut), every artifact as a
    markdown link, and each failed or skipped task with its reason. Nothing is added that no expert said."""
    chosen = {s.task_id: s for s in selections}
    by_id = {r.task_id: r for r in results}
    labels = _labels(tasks)
    lines: list[str] = []
    for t in tasks:
        r = by_id.get(t.id)
        name = t.task.replace("-", " ")
        model = (r and r.model_id) or (chosen[t.id].model_id if t.id in chosen else None)
        if model and r and r.ran_on and r.ran_on != "local":  # a local run reads as before
            model = f"{model}, {r.ran_on}"
        head = (
            f"**{name}**"
            + (f" ({model})" if model else "")
            + (f" — {labels[t.id]}" if t.id in labels else "")
        )
        if r is None:
            lines.append(f"- {head}: did not run.")
            continue
        if r.status != "ok":
            reason = r.error or r.status
            lines.append(f"- {head}: {'skipped' if r.status == 'skipped' else 'failed'} — {reason}")
            continue
        parts = []
        text = r.outputs.get("text")
        if isinstance(text, str) and text.strip():
            clipped = text.strip()
            if len(clipped) > _GROUNDED_TEXT_LIMIT:
                clipped = (
                    clipped[:_GROUNDED_TEXT_LIMIT] + f"… ({len(text) - _GROUNDED_TEXT_LIMIT} more characters)"
                )
            parts.append(clipped)
        for kind in MEDIA_KINDS:
            url = r.outputs.get(kind)
            if kind != "text" and isinstance(url, str):
                parts.append(f"![{kind}]({url})" if kind == "image" else f"[{kind}]({url})")
        lines.append(f"- {head}: " + ("\n  ".join(parts) if parts else "done, no output."))
    if not lines:
        return "Nothing was run."
    return "\n".join(lines)
