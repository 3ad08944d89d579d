"""The trained planner, loaded once for every planner test (its model and MiniLM take a second or two)."""

from __future__ import annotations

import pytest

from controller.trained_planner.planner import TrainedPlanner


@pytest.fixture(scope="session")
def planner() -> TrainedPlanner:
    p = TrainedPlanner()
    p.warm()
    return p
