"""The planner's training examples: TaskBench gold plans from ``../shared`` (each with both of its
phrasings: the record's instruction and the user request TaskBench wrote for it) and the hand-written
everyday requests in ``training/data``. The project's dev split never enters: asserted, not assumed."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from controller.plan_parser import plan_from_data
from controller.schema import PlanError
from controller.trained_planner.model import CHAT
from evaluation.taskbench import DEFAULT_SOURCE, MAX_TASKS, convert_all, load_dev, load_raw, normalise_nodes
from experts.tasks import TASK_TYPES

EVERYDAY_FILE = Path(__file__).parent / "data" / "everyday_train.jsonl"
TASKBENCH_FILES = ("data.sample.jsonl", "data.train.jsonl")


@dataclass
class Example:
    text: str  # the user's last message
    labels: set[str]  # task types of the gold plan, or {CHAT}
    group: str  # examples of one group stay in one cross-validation fold
    source: str  # "taskbench", "taskbench-alt", "everyday" or "synthetic"
    plan: list[dict] = field(default_factory=list)  # gold tasks in our schema (empty for chat)
    history: list[tuple[str, str]] = field(default_factory=list)


def _text_key(text: str) -> str:
    return " ".join(text.lower().split())


def taskbench_examples(source: Path = DEFAULT_SOURCE) -> list[Example]:
    source = source.resolve()
    raws = [r for name in TASKBENCH_FILES for r in load_raw(source / name)]
    records, _ = convert_all(raws)
    dev = load_dev()
    dev_ids = {r.id for r in dev}
    dev_texts = {_text_key(r.request) for r in dev}
    alt = {}
    requests_file = source / "user_requests.jsonl"
    if requests_file.is_file():
        for line in requests_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                alt[str(row["id"])] = row["user_request"]
    out: list[Example] = []
    for r in records:
        if r.id in dev_ids or _text_key(r.request) in dev_texts:
            continue
        plan = [t.model_dump() for t in r.tasks]
        labels = {t.task for t in r.tasks}
        out.append(Example(r.request, labels, r.id, "taskbench", plan))
        if (text := alt.get(r.id)) and _text_key(text) not in dev_texts:
            out.append(Example(text, labels, r.id, "taskbench-alt", plan))
    assert_no_dev(out)
    return out


_STEP_PREFIX = re.compile(r"^\s*step\s*\d+\s*[:.)-]\s*", re.I)


def taskbench_steps(source: Path = DEFAULT_SOURCE) -> list[tuple[str, str, str]]:
    """(group, step text, task type) for every gold step that names one task: TaskBench writes one
    ``task_steps`` line per task node, a short paraphrase of the part of the request that asks for it.
    The clause model learns from these where in a request each task is asked for."""
    source = source.resolve()
    dev_ids = {r.id for r in load_dev()}
    out: list[tuple[str, str, str]] = []
    for raw in (r for name in TASKBENCH_FILES for r in load_raw(source / name)):
        steps = raw.get("task_steps")
        if str(raw["id"]) in dev_ids or not isinstance(steps, list):
            continue
        try:
            nodes, _ = normalise_nodes(raw)
            tasks = plan_from_data({"task_nodes": nodes}, TASK_TYPES, MAX_TASKS).tasks
        except PlanError:
            continue
        if len(steps) == len(tasks):  # misaligned records say nothing reliable about which step is which
            out.extend(
                (str(raw["id"]), _STEP_PREFIX.sub("", str(s)), t.task)
                for s, t in zip(steps, tasks, strict=True)
            )
    return out


def everyday_examples(path: Path = EVERYDAY_FILE) -> list[Example]:
    """Plan and chat lines; "ask" lines (an input is missing) are the rules' job, not the model's."""
    out: list[Example] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["expect"] == "ask":
            continue
        msgs = row["messages"]
        history = [(m["role"], m["content"]) for m in msgs[:-1]]
        labels = {t["task"] for t in row["tasks"]} or {CHAT}
        out.append(
            Example(msgs[-1]["content"], labels, "everyday:" + row["id"], "everyday", row["tasks"], history)
        )
    return out


def assert_no_dev(examples: list[Example]) -> None:
    dev = load_dev()
    dev_ids = {r.id for r in dev}
    dev_texts = {_text_key(r.request) for r in dev}
    leaked = [e.group for e in examples if e.group in dev_ids or _text_key(e.text) in dev_texts]
    if leaked:
        raise AssertionError(f"dev records in the planner's training data: {leaked[:10]}")


def fingerprint(examples: list[Example], steps: list[tuple[str, str, str]]) -> str:
    """Changes whenever a training text, its labels or a gold step change."""
    digest = hashlib.sha256()
    for e in examples:
        digest.update(json.dumps([e.text, sorted(e.labels), e.source], ensure_ascii=False).encode() + b"\n")
    for step in steps:
        digest.update(json.dumps(step, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def all_examples(source: Path = DEFAULT_SOURCE) -> list[Example]:
    from training.synthetic import synthetic_examples

    return taskbench_examples(source) + everyday_examples() + synthetic_examples()
