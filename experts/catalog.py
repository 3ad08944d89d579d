"""The model catalog: which Hugging Face models exist for each task, with the facts used to rank them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from experts.tasks import TASK_TYPES


class ModelSpec(BaseModel):
    """One model the controller may select. Facts come from the hub card (seeded from JARVIS's p0 list)."""

    id: str
    task: str
    description: str = ""
    downloads: int = 0
    likes: int = 0
    tags: list[str] = Field(default_factory=list)


class Catalog:
    def __init__(self, models: Iterable[ModelSpec]):
        self._by_id: dict[str, ModelSpec] = {}
        self._by_task: dict[str, list[ModelSpec]] = {}
        for m in models:
            if m.task not in TASK_TYPES:
                raise ValueError(f"model {m.id!r} has unknown task {m.task!r}")
            self._by_id[m.id] = m
            self._by_task.setdefault(m.task, []).append(m)

    def get(self, model_id: str) -> ModelSpec | None:
        return self._by_id.get(model_id)

    def models_for(self, task: str) -> list[ModelSpec]:
        return list(self._by_task.get(task, []))

    def task_names(self) -> list[str]:
        return sorted(self._by_task)

    def __iter__(self):
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)


def load_jsonl_catalog(path: Path) -> Catalog:
    """A catalog from JARVIS's ``p0_models.jsonl`` shape (one hub card per line)."""
    models = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        meta = row.get("meta") or {}
        models.append(
            ModelSpec(
                id=row["id"],
                task=row["task"],
                description=(row.get("description") or "").strip()[:500],
                downloads=int(row.get("downloads") or 0),
                likes=int(row.get("likes") or 0),
                tags=[str(t) for t in (meta.get("tags") or [])],
            )
        )
    return Catalog(models)
