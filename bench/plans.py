"""TaskBench gold plans as executable plans, with the critical path that bounds how fast each can run."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.plan_parser import plan_from_data
from controller.schema import Plan, PlanError

TASKBENCH_HF = Path(__file__).resolve().parents[1].parent / "shared" / "taskbench" / "huggingface"
GOLD_FILE = TASKBENCH_HF / "data.sample.jsonl"
SHAPES = ("single", "chain", "dag")


@dataclass(frozen=True)
class GoldPlan:
    id: str
    shape: str  # TaskBench's type: single, chain or dag
    plan: Plan

    @property
    def n_tasks(self) -> int:
        return len(self.plan.tasks)

    @property
    def depth(self) -> int:
        return critical_path_length(self.plan)

    def body(self) -> list[dict[str, Any]]:
        """The tasks as /v1/plans/execute takes them (JARVIS's shape, references canonical)."""
        return [t.model_dump() for t in self.plan.tasks]


@dataclass
class Conversion:
    plans: list[GoldPlan] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # first reason -> records

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())


def critical_path_length(plan: Plan) -> int:
    """Tasks on the longest dependency chain: with every task taking L seconds, no schedule beats depth × L."""
    deps = {t.id: t.dep for t in plan.tasks}
    memo: dict[int, int] = {}

    def depth(task_id: int) -> int:
        if task_id not in memo:
            memo[task_id] = 1 + max((depth(d) for d in deps[task_id]), default=0)
        return memo[task_id]

    return max((depth(t) for t in deps), default=0)


def convert(records: Iterable[dict[str, Any]], offered: Collection[str], max_tasks: int = 10) -> Conversion:
    """Each record's task_nodes through the controller's own parser; records it rejects are counted, not fixed."""
    out = Conversion()
    for record in records:
        try:
            plan = plan_from_data({"task_nodes": record["task_nodes"]}, offered, max_tasks)
        except PlanError as e:
            out.skipped[e.reasons[0].split(";")[0][:80]] += 1
            continue
        except (KeyError, TypeError, ValueError) as e:  # a parser bug on a malformed record: count it
            out.skipped[f"parser error: {type(e).__name__}"] += 1
            continue
        if not plan.tasks:
            out.skipped["no tasks"] += 1
            continue
        out.plans.append(GoldPlan(id=str(record["id"]), shape=str(record.get("type", "?")), plan=plan))
    return out


def load_gold(path: Path = GOLD_FILE) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stratified(plans: Sequence[GoldPlan], per_shape: int) -> list[GoldPlan]:
    """Up to ``per_shape`` plans of each shape, spread evenly over the file (deterministic)."""
    chosen: list[GoldPlan] = []
    for shape in SHAPES:
        group = [p for p in plans if p.shape == shape]
        if len(group) <= per_shape:
            chosen += group
        else:
            step = len(group) / per_shape
            chosen += [group[int(i * step)] for i in range(per_shape)]
    return chosen
