"""TaskBench's planning metrics: node F1 and edge (link) F1.

As in TaskBench's ``evaluate.py``: per sample, the predicted and gold task names are compared as sets
(edges as sets of (source task name, target task name) pairs), and true/false positives and negatives are
pooled over all samples before precision, recall and F1 are computed (micro average). A sample whose
plan could not be parsed counts as an empty prediction, so its gold nodes are all missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from controller.schema import Task

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
