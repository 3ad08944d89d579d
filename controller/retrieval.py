"""Demonstrations chosen per request: the pool's solved requests most similar to the user's.

The pool embeddings are committed next to the pool (``demo_pool.npy``, float16): embedding ~300 requests
on a 2-core CPU takes ~15 s, loading the file takes milliseconds. A fingerprint of the pool texts and
the model name guards against a stale file; on a mismatch they are recomputed once, in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from controller.demo_pool import DATA_DIR, POOL_FILE, GoldRecord, read_records
from controller.demos import Demo, DemoSource, StaticDemos

log = logging.getLogger(__name__)

EMBEDDINGS_FILE = DATA_DIR / "demo_pool.npy"
FINGERPRINT_FILE = DATA_DIR / "demo_pool.fingerprint.json"


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length row vectors, one per text."""
        ...


def fingerprint(requests: Sequence[str], model_name: str) -> str:
    digest = hashlib.sha256(model_name.encode())
    for text in requests:
        digest.update(b"\0" + text.encode())
    return digest.hexdigest()


def write_pool_embeddings(pool: Sequence[GoldRecord], out_dir: Path = DATA_DIR, embedder=None) -> Path:
    if embedder is None:
        from experts.embeddings import default_embedder

        embedder = default_embedder()
    requests = [r.request for r in pool]
    vectors = embedder.embed(requests).astype(np.float16)
    path = out_dir / EMBEDDINGS_FILE.name
    np.save(path, vectors)
    (out_dir / FINGERPRINT_FILE.name).write_text(
        json.dumps({"model": embedder.name, "fingerprint": fingerprint(requests, embedder.name)}) + "\n"
    )
    return path


def load_pool_embeddings(pool: Sequence[GoldRecord], embedder: Embedder, directory: Path = DATA_DIR):
    """The committed embeddings when they match this pool and model, else freshly computed ones."""
    requests = [r.request for r in pool]
    try:
        meta = json.loads((directory / FINGERPRINT_FILE.name).read_text())
        if meta.get("fingerprint") == fingerprint(requests, embedder.name):
            vectors = np.load(directory / EMBEDDINGS_FILE.name).astype(np.float32)
            if vectors.shape[0] == len(requests):
                return vectors
    except (OSError, ValueError) as e:
        log.info("no usable precomputed pool embeddings (%s); computing them", e)
    log.warning("pool embeddings are stale or missing; embedding %d requests", len(requests))
    return embedder.embed(requests).astype(np.float32)


class RetrievalDemos:
    """``DemoSource``: the k pool requests nearest to the request by cosine similarity, most similar
    last (closest to the request in the prompt), among those whose tasks are all offered."""

    def __init__(self, pool: Sequence[GoldRecord], embedder: Embedder, vectors: np.ndarray | None = None):
        self.pool = list(pool)
        self.embedder = embedder
        self._vectors = vectors
        self._lock = asyncio.Lock()

    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            self._vectors = load_pool_embeddings(self.pool, self.embedder)
        return self._vectors

    def nearest(self, request: str, k: int, offered: Collection[str]) -> list[tuple[float, GoldRecord]]:
        if k <= 0 or not self.pool:
            return []
        query = self.embedder.embed([request])[0]
        scores = self.vectors() @ query
        out: list[tuple[float, GoldRecord]] = []
        for i in np.argsort(-scores, kind="stable"):
            record = self.pool[int(i)]
            if all(t.task in offered for t in record.tasks):
                out.append((float(scores[i]), record))
                if len(out) == k:
                    break
        return out

    async def find(self, request: str, k: int, offered: Collection[str]) -> list[Demo]:
        async with self._lock:  # one embedding at a time; the first call also loads the model
            found = await asyncio.to_thread(self.nearest, request, k, offered)
        return [record.demo() for _, record in reversed(found)]


class LazyRetrievalDemos:
    """Retrieval over the bundled model and committed pool, loaded on the first request (not at import
    or construction, so that building a pipeline stays cheap). Falls back to static demos for good when
    the model or the pool cannot be loaded."""

    def __init__(self, pool_file: Path = POOL_FILE):
        self.pool_file = pool_file
        self._source: DemoSource | None = None
        self._lock = asyncio.Lock()

    async def _load(self) -> DemoSource:
        async with self._lock:
            if self._source is None:
                try:
                    self._source = await asyncio.to_thread(self._build)
                except Exception as e:  # a broken optional dependency must not break planning
                    log.warning("retrieved demos unavailable, using static ones: %s", e)
                    self._source = StaticDemos()
            return self._source

    def _build(self) -> RetrievalDemos:
        from experts.embeddings import default_embedder

        source = RetrievalDemos(read_records(self.pool_file), default_embedder())
        source.vectors()
        return source

    async def find(self, request: str, k: int, offered: Collection[str]) -> list[Demo]:
        return await (await self._load()).find(request, k, offered)

    def warm(self) -> None:
        """Load now (blocking), e.g. while a deployment starts, so the first request does not wait."""
        if self._source is None:
            try:
                self._source = self._build()
            except Exception as e:
                log.warning("retrieved demos unavailable, using static ones: %s", e)
                self._source = StaticDemos()


def default_demos() -> DemoSource:
    """Retrieved demos when the bundled embedding model is installed, else the static ones."""
    from experts.embeddings import bundled_model_dir

    if bundled_model_dir() is not None and POOL_FILE.is_file():
        return LazyRetrievalDemos()
    return StaticDemos()
