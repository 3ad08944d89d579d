"""Train the planner's model from ``../shared`` TaskBench gold plans and the everyday requests, choose
its settings by cross-validation on the training data only, and write the committed artifact.

    python -m training.train_planner            # CV report, then the artifact (about 50 minutes, 2 cores)

Grouped 5-fold cross-validation (both phrasings of one TaskBench record stay in one fold) does two jobs: the
fold models' predictions on their held-out folds (the fine-tuned detector's among them: it is fine-tuned
once per fold, ``training.tune_detector``) train the decision model (``training.decision``), and the
decision thresholds are chosen by the held-out scores (``training.thresholds``). The project's dev split is
never read for training or for choosing (asserted in ``training.data``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from controller.trained_planner.arguments import read_given
from controller.trained_planner.cues import cue_vector
from controller.trained_planner.decode import locate
from controller.trained_planner.model import (
    ARTIFACT,
    CHAT,
    STACK_FEATURES,
    PlannerModel,
    embedding_texts,
    ngrams,
    normalize,
)
from controller.trained_planner.structure import GAPS, PAIR_FEATURES, clauses, pair_features
from controller.trained_planner.tuned import TunedDetector
from experts.tasks import TASK_TYPES
from training.data import Example, all_examples, fingerprint, taskbench_steps
from training.decision import LEARNS_FROM, decision_rows, fit_decision
from training.thresholds import score, tune_per_type
from training.tune_detector import AVERAGED_EPOCHS, EPOCHS, LAYERS, DetectorTrainer

CACHE = Path(".cache") / "planner-embeddings.npz"
CLAUSE_C = 8.0  # the clause model's regularisation (chosen on gold-node ordering in grouped CV)
EVERYDAY_WEIGHT = 6.0  # the everyday lines are few next to TaskBench's long requests
# The detector also learns from TaskBench's gold steps (one task's words each), at this weight: grouped CV
# on the same folds and seeds, node F1 83.2 -> 83.5, edge F1 50.3 -> 51.3 (it reads every clause too).
STEP_WEIGHT = 0.5
NODE_C = 16.0  # C=4 lost to 16 on every setting in earlier runs (reports/train-planner.json history)
THRESHOLD_GRID = (0.3, 0.35, 0.4, 0.45, 0.5)  # on the decision model's probability
LABELS = [*TASK_TYPES, CHAT]  # the model's labels: the node model's rows and the detector's head alike


def log(msg: str) -> None:
    print(f"[train-planner {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def embed(texts: Sequence[str]) -> tuple[np.ndarray, str]:
    """MiniLM embeddings, cached on disk by text (re-runs skip the 2 minutes of encoding)."""
    from experts.embeddings import default_embedder

    embedder = default_embedder()
    keys = [hashlib.sha256(t.encode()).hexdigest()[:24] for t in texts]
    cached: dict[str, np.ndarray] = {}
    if CACHE.is_file():
        with np.load(CACHE) as z:
            cached = dict(zip(z["keys"].tolist(), z["vectors"], strict=True))
    todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cached}.items())
    if todo:
        log(f"embedding {len(todo)} texts with {embedder.name} ...")
        for start in range(0, len(todo), 256):
            part = todo[start : start + 256]
            for (k, _), v in zip(part, embedder.embed([t for _, t in part]), strict=True):
                cached[k] = v
            log(f"  {min(start + 256, len(todo))}/{len(todo)}")
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        np.savez(CACHE, keys=np.array(list(cached)), vectors=np.stack(list(cached.values())))
    return np.stack([cached[k] for k in keys]).astype(np.float32), embedder.name


def order_prior(examples: Sequence[Example], labels: list[str]) -> np.ndarray:
    """Smoothed log-odds that task i comes before task j when a gold plan has both."""
    count: Counter[tuple[str, str]] = Counter()
    seen_groups: set[str] = set()
    for e in examples:
        if e.group in seen_groups or not e.plan:
            continue
        seen_groups.add(e.group)
        names = [t["task"] for t in e.plan]
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if a != b:
                    count[(a, b)] += 1
    n = len(labels)
    prior = np.zeros((n, n), dtype=np.float32)
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            if a != b:
                prior[i, j] = np.log((count[(a, b)] + 1) / (count[(b, a)] + 1))
    return prior


Step = tuple[str, str, str]  # (group, text, task type): training.data.taskbench_steps


def link_rates(examples: Sequence[Example], labels: list[str]) -> np.ndarray:
    """(L, L, GAPS): of the gold plans where task a comes ``gap`` places before task b, the share in which
    a's output feeds b, smoothed toward chains (next task: 0.7, farther: 0.1)."""
    links = np.zeros((len(labels), len(labels), GAPS))
    pairs = np.zeros_like(links)
    seen: set[str] = set()
    for e in examples:
        if e.group in seen or e.source == "synthetic" or len(e.plan) < 2:
            continue
        seen.add(e.group)
        names = [labels.index(t["task"]) for t in e.plan]
        for y, t in enumerate(e.plan):
            for x in range(y):
                gap = min(y - x, GAPS) - 1
                pairs[names[x], names[y], gap] += 1
                links[names[x], names[y], gap] += x in t.get("dep", [])
    base = np.array([0.7] + [0.1] * (GAPS - 1))
    return ((links + 0.5 * base) / (pairs + 0.5)).astype(np.float32)


