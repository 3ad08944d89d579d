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
    assert model.stack_coef[:, -1].any(), "the decision model does not weigh the fine-tuned detector"
    # The thresholds are the ones its cross-validation chose, one per task type, near the grid's choice.
    chosen = model.meta["thresholds"]
    assert [round(float(t), 2) for t in model.thresholds] == [chosen[label] for label in model.labels]
    assert all(0.2 <= t <= 0.7 for t in chosen.values())


@pytest.mark.skipif(not (DEFAULT_SOURCE / "data.train.jsonl").is_file(), reason="../shared/taskbench absent")
def test_artifact_matches_its_training_data():
    examples, steps = all_examples(), taskbench_steps()
    assert PlannerModel.load().meta["fingerprint"] == fingerprint(examples, steps), (
        "the committed planner was trained on other data: run `make train-planner` and commit the artifact"
    )
    dev_ids = {r.id for r in load_dev()}
    assert dev_ids and not dev_ids & {e.group for e in examples}
    assert not dev_ids & {group for group, _, _ in steps}


def test_the_committed_detector_computes_in_numpy_what_torch_trained():
    """The planner runs the fine-tuned layers in numpy on the states its embedding pass kept; they must give
    the probabilities the training (torch, padded batches) gave for the same weights."""
    import numpy as np
    import torch

    from controller.trained_planner.model import normalize
    from experts.embeddings import default_embedder
    from training.tune_detector import DetectorTrainer

    model = PlannerModel.load()
    detector = model.tuned
    assert detector.head_w.shape == (len(model.labels), 384) and len(detector.layers) == 6 - detector.cut
    texts = [
        normalize("Draw a lighthouse at dusk, then describe the picture."),
        normalize("Transcribe meeting.wav, summarise it and translate the summary into German. " * 3),
    ]
    _, states = default_embedder().embed_keeping(texts, detector.cut)
    ours = detector.probabilities(states)  # one padded batch, as the planner runs it
    alone = np.stack([detector.probabilities([s])[0] for s in states])
    np.testing.assert_allclose(ours, alone, atol=1e-5)  # the padding changes nothing
    trainer = DetectorTrainer(texts)
    top = trainer.bert.encoder.layer[detector.cut :]
    for k, layer in enumerate(top):
        for name, weight in layer.state_dict().items():
            weight.copy_(torch.from_numpy(detector.arrays[f"encoder.layer.{detector.cut + k}.{name}"]))
    head = torch.nn.Linear(384, len(model.labels))
    head.load_state_dict(
        {"weight": torch.from_numpy(detector.head_w), "bias": torch.from_numpy(detector.head_b)}
    )
    np.testing.assert_allclose(ours, trainer.predict((top.eval(), head), [0, 1]), atol=1e-4)
    # and it is a detector: the lighthouse request is text-to-image then image-to-text
    named = {model.labels[i] for i in np.flatnonzero(ours[0] >= 0.5)}
    assert {"text-to-image", "image-to-text"} <= named
