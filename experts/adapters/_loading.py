"""Loading helpers shared by the adapters: one place that turns a load failure into ExpertUnavailable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from experts.catalog import ModelSpec
from experts.errors import ExpertUnavailable

T = TypeVar("T")


def loading(spec: ModelSpec, load: Callable[[], T]) -> T:
    """``load()``; a missing model folder, an unreachable hub or a bad checkpoint become ExpertUnavailable."""
    try:
        return load()
    except ExpertUnavailable:
        raise
    except (OSError, ValueError, KeyError, ImportError) as exc:
        first = (str(exc).splitlines() or [exc.__class__.__name__])[0][:200]
        raise ExpertUnavailable(f"cannot load {spec.id}: {first}") from None


def hf_pipeline(spec: ModelSpec, task: str, location: str, device: str, **kwargs: Any) -> Any:
    from transformers import pipeline

    return loading(spec, lambda: pipeline(task, model=location, device=device, **kwargs))


def tokenizer_and_model(spec: ModelSpec, location: str, model_class: Any, device: str) -> tuple[Any, Any]:
    """The checkpoint's tokenizer and ``model_class.from_pretrained`` model, moved to ``device``, in eval mode."""
    from transformers import AutoTokenizer

    tokenizer = loading(spec, lambda: AutoTokenizer.from_pretrained(location))
    model = loading(spec, lambda: model_class.from_pretrained(location))
    model.to(device).eval()
    return tokenizer, model
