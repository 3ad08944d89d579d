"""A pure-numpy sentence encoder for BERT-family sentence-transformers models such as all-MiniLM-L6-v2.

It computes what sentence_transformers computes for such a model (the BERT forward pass, then the pooling
and normalisation that 1_Pooling/ and modules.json declare) from the model folder's own files, but needs
only numpy, ``safetensors`` and ``tokenizers``: no torch or transformers in the process, so a planner that
only embeds requests stays small (the weights are ~90 MB of float32).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from threadpoolctl import ThreadpoolController
from tokenizers import Tokenizer

F32 = np.float32


@dataclass(frozen=True)
class BertConfig:
    hidden_size: int
    num_heads: int
    num_layers: int
    layer_norm_eps: float
    hidden_act: str

    @classmethod
    def load(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text())
        if raw.get("model_type") != "bert":
            raise ValueError(f"{path}: model_type {raw.get('model_type')!r} is not 'bert'")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: only absolute position embeddings are supported")
        return cls(
            hidden_size=raw["hidden_size"],
            num_heads=raw["num_attention_heads"],
            num_layers=raw["num_hidden_layers"],
            layer_norm_eps=raw.get("layer_norm_eps", 1e-12),
            hidden_act=raw.get("hidden_act", "gelu"),
        )


@dataclass(frozen=True)
class Layer:
    """One encoder layer's weights, pre-transposed (and Q, K, V fused) so each projection is one matmul."""

    qkv_w: np.ndarray  # (hidden, 3 * hidden)
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    ff_in_w: np.ndarray
    ff_in_b: np.ndarray
    ff_out_w: np.ndarray
    ff_out_b: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to ~1.5e-7 absolute (Abramowitz & Stegun 7.1.26): below float32's resolution near 1, and numpy
    has no erf of its own (scipy would cost more memory than it saves)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's "gelu" is the exact erf form; the tanh approximation would drift by ~1e-3 per activation.
    return (0.5 * x * (1.0 + _erf(x * F32(1 / np.sqrt(2))))).astype(F32, copy=False)


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + F32(eps)) * gamma + beta


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


def layer_weights(w: dict[str, np.ndarray], p: str) -> Layer:
    """Encoder layer ``p`` (e.g. "encoder.layer.3.") from a checkpoint's float32 tensors, by their torch names."""

    def t(name: str) -> np.ndarray:  # torch Linear stores (out, in); x @ W.T wants (in, out)
        return np.ascontiguousarray(w[p + name + ".weight"].T)

    att = p + "attention."
    return Layer(
        qkv_w=np.concatenate([t(f"attention.self.{n}") for n in ("query", "key", "value")], axis=1),
        qkv_b=np.concatenate([w[att + f"self.{n}.bias"] for n in ("query", "key", "value")]),
        out_w=t("attention.output.dense"),
        out_b=w[att + "output.dense.bias"],
        ln1_g=w[att + "output.LayerNorm.weight"],
        ln1_b=w[att + "output.LayerNorm.bias"],
        ff_in_w=t("intermediate.dense"),
        ff_in_b=w[p + "intermediate.dense.bias"],
        ff_out_w=t("output.dense"),
        ff_out_b=w[p + "output.dense.bias"],
        ln2_g=w[p + "output.LayerNorm.weight"],
        ln2_b=w[p + "output.LayerNorm.bias"],
    )


def run_layers(x: np.ndarray, mask: np.ndarray, layers: Sequence[Layer], cfg: BertConfig) -> np.ndarray:
    """BERT encoder layers over ``x`` (batch, length, hidden) with ``mask`` (batch, length) of real tokens."""
    batch, length, _ = x.shape
    heads, head_dim = cfg.num_heads, cfg.hidden_size // cfg.num_heads
    x = x.reshape(batch * length, cfg.hidden_size)
    # Padding keys get the most negative float, as in transformers: exp() makes their weight exactly 0.
    bias = ((1.0 - mask) * np.finfo(F32).min)[:, None, None, :]
    scale = F32(1 / np.sqrt(head_dim))
    for layer in layers:
        qkv = (x @ layer.qkv_w + layer.qkv_b).reshape(batch, length, 3, heads, head_dim)
        q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each (batch, heads, length, head_dim)
        probs = _softmax(q @ k.transpose(0, 1, 3, 2) * scale + bias)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch * length, cfg.hidden_size)
        x = _layer_norm(ctx @ layer.out_w + layer.out_b + x, layer.ln1_g, layer.ln1_b, cfg.layer_norm_eps)
        ff = _gelu(x @ layer.ff_in_w + layer.ff_in_b) @ layer.ff_out_w + layer.ff_out_b
        x = _layer_norm(ff + x, layer.ln2_g, layer.ln2_b, cfg.layer_norm_eps)
    return x.reshape(batch, length, cfg.hidden_size)


