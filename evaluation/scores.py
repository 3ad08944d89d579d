"""TaskBench's planning metrics: node F1, edge (link) F1, and the argument scores t-F1 and v-F1.

As in TaskBench's ``evaluate.py``: per sample, the predicted and gold task names are compared as sets
(edges as sets of (source task name, target task name) pairs), and true/false positives and negatives are
pooled over all samples before precision, recall and F1 are computed (micro average). A sample whose
plan could not be parsed counts as an empty prediction, so its gold nodes are all missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from controller.schema import REF_PATTERN, Task
from experts.tasks import TASK_TYPES

Edge = tuple[str, str]


def node_set(tasks: Sequence[Task]) -> set[str]:
    return {t.task for t in tasks}


def edge_set(tasks: Sequence[Task]) -> set[Edge]:
    by_id = {t.id: t for t in tasks}
    return {(by_id[d].task, t.task) for t in tasks for d in t.dep if d in by_id}


class PRF(BaseModel):
    """Micro precision/recall/F1; ``None`` where undefined (nothing gold and nothing predicted)."""

    precision: float | None
    recall: float | None
    f1: float | None
    true_positives: int
    predicted: int
    gold: int


def micro_prf(pairs: Iterable[tuple[set, set]]) -> PRF:
    """``pairs`` are (gold set, predicted set) per sample."""
    tp = predicted = gold = 0
    for g, p in pairs:
        tp += len(g & p)
        predicted += len(p)
        gold += len(g)
    precision = tp / predicted if predicted else None
    recall = tp / gold if gold else None
    if precision is None and recall is None:
        f1 = None
    elif not precision or not recall:  # no hits, or nothing on one side: sklearn's zero_division=0
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return PRF(precision=precision, recall=recall, f1=f1, true_positives=tp, predicted=predicted, gold=gold)


def _content_kind(value: str) -> str:
    """TaskBench's ``get_content_type``: a literal's kind by the file extension it contains, else text."""
    from controller.trained_planner.arguments import media_kind

    return media_kind(value.strip("'")) or "text"


def argument_sets(tasks: Sequence[Task]) -> tuple[set[str], set[str]]:
    """TaskBench's argument items of a plan: ``task-name`` (t-F1) and ``task-name-value`` (v-F1), where a
    reference to task N is named by the kind it passes and valued by task N's name, and a literal is
    named by its content kind and valued by itself."""
    by_id = {t.id: t for t in tasks}
    names: set[str] = set()
    values: set[str] = set()
    for t in tasks:
        for slot, value in t.args.items():
            for v in value if isinstance(value, list) else [value]:
                text = str(v)
                m = REF_PATTERN.fullmatch(text.strip())
                if m and int(m.group(1)) in by_id:
                    spec = TASK_TYPES.get(t.task)
                    inp = spec.input(slot) if spec else None
                    name, val = (inp.kind if inp else "text"), by_id[int(m.group(1))].task
                else:
                    name, val = _content_kind(text), text
                names.add(f"{t.task}-{name}")
                values.add(f"{t.task}-{name}-{val}")
    return names, values
