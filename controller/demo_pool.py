"""The demonstration pool: solved requests (TaskBench gold plans in our schema) that the planner may be
shown, read from the committed files under ``controller/data/``.

The files are built by ``python -m evaluation.taskbench build``; the runtime only reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from controller.demos import Demo
from controller.schema import Task

DATA_DIR = Path(__file__).parent / "data"
POOL_FILE = DATA_DIR / "demo_pool.jsonl"
DEV_FILE = DATA_DIR / "taskbench_dev.jsonl"  # held out of the pool: what the evaluation runs on
MANIFEST_FILE = DATA_DIR / "taskbench_manifest.json"

PlanType = Literal["single", "chain", "dag"]
PLAN_TYPES: tuple[PlanType, ...] = ("single", "chain", "dag")


class GoldRecord(BaseModel):
    """One solved TaskBench request in our schema."""

    id: str
    type: PlanType
    request: str
    tasks: list[Task]
    repairs: list[str] = Field(default_factory=list)

    def demo(self) -> Demo:
        return Demo(request=self.request, tasks=self.tasks)


def read_records(path: Path) -> list[GoldRecord]:
    with path.open(encoding="utf-8") as f:
        return [GoldRecord.model_validate_json(line) for line in f if line.strip()]


def load_pool() -> list[GoldRecord]:
    return read_records(POOL_FILE)
