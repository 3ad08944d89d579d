"""The fine-tuned task detector: the top layers of all-MiniLM-L6-v2, fine-tuned on the training requests with
a multi-label head over the task types (``training.tune_detector``). It reads the hidden states the planner's
embedding pass already computed below those layers, so it costs a few layers on one request, not a second
model: ~28 MB of float32 and ~17 ms. Alone it beat the linear node model's held-out node F1 by ~3 points in
grouped CV, and the decision model weighs it beside the others (``model.stack_features``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experts.minilm import BertConfig, Layer, layer_weights, run_layers

PREFIX = "tuned."  # the detector's arrays in the planner artifact, by their torch names


@dataclass
class TunedDetector:
    cut: int  # the frozen model's first ``cut`` layers feed this detector's layers
    layers: list[Layer]
    head_w: np.ndarray  # (L, hidden)
    head_b: np.ndarray  # (L,)
    config: BertConfig
    arrays: dict[str, np.ndarray]  # the same weights by torch name, as given (float16 from the artifact)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], cut: int, config: BertConfig) -> TunedDetector:
        w = {k: v.astype(np.float32) for k, v in arrays.items()}
        return cls(
            cut=cut,
            layers=[layer_weights(w, f"encoder.layer.{i}.") for i in range(cut, config.num_layers)],
            head_w=w["head.weight"],
            head_b=w["head.bias"],
            config=config,
            arrays=arrays,  # not ``w``: a second float32 copy would cost the planner ~28 MB
        )

    def probabilities(self, states: list[np.ndarray]) -> np.ndarray:
        """(texts, L) P(task type in the plan) from each text's (tokens, hidden) states after ``cut``
        layers, run as one padded batch (the padding masked out of attention and of the mean)."""
        if not states:
            return np.zeros((0, len(self.head_b)), dtype=np.float32)
        longest = max(len(s) for s in states)
        x = np.zeros((len(states), longest, states[0].shape[1]), dtype=np.float32)
        mask = np.zeros((len(states), longest), dtype=np.float32)
        for i, s in enumerate(states):
            x[i, : len(s)], mask[i, : len(s)] = s, 1.0
        hidden = run_layers(x, mask, self.layers, self.config)
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        z = pooled @ self.head_w.T + self.head_b
        return 1.0 / (1.0 + np.exp(-z))