def fit(
    examples: Sequence[Example],
    vectors: Sequence[np.ndarray],
    steps: Sequence[Step],
    step_vectors: np.ndarray,
    embedding_model: str,
    tuned: TunedDetector,
    c: float = NODE_C,
) -> PlannerModel:
    """The node, clause and order models; the decision model is fitted afterwards on out-of-fold rows
    (``training.decision.fit_decision``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    labels = list(LABELS)  # the model's own copy
    vectorizer = TfidfVectorizer(analyzer=ngrams, sublinear_tf=True, min_df=2)
    texts = [normalize(e.text) for e in examples]
    x_words = vectorizer.fit_transform(texts)
    from scipy.sparse import csr_matrix, hstack

    cues = np.stack([cue_vector(t) for t in texts])
    requests = np.stack([v[0] for v in vectors])
    x = hstack([x_words, csr_matrix(requests), csr_matrix(cues)]).tocsr()
    weights = np.array([EVERYDAY_WEIGHT if e.source == "everyday" else 1.0 for e in examples])
    coef = np.zeros((len(labels), x.shape[1]), dtype=np.float32)
    intercept = np.full(len(labels), -10.0, dtype=np.float32)  # a label never seen is never predicted
    for i, label in enumerate(labels):
        y = np.array([label in e.labels for e in examples])
        if y.sum() < 2:
            continue
        clf = LogisticRegression(C=c, max_iter=3000).fit(x, y, sample_weight=weights)
        coef[i], intercept[i] = clf.coef_[0], clf.intercept_[0]
    model = PlannerModel(
        labels=labels,
        vocab={t: int(i) for t, i in vectorizer.vocabulary_.items()},
        idf=vectorizer.idf_.astype(np.float32),
        coef=coef,
        intercept=intercept,
        thresholds=np.full(len(labels), 0.5, dtype=np.float32),
        order_prior=order_prior(examples, labels),
        order_coef=np.zeros(PAIR_FEATURES, dtype=np.float32),
        step_coef=np.zeros((len(labels), len(vectorizer.vocabulary_) + requests.shape[1]), dtype=np.float32),
        step_intercept=np.full(len(labels), -30.0, dtype=np.float32),
        link_rate=link_rates(examples, labels),
        stack_coef=np.zeros((len(labels), STACK_FEATURES), dtype=np.float32),
        stack_intercept=np.zeros(len(labels), dtype=np.float32),
        tuned=tuned,
        embedding_model=embedding_model,
        meta={},
    )
    fit_clause_model(model, examples, requests, steps, step_vectors)
    model.order_coef = fit_order(model, examples, vectors)
    return model


def fit_clause_model(
    model: PlannerModel,
    examples: Sequence[Example],
    requests: np.ndarray,
    steps: Sequence[Step],
    step_vectors: np.ndarray,
) -> None:
    """Softmax over task types from one task's words: TaskBench's gold steps and every one-task request
    of the training examples (which are one task's words too, in users' phrasing)."""
    from sklearn.linear_model import LogisticRegression

    keep = steps_of(examples, steps)
    single = [k for k, e in enumerate(examples) if len(e.labels) == 1 and CHAT not in e.labels]
    texts = [steps[k][1] for k in keep] + [examples[k].text for k in single]
    x = np.hstack(
        [model.tfidf([normalize(t) for t in texts]), np.vstack([step_vectors[keep], requests[single]])]
    )
    y = [steps[k][2] for k in keep] + [next(iter(examples[k].labels)) for k in single]
    clf = LogisticRegression(C=CLAUSE_C, max_iter=3000).fit(x, y)
    for row, task in enumerate(clf.classes_):
        i = model.labels.index(task)
        model.step_coef[i], model.step_intercept[i] = clf.coef_[row], clf.intercept_[row]


def fit_order(model: PlannerModel, examples: Sequence[Example], vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The task-order model: for every two tasks of a gold plan, does the first come before the second."""
    from sklearn.linear_model import LogisticRegression

    rows, ys = [], []
    for e, v in zip(examples, vectors, strict=True):
        names = list(dict.fromkeys(t["task"] for t in e.plan))
        if len(names) < 2:
            continue
        pieces = clauses(e.text)
        # Placed by the clause model alone: the detector's reading of each clause joins at run time only
        # (on its own training requests it would be overconfident).
        evidence = model.clause_log_probs([c for _, c in pieces], v[1:])
        layout = locate(model, pieces, evidence, names, read_given(e.text, e.history))
        for p, a in enumerate(names):
            for q, b in enumerate(names):
                if p != q:
                    prior = float(model.order_prior[model.labels.index(a), model.labels.index(b)])
                    rows.append(pair_features(a, b, layout, prior))
                    ys.append(p < q)
    clf = LogisticRegression(C=1.0, max_iter=2000, fit_intercept=False).fit(np.stack(rows), np.array(ys))
    return clf.coef_[0].astype(np.float32)


