"""Each task type's decision threshold moves from the grid's choice only where the held-out plans gain."""

from __future__ import annotations

import numpy as np

from controller.trained_planner.model import CHAT, PlannerModel
from training.thresholds import MIN_GAIN, STEP, objective, tune_per_type


def test_a_type_threshold_moves_only_where_the_held_out_plans_gain():
    models = [PlannerModel.load(), PlannerModel.load()]
    labels = models[0].labels
    vqa, seg = labels.index("visual-question-answering"), labels.index("image-segmentation")

    def held_out_scores() -> dict[str, float]:
        # Every fold model must be scored under the thresholds being tried.
        t = models[0].thresholds
        assert all((m.thresholds == t).all() for m in models)
        edge = 0.5 + 0.01 * (t[vqa] < 0.45)  # visual QA planned more often: edges gain
        # chat is no task: its threshold is never tuned, even where that would score higher
        node = 0.8 + 0.01 * (t[seg] > 0.55) + 0.02 * (t[labels.index(CHAT)] != 0.5)
        tiny = MIN_GAIN / 10 * (t[labels.index("translation")] > 0.55)  # a gain below noise
        return {"node_f1": node + tiny, "edge_f1": edge, "everyday": 0.9}

    thresholds, best = tune_per_type(models, 0.5, held_out_scores, lambda _: None)
    moved = {labels[j]: round(float(thresholds[j]), 2) for j in np.flatnonzero(thresholds != np.float32(0.5))}
    assert moved == {"visual-question-answering": 0.5 - STEP, "image-segmentation": 0.5 + STEP}
    assert objective(best) == objective({"node_f1": 0.81, "edge_f1": 0.51, "everyday": 0.9})
