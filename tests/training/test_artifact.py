"""The committed planner artifact is what ``make train-planner`` makes from the data in ../shared and
training/data: small, loadable without a hub, trained on exactly that data, never on the dev split."""

from __future__ import annotations

import pytest

from controller.trained_planner.cues import CUE_LABELS
from controller.trained_planner.model import ARTIFACT, CHAT, STACK_FEATURES, PlannerModel
from evaluation.taskbench import DEFAULT_SOURCE, load_dev
from experts.tasks import TASK_TYPES
from training.data import all_examples, fingerprint, taskbench_steps


def test_artifact_is_small_and_loads():
    assert ARTIFACT.stat().st_size <= 20 * 1024 * 1024
    model = PlannerModel.load()
    assert model.labels == [*TASK_TYPES, CHAT]
    assert model.coef.shape == (len(model.labels), len(model.vocab) + 384 + len(CUE_LABELS))
    assert model.embedding_model == "all-MiniLM-L6-v2"
    assert model.step_coef.shape == (len(model.labels), len(model.vocab) + 384)
    assert model.stack_coef.shape == (len(model.labels), STACK_FEATURES)
    assert model.stack_coef.any(), "the decision model was never fitted: every task would be chosen alike"


@pytest.mark.skipif(not (DEFAULT_SOURCE / "data.train.jsonl").is_file(), reason="../shared/taskbench absent")
def test_artifact_matches_its_training_data():
    examples, steps = all_examples(), taskbench_steps()
    assert PlannerModel.load().meta["fingerprint"] == fingerprint(examples, steps), (
        "the committed planner was trained on other data: run `make train-planner` and commit the artifact"
    )
    dev_ids = {r.id for r in load_dev()}
    assert dev_ids and not dev_ids & {e.group for e in examples}
    assert not dev_ids & {group for group, _, _ in steps}