class MiniLMEncoder:
    """Embeds texts as sentence_transformers would with the same model folder (to ~1e-6). Thread-safe."""

    def __init__(self, model_dir: Path):
        model_dir = Path(model_dir)
        self.config = BertConfig.load(model_dir / "config.json")
        if self.config.hidden_act != "gelu":
            raise ValueError(f"{model_dir}: hidden_act {self.config.hidden_act!r} is not supported")
        self.max_seq_length, self.pooling, self.normalize = _pipeline(model_dir)

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json ships its own truncation (128) and fixed padding; sentence_transformers overrides
        # both per call: truncate at max_seq_length (special tokens included), pad to the batch's longest.
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")

        w = {k: v.astype(F32, copy=False) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""
        w = {k.removeprefix(prefix): v for k, v in w.items()}
        self.word_emb = w["embeddings.word_embeddings.weight"]
        self.pos_emb = w["embeddings.position_embeddings.weight"]
        self.type_emb = w["embeddings.token_type_embeddings.weight"]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [layer_weights(w, f"encoder.layer.{i}.") for i in range(self.config.num_layers)]
        if self.max_seq_length > self.pos_emb.shape[0]:
            raise ValueError(f"max_seq_length {self.max_seq_length} exceeds the model's positions")
        # A request's matmuls are small: OpenBLAS's threads cost more than they save (10x the CPU time on
        # a busy host) and would compete with the replica's other work, so each encode uses one core. The
        # limit is process-wide while it lasts, hence one encode at a time.
        self._blas = ThreadpoolController()
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.config.hidden_size

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32 sentence embeddings, unit-length when the model normalises."""
        return self.encode_keeping(texts, None, batch_size)[0]

    def encode_keeping(
        self, texts: Sequence[str], layer: int | None, batch_size: int = 64
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The embeddings, and each text's hidden states after the first ``layer`` encoder layers,
        (tokens, hidden) without padding (none when ``layer`` is None): the input of a model that
        fine-tuned the layers above it (``run_layers``)."""
        out = np.zeros((len(texts), self.dim), dtype=F32)
        kept: list[np.ndarray] = [np.zeros((0, self.dim), dtype=F32)] * len(texts)
        # sentence_transformers strips each text; batching texts of similar length keeps padding short.
        stripped = [str(t).strip() for t in texts]
        order = sorted(range(len(stripped)), key=lambda i: -len(stripped[i]))
        step = max(1, batch_size)
        with self._lock, self._blas.limit(limits=1, user_api="blas"):
            for start in range(0, len(order), step):
                idx = order[start : start + step]
                encodings = self.tokenizer.encode_batch([stripped[i] for i in idx])
                ids = np.array([e.ids for e in encodings], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encodings], dtype=F32)
                types = np.array([e.type_ids for e in encodings], dtype=np.int64)
                hidden, states = self._forward(ids, types, mask, layer)
                out[idx] = self._pool(hidden, mask)
                if layer is not None:
                    for row, i in enumerate(idx):
                        kept[i] = states[row, : int(mask[row].sum())].copy()
        return out, kept

    def _forward(
        self, ids: np.ndarray, types: np.ndarray, mask: np.ndarray, keep: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The last hidden states, (batch, length, hidden), and those after ``keep`` layers."""
        cfg = self.config
        x = self.word_emb[ids] + self.pos_emb[: ids.shape[1]] + self.type_emb[types]
        x = _layer_norm(x, *self.emb_ln, cfg.layer_norm_eps)
        kept = run_layers(x, mask, self.layers[:keep], cfg) if keep else x
        return run_layers(kept, mask, self.layers[keep or 0 :], cfg), kept

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:  # mean over the real tokens only
            summed = np.einsum("blh,bl->bh", hidden, mask)
            pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), F32(1e-9))
        if self.normalize:  # as torch.nn.functional.normalize: the norm is floored at 1e-12
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), F32(1e-12))
        return pooled.astype(F32, copy=False)


def _pipeline(model_dir: Path) -> tuple[int, str, bool]:
    """(max_seq_length, pooling mode, normalise?) from the sentence-transformers files, refusing any
    module this encoder does not implement rather than silently computing something else."""
    modules = json.loads((model_dir / "modules.json").read_text())
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ValueError(f"{model_dir}: unsupported sentence-transformers modules {kinds}")
    sbert = json.loads((model_dir / "sentence_bert_config.json").read_text())
    if sbert.get("do_lower_case"):
        raise ValueError(f"{model_dir}: do_lower_case is not supported")
    pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
    pooling = json.loads((model_dir / pooling_dir / "config.json").read_text())
    modes = [m for m in ("cls_token", "mean_tokens") if pooling.get(f"pooling_mode_{m}")]
    others = [k for k, on in pooling.items() if k.startswith("pooling_mode_") and on and k[13:] not in modes]
    if len(modes) != 1 or others:
        raise ValueError(f"{model_dir}: only one of CLS or mean pooling is supported, got {pooling}")
    return int(sbert["max_seq_length"]), modes[0].split("_")[0], kinds[-1] == "Normalize"
