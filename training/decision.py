"""The decision model: which task types a plan has, learned from what the node and clause models say about
each label on requests they were not trained on (their out-of-fold predictions in grouped CV), so it learns
how far to trust them, e.g. that a long request with five clauses asks for more tasks than a short one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from controller.trained_planner.model import CHAT, STACK_FEATURES, PlannerModel, stack_features
from controller.trained_planner.structure import clauses
from training.data import Example

DECISION_C = (
    1.0  # C=0.1 and 1 scored alike in grouped CV (task-set F1 80.0 / 80.1); more features did not help
)
LEARNS_FROM = ("taskbench", "taskbench-alt", "everyday")  # real requests; the synthetic ones are templates


def decision_rows(
    model: PlannerModel,
    examples: Sequence[Example],
    vectors: Sequence[np.ndarray],
    tuned: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """(n, L, STACK_FEATURES) features and (n, L) gold labels of ``examples`` under ``model``, with ``tuned``
    the fine-tuned detector's (1 + clauses, L) probabilities for each (the request, then its clauses)."""
    chat = model.labels.index(CHAT)
    xs, ys = [], []
    for e, v, t in zip(examples, vectors, tuned, strict=True):
        probs = model.probabilities(model.features([e.text], v[:1]))[0]
        evidence = model.clause_log_probs([c for _, c in clauses(e.text)], v[1:])
        xs.append(stack_features(probs, evidence, len(e.text.split()), chat, t))
        ys.append([label in e.labels for label in model.labels])
    empty = (np.zeros((0, len(model.labels), STACK_FEATURES)), np.zeros((0, len(model.labels)), dtype=bool))
    return (np.stack(xs), np.array(ys)) if xs else empty


def fit_decision(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coef (L, STACK_FEATURES), intercept (L,)): one logistic regression per label; a label with too few
    examples is never chosen by it."""
    from sklearn.linear_model import LogisticRegression

    n_labels = y.shape[1]
    coef = np.zeros((n_labels, STACK_FEATURES), dtype=np.float32)
    intercept = np.full(n_labels, -10.0, dtype=np.float32)
    for j in range(n_labels):
        if y[:, j].sum() < 3 or (~y[:, j]).sum() < 3:
            continue
        clf = LogisticRegression(C=DECISION_C, max_iter=3000).fit(x[:, j], y[:, j])
        coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
    return coef, intercept