def label_matrix(examples: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
    """(n, L) multi-hot labels over ``LABELS`` and (n,) sample weights, for the detector."""
    y = np.array([[label in e.labels for label in LABELS] for e in examples], dtype=np.float32)
    return y, np.array([EVERYDAY_WEIGHT if e.source == "everyday" else 1.0 for e in examples])


def steps_of(examples: Sequence[Example], steps: Sequence[Step]) -> list[int]:
    """Indices of the gold steps that belong to ``examples``' TaskBench records (a held-out record's stay out)."""
    groups = {e.group for e in examples}
    return [k for k, (group, _, _) in enumerate(steps) if group in groups]


def detector_rows(
    examples: Sequence[Example], rows: Sequence[int], steps: Sequence[Step], bounds: np.ndarray
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The detector's training set for ``examples[rows]``: (trainer text indices, multi-hot labels, weights)
    of those requests and of the gold steps of their TaskBench records (held-out records' steps stay out).
    The trainer's texts are every example's embedding texts, then every step's (from ``bounds[-1]``)."""
    chosen = [examples[i] for i in rows]
    y, weights = label_matrix(chosen)
    kept = steps_of(chosen, steps)
    step_y = np.array([[label == steps[k][2] for label in LABELS] for k in kept], dtype=np.float32)
    texts = [int(bounds[i]) for i in rows] + [int(bounds[-1]) + k for k in kept]
    return (
        texts,
        np.vstack([y, step_y.reshape(-1, len(LABELS))]),
        np.concatenate([weights, np.full(len(kept), STEP_WEIGHT)]),
    )


def cross_validate(
    examples: list[Example],
    vectors: list[np.ndarray],
    steps: list[Step],
    step_vectors: np.ndarray,
    name: str,
    trainer: DetectorTrainer,
    bounds: np.ndarray,
) -> tuple[dict[str, dict[str, float]], np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(held-out scores per threshold, the thresholds chosen (one per task type, ``training.thresholds``), the
    out-of-fold decision rows of every real request). Each fold's decision model learns from the other folds'
    rows only, so its scores are honest (the per-type thresholds' are a little optimistic: they are chosen on
    the same held-out plans). ``trainer`` holds every
    example's embedding texts (the request, then its clauses): example i's are ``bounds[i]:bounds[i + 1]``;
    then the gold steps' texts."""
    from sklearn.model_selection import GroupKFold

    groups = [e.group for e in examples]
    folds = list(GroupKFold(5).split(examples, groups=groups))
    models, rows, held_out = [], [], {}
    for k, (train, test) in enumerate(folds):
        tuned = trainer.fit(*detector_rows(examples, train, steps, bounds), seed=k)
        models.append(
            fit(
                [examples[i] for i in train],
                [vectors[i] for i in train],
                steps,
                step_vectors,
                name,
                trainer.detector(tuned),
            )
        )
        # The held-out fold's requests and clauses, read by this fold's detector.
        held = [i for i in test if examples[i].source in LEARNS_FROM]
        texts = [j for i in held for j in range(bounds[i], bounds[i + 1])]
        ends = np.cumsum([bounds[i + 1] - bounds[i] for i in held])[:-1]
        held_out.update(zip(held, np.split(trainer.predict(tuned, texts), ends), strict=True))
        rows.append(
            decision_rows(
                models[-1],
                [examples[i] for i in held],
                [vectors[i] for i in held],
                [held_out[i] for i in held],
            )
        )
        log(f"  fold {k + 1}/5 fitted")
    for k, model in enumerate(models):
        others = [r for j, r in enumerate(rows) if j != k]
        model.stack_coef, model.stack_intercept = fit_decision(
            *(np.concatenate(p) for p in zip(*others, strict=True))
        )

    def held_out_scores() -> dict[str, float]:
        scores = []
        for model, (_, test) in zip(models, folds, strict=True):
            held = [i for i in test if examples[i].source in ("taskbench", "everyday")]
            scores.append(
                score(
                    model,
                    [examples[i] for i in held],
                    [vectors[i] for i in held],
                    [held_out[i] for i in held],
                )
            )
        return {m: float(np.mean([s[m] for s in scores])) for m in ("node_f1", "edge_f1", "everyday")}

    results: dict[str, dict[str, float]] = {}
    for threshold in THRESHOLD_GRID:
        for model in models:
            model.thresholds[:] = threshold
        results[f"threshold={threshold}"] = mean = held_out_scores()
        log(
            f"  threshold={threshold}: node F1 {mean['node_f1']:.3f}, edge F1 {mean['edge_f1']:.3f}, "
            f"everyday exact {mean['everyday']:.3f}"
        )
    best = max(results, key=lambda k: sum(results[k].values()))
    log(f"chosen by cross-validation: {best}; each task type's own threshold next")
    thresholds, results["per_type"] = tune_per_type(models, float(best.split("=")[1]), held_out_scores, log)
    x, y = (np.concatenate(part) for part in zip(*rows, strict=True))
    return results, thresholds, (x, y)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.train_planner", description=__doc__)
    parser.add_argument("--out", type=Path, default=ARTIFACT)
    parser.add_argument("--report", type=Path, default=Path("reports/train-planner.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    examples, steps = all_examples(), taskbench_steps()
    log(f"{len(examples)} examples: {dict(Counter(e.source for e in examples))}, {len(steps)} gold steps")
    # One embedding batch per request as the planner makes it: the request, then each clause.
    per_example = [embedding_texts(e.text) for e in examples]
    flat, name = embed([t for texts in per_example for t in texts])
    bounds = np.cumsum([0] + [len(texts) for texts in per_example])
    vectors = [flat[a:b] for a, b in pairwise(bounds)]
    step_vectors, _ = embed([normalize(text) for _, text, _ in steps])
    trainer = DetectorTrainer([t for texts in per_example for t in texts] + [text for _, text, _ in steps])
    cv, thresholds, (x, y) = cross_validate(examples, vectors, steps, step_vectors, name, trainer, bounds)
    everything = detector_rows(examples, list(range(len(examples))), steps, bounds)
    tuned = trainer.detector(trainer.fit(*everything, seed=5))
    model = fit(examples, vectors, steps, step_vectors, name, tuned)
    model.stack_coef, model.stack_intercept = fit_decision(x, y)
    model.thresholds[:] = thresholds
    model.meta = {
        "fingerprint": fingerprint(examples, steps),
        "examples": dict(Counter(e.source for e in examples)),
        "C": NODE_C,
        "thresholds": {label: round(float(t), 2) for label, t in zip(model.labels, thresholds, strict=True)},
        "decision_rows": len(x),
        "detector": {
            "layers": LAYERS,
            "epochs": EPOCHS,
            "averaged_epochs": AVERAGED_EPOCHS,
            "step_weight": STEP_WEIGHT,
        },
        "cross_validation": cv,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(model.meta, indent=1) + "\n")
    size = args.out.stat().st_size / 1e6
    log(f"wrote {args.out} ({size:.1f} MB) in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
