"""The decision thresholds, chosen on the cross-validation's fold models: first one threshold for every task
type (the grid), then each type's own, moved a step up or down where the held-out plans gain.

Per-type steps, tuned on four folds and scored on the fifth (the five fold models of 2026-12-03, every fold
in turn): node F1 84.67 -> 84.80, edge F1 54.02 -> 54.45 (each fold gained 0.2-0.6), everyday exact
86.9 -> 86.7 %. The folds agreed on most moves: token classification, sentence similarity and visual question
answering down to 0.4, image segmentation, document question answering and speech recognition up to 0.6.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from controller.schema import Task
from controller.trained_planner.decode import decide
from controller.trained_planner.model import CHAT, PlannerModel
from evaluation.scores import edge_set, micro_prf, node_set
from experts.tasks import TASK_TYPES
from training.data import Example

STEP = 0.1  # a type's threshold moves this far from the grid's choice, at most once each way
MIN_GAIN = 0.0005  # of ``objective``: smaller gains are noise on ~1,900 held-out requests
Scores = dict[str, float]


def objective(scores: Scores) -> float:
    """What a threshold change must raise: node and edge F1, and the everyday lines at half weight (80 lines
    against ~1,450 TaskBench requests; the grid's sum weighs them fully)."""
    return scores["node_f1"] + scores["edge_f1"] + 0.5 * scores["everyday"]


def score(
    model: PlannerModel,
    examples: Sequence[Example],
    vectors: Sequence[np.ndarray],
    tuned: Sequence[np.ndarray],
) -> Scores:
    """TaskBench node / edge F1 of full decoded plans on TaskBench instructions (as the benchmark judges),
    and the share of everyday requests whose task set is exactly right (every task type offered); ``tuned``:
    per example, the fine-tuned detector's (1 + clauses, L) probabilities, as the planner computes them."""
    offered = set(TASK_TYPES)
    pairs_n, pairs_e, everyday = [], [], []
    for e, v, t in zip(examples, vectors, tuned, strict=True):
        predicted = decide(model, e.text, e.history, v, t, offered).tasks
        if e.source == "everyday":
            everyday.append(node_set(predicted) == ({t["task"] for t in e.plan}))
        elif e.source == "taskbench":
            gold = [Task.model_validate(t) for t in e.plan]
            pairs_n.append((node_set(gold), node_set(predicted)))
            pairs_e.append((edge_set(gold), edge_set(predicted)))
    return {
        "node_f1": micro_prf(pairs_n).f1 or 0.0,
        "edge_f1": micro_prf(pairs_e).f1 or 0.0,
        "everyday": sum(everyday) / max(len(everyday), 1),
    }


def tune_per_type(
    models: Sequence[PlannerModel],
    start: float,
    held_out_scores: Callable[[], Scores],
    log: Callable[[str], None],
) -> tuple[np.ndarray, Scores]:
    """(thresholds (L,), their held-out scores): from ``start`` for every type, each type's threshold in turn
    moved by ``STEP`` either way where ``objective`` of ``held_out_scores()`` (the fold models scored on their
    held-out folds under the thresholds set on them) gains more than ``MIN_GAIN``."""
    labels = models[0].labels
    thresholds = np.full(len(labels), start, dtype=np.float32)

    def run(trial: np.ndarray) -> Scores:
        for model in models:
            model.thresholds[:] = trial
        return held_out_scores()

    best = run(thresholds)
    for j, label in enumerate(labels):
        if label == CHAT:
            continue
        for value in (start - STEP, start + STEP):
            trial = thresholds.copy()
            trial[j] = value
            scores = run(trial)
            if objective(scores) > objective(best) + MIN_GAIN:
                best, thresholds = scores, trial
                log(
                    f"  {label}: threshold {value:.2f} (node F1 {scores['node_f1']:.3f}, edge F1 "
                    f"{scores['edge_f1']:.3f}, everyday exact {scores['everyday']:.3f})"
                )
    return thresholds, best
