"""The trained planner's weights and the features they read.

Node model: one logistic regression per task type (plus ``chat``: the request needs no model) over the
request's TF-IDF word n-grams and its all-MiniLM-L6-v2 sentence embedding. Clause model: a softmax over
task types trained on TaskBench's gold steps (one short paraphrase per task) and on one-task requests,
which says in which clause of a request each task is asked for. Order model: a pairwise model over where
the clause model places two tasks and a prior of task order learned from the gold plans. Decision model: one
small logistic regression per label over what the node and clause models say about it (``stack_features``),
fitted on their out-of-fold predictions, which decides which tasks the plan has; beside them it weighs the
fine-tuned detector (``tuned``: MiniLM's top layers fine-tuned to name the task types). Everything is numpy
arrays in one ``.npz`` with a JSON header that records the training data's fingerprint.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from controller.trained_planner.cues import cue_vector
from controller.trained_planner.tuned import PREFIX, TunedDetector
from experts.minilm import BertConfig

ARTIFACT = Path(__file__).resolve().parents[1] / "data" / "trained_planner.npz"
CHAT = "chat"  # the pseudo-label of a request that needs no model

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def normalize(text: str) -> str:
    """The request as the model reads it: every file name, URL and attachment replaced by the words for
    its kind ("zoo_visit.jpg" -> "image file"), so names never look like task words ("garden_clip.wav")."""
    from controller.trained_planner.arguments import find_media

    out, last = [], 0
    for m in sorted(find_media(text), key=lambda m: m.at):
        start = text.find(m.value, m.at)  # an attachment's URL sits inside its "[attached …]" marker
        out.append(text[last:start])
        out.append(f"{m.kind} file")
        last = start + len(m.value)
    out.append(text[last:])
    return re.sub(r"\[attached (\w+): \w+ file\]", r"attached \1 file", "".join(out))


def embedding_texts(request: str) -> list[str]:
    """What the planner embeds for one request, in one batch: the request, then each of its clauses."""
    from controller.trained_planner.structure import clauses

    return [normalize(request)] + [normalize(c) for _, c in clauses(request)]


def ngrams(text: str) -> list[str]:
    """Unigrams and bigrams: the analyzer used in training and at run time alike."""
    w = words(text)
    return w + [f"{a} {b}" for a, b in pairwise(w)]


STACK_FEATURES = 13


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-5, 1 - 1e-5)
    return np.log(p / (1 - p))


def stack_features(
    probs: np.ndarray, evidence: np.ndarray, n_words: int, chat: int, tuned: np.ndarray
) -> np.ndarray:
    """(L, STACK_FEATURES) per label: the node model's log-odds; the likeliest, second likeliest and summed
    clause probability; how many clauses and words the request has; the label's rank among the tasks; and
    how many tasks either model speaks for; and the fine-tuned detector's log-odds for the whole request
    (``tuned[0]``), its likeliest reading of any one clause (``tuned[1:]``), and how many clauses it reads as
    this task first. Together they say how many tasks a request of this length asks for and whether this one
    is among them (grouped CV of the whole planner: node F1 77.6 -> 79.7, edge F1 39.8 -> 42.5, against a
    fixed threshold plus a clause vote; the detector's clause columns: node 83.4 -> 84.1, edge 51.1 -> 52.5,
    as a step in a long request is often clearer alone than inside the whole)."""
    clause_p = np.exp(evidence) if len(evidence) else np.zeros((1, len(probs)))
    ranked = np.sort(clause_p, axis=0)[::-1]
    second = ranked[1] if len(ranked) > 1 else np.zeros(len(probs))
    n_clauses = np.log(max(len(evidence), 1))
    tasks = probs[:chat]
    rank = np.zeros(len(probs))
    rank[:chat] = (-tasks).argsort().argsort()
    logit = _logit(probs)
    per_clause = tuned[1:] if len(tuned) > 1 else tuned[:1]
    votes = np.bincount(per_clause[:, :chat].argmax(axis=1), minlength=len(probs)).astype(float)
    columns = [
        logit,
        _logit(ranked[0]),
        _logit(second),
        clause_p.sum(axis=0),
        np.full(len(probs), n_clauses),
        np.full(len(probs), np.log(max(n_words, 1))),
        rank,
        n_clauses * logit,
        np.full(len(probs), float((tasks >= 0.4).sum())),
        np.full(len(probs), float((ranked[0][:chat] >= 0.5).sum())),
        _logit(tuned[0]),
        _logit(per_clause.max(axis=0)),
        votes,
    ]
    return np.stack(columns, axis=1)


@dataclass
class PlannerModel:
    labels: list[str]  # task types, then CHAT
    vocab: dict[str, int]
    idf: np.ndarray  # (V,)
    coef: np.ndarray  # (L, V + D + C): TF-IDF weights, embedding weights, cue-phrase weights
    intercept: np.ndarray  # (L,)
    thresholds: np.ndarray  # (L,) decision threshold per label
    order_prior: np.ndarray  # (L, L) log-odds that task i comes before task j in a plan
    order_coef: np.ndarray  # (PAIR_FEATURES,) the task-order model over structure.pair_features
    step_coef: np.ndarray  # (L, V + D) clause model: TF-IDF and embedding weights (the CHAT row unused)
    step_intercept: np.ndarray  # (L,)
    link_rate: np.ndarray  # (L, L, GAPS) how often task i feeds task j placed 1, 2, 3+ after it
    stack_coef: np.ndarray  # (L, STACK_FEATURES) the decision model over ``stack_features``
    stack_intercept: np.ndarray  # (L,)
    tuned: TunedDetector  # MiniLM's top layers and a head over ``labels``, fine-tuned
    embedding_model: str
    meta: dict

    @property
    def task_labels(self) -> list[str]:
        return [label for label in self.labels if label != CHAT]

    def tfidf(self, texts: Sequence[str]) -> np.ndarray:
        """Dense (n, V) sublinear TF-IDF rows, L2-normalised (sklearn's TfidfVectorizer defaults)."""
        out = np.zeros((len(texts), len(self.vocab)), dtype=np.float32)
        for row, text in enumerate(texts):
            counts = Counter(i for g in ngrams(text) if (i := self.vocab.get(g)) is not None)
            for i, c in counts.items():
                out[row, i] = (1.0 + math.log(c)) * self.idf[i]
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
        return out

    def features(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """(n, V + D + C): what the node model reads (texts and embeddings of ``normalize``d requests)."""
        texts = [normalize(t) for t in texts]
        return np.hstack([self.tfidf(texts), embeddings, np.stack([cue_vector(t) for t in texts])])

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n, L) label probabilities."""
        return 1.0 / (1.0 + np.exp(-(features @ self.coef.T + self.intercept)))

    def clause_log_probs(self, clauses: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """(clauses, L) log P(label | clause) under the clause model, from each clause's TF-IDF and its
        MiniLM embedding (``embeddings``: of the ``normalize``d clauses, as ``embedding_texts`` lists them)."""
        if not clauses:
            return np.zeros((0, len(self.labels)))
        x = np.hstack([self.tfidf([normalize(c) for c in clauses]), embeddings])
        z = x @ self.step_coef.T + self.step_intercept
        z -= z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def decision_probabilities(
        self, probs: np.ndarray, evidence: np.ndarray, n_words: int, tuned: np.ndarray
    ) -> np.ndarray:
        """(L,) P(label in the plan) from the node model's ``probs`` (L,), the clause model's ``evidence``
        (clauses, L) and the fine-tuned detector's ``tuned`` (1 + clauses, L: the request, then each clause)
        for one request of ``n_words`` words."""
        x = stack_features(probs, evidence, n_words, self.labels.index(CHAT), tuned)
        return 1.0 / (1.0 + np.exp(-((x * self.stack_coef).sum(axis=1) + self.stack_intercept)))

    def strongest_offset(self, text: str, label: str) -> int:
        """Character offset of the word (or word pair) in ``text`` that speaks most for ``label``."""
        row = self.coef[self.labels.index(label)]
        best, where = 0.0, 0
        spans = [(m.group(0).lower(), m.start()) for m in _WORD.finditer(text)]
        for k, (w, start) in enumerate(spans):
            grams = [w] + ([f"{w} {spans[k + 1][0]}"] if k + 1 < len(spans) else [])
            for g in grams:
                if (i := self.vocab.get(g)) is not None and row[i] * self.idf[i] > best:
                    best, where = float(row[i] * self.idf[i]), start
        return where

    def link(self, source: str, target: str, gap: int) -> float:
        i, j = self.labels.index(source), self.labels.index(target)
        return float(self.link_rate[i, j, min(gap, self.link_rate.shape[2]) - 1])

    # --- persistence -------------------------------------------------------------------------------

    def save(self, path: Path = ARTIFACT) -> None:
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        header = {
            "labels": self.labels,
            "terms": terms,
            "embedding_model": self.embedding_model,
            "meta": self.meta,
            "tuned": {"cut": self.tuned.cut, "config": dataclasses.asdict(self.tuned.config)},
        }
        np.savez_compressed(
            path,
            header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), dtype=np.uint8),
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float16),
            intercept=self.intercept.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
            order_prior=self.order_prior.astype(np.float32),
            order_coef=self.order_coef.astype(np.float32),
            step_coef=self.step_coef.astype(np.float16),
            step_intercept=self.step_intercept.astype(np.float32),
            link_rate=self.link_rate.astype(np.float32),
            stack_coef=self.stack_coef.astype(np.float32),
            stack_intercept=self.stack_intercept.astype(np.float32),
            **{PREFIX + k: v.astype(np.float16) for k, v in self.tuned.arrays.items()},
        )

    @classmethod
    def load(cls, path: Path = ARTIFACT) -> PlannerModel:
        with np.load(path) as z:
            header = json.loads(bytes(z["header"]).decode())
            return cls(
                labels=header["labels"],
                vocab={t: i for i, t in enumerate(header["terms"])},
                idf=z["idf"].astype(np.float32),
                coef=z["coef"].astype(np.float32),
                intercept=z["intercept"].astype(np.float32),
                thresholds=z["thresholds"].astype(np.float32),
                order_prior=z["order_prior"].astype(np.float32),
                order_coef=z["order_coef"].astype(np.float32),
                step_coef=z["step_coef"].astype(np.float32),
                step_intercept=z["step_intercept"].astype(np.float32),
                link_rate=z["link_rate"].astype(np.float32),
                stack_coef=z["stack_coef"].astype(np.float32),
                stack_intercept=z["stack_intercept"].astype(np.float32),
                tuned=TunedDetector.from_arrays(
                    {k.removeprefix(PREFIX): z[k] for k in z.files if k.startswith(PREFIX)},
                    header["tuned"]["cut"],
                    BertConfig(**header["tuned"]["config"]),
                ),
                embedding_model=header["embedding_model"],
                meta=header["meta"],
            )
