"""One adapter module per task family, each with an ``ADAPTERS`` table (task, runtime) -> Expert class;
``load(spec)`` picks the family from the task registry and the class from its table."""

from __future__ import annotations

import importlib
import threading

from experts.adapters.base import ANY_TASK, Expert, ExpertContext
from experts.catalog import ModelSpec
from experts.errors import ExpertUnavailable
from experts.tasks import TASK_TYPES

__all__ = ["Expert", "ExpertContext", "adapter_class", "load"]

# transformers/diffusers loads are not thread-safe across models in one process (two parallel loads can
# fail with "Cannot copy out of meta tensor"). One load at a time per process; runs stay parallel.
_LOAD_LOCK = threading.Lock()


def adapter_class(spec: ModelSpec) -> type[Expert]:
    """The Expert class that serves ``spec`` (its family's table, by task and runtime); nothing is loaded."""
    if spec.task not in TASK_TYPES:
        raise ExpertUnavailable(f"unknown task {spec.task!r}")
    family = TASK_TYPES[spec.task].family
    adapters = importlib.import_module(f"experts.adapters.{family}").ADAPTERS
    cls = adapters.get((spec.task, spec.runtime)) or adapters.get((ANY_TASK, spec.runtime))
    if cls is None:
        raise ExpertUnavailable(f"no {family} adapter for {spec.task} with runtime {spec.runtime}")
    return cls


def load(spec: ModelSpec, ctx: ExpertContext | None = None) -> Expert:
    """Load ``spec``'s model into an Expert (blocking: seconds for real models, well under one for tiny)."""
    if not spec.runnable:
        raise ExpertUnavailable(
            f"{spec.id} cannot run here: {spec.unavailable_reason or 'no adapter for it'}"
        )
    cls = adapter_class(spec)
    with _LOAD_LOCK:
        return cls(spec, ctx or ExpertContext())
