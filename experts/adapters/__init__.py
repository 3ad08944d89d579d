"""One adapter module per task family; ``load(spec)`` picks the family from the task registry."""

from __future__ import annotations

import importlib
import threading

from experts.adapters.base import Expert, ExpertContext
from experts.catalog import ModelSpec
from experts.errors import ExpertUnavailable
from experts.tasks import TASK_TYPES

__all__ = ["Expert", "ExpertContext", "load"]

# transformers/diffusers loads are not thread-safe across models in one process (two parallel loads can
# fail with "Cannot copy out of meta tensor"). One load at a time per process; runs stay parallel.
_LOAD_LOCK = threading.Lock()


def load(spec: ModelSpec, ctx: ExpertContext | None = None) -> Expert:
    """Load ``spec``'s model into an Expert (blocking: seconds for real models, well under one for tiny)."""
    if spec.task not in TASK_TYPES:
        raise ExpertUnavailable(f"unknown task {spec.task!r}")
    if not spec.runnable:
        raise ExpertUnavailable(
            f"{spec.id} cannot run here: {spec.unavailable_reason or 'no adapter for it'}"
        )
    family = importlib.import_module(f"experts.adapters.{TASK_TYPES[spec.task].family}")
    with _LOAD_LOCK:
        return family.load(spec, ctx or ExpertContext())
