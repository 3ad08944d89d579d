"""Tiny text models: BERT heads (sentiment, NER, NLI, QA), T5, GPT-2, and a scikit-learn tabular model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from experts.offline.parts import bert_tokenizer, gpt2_tokenizer, labels, t5_tokenizer, tiny_bert


def _build_bert_sentiment(out: Path) -> None:
    from transformers import BertForSequenceClassification

    BertForSequenceClassification(tiny_bert(**labels(["negative", "positive"]))).save_pretrained(out)
    bert_tokenizer(out).save_pretrained(out)


def _build_bert_ner(out: Path) -> None:
    from transformers import BertForTokenClassification

    names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    BertForTokenClassification(tiny_bert(**labels(names))).save_pretrained(out)
    bert_tokenizer(out).save_pretrained(out)


def _build_bert_mnli(out: Path) -> None:
    from transformers import BertForSequenceClassification

    names = ["entailment", "neutral", "contradiction"]
    BertForSequenceClassification(tiny_bert(**labels(names))).save_pretrained(out)
    bert_tokenizer(out).save_pretrained(out)


def _build_bert_squad(out: Path) -> None:
    from transformers import BertForQuestionAnswering

    BertForQuestionAnswering(tiny_bert()).save_pretrained(out)
    bert_tokenizer(out).save_pretrained(out)


def _build_t5(out: Path) -> None:
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration

    tok = t5_tokenizer()
    config = T5Config(
        vocab_size=len(tok), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )  # fmt: skip
    model = T5ForConditionalGeneration(config)
    # Random weights favour pad/unk, which decode to nothing: suppress them so the text is never empty.
    model.generation_config = GenerationConfig(
        decoder_start_token_id=0, eos_token_id=1, pad_token_id=0, max_new_tokens=20, suppress_tokens=[0, 2]
    )
    model.save_pretrained(out)
    tok.save_pretrained(out)


def _build_gpt2(out: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = gpt2_tokenizer()
    eos = tok.eos_token_id
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=128,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=eos,
        eos_token_id=eos,
    )
    GPT2LMHeadModel(config).save_pretrained(out)
    tok.save_pretrained(out)


def _build_sklearn_wine(out: Path) -> None:
    """A logistic regression fitted on random rows, saved in the safe skops format as hub tabular models are."""
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    columns = ["fixed_acidity", "volatile_acidity", "citric_acid", "residual_sugar", "alcohol"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, len(columns)))
    y = (x[:, -1] > 0).astype(int) + (x[:, 0] > 1).astype(int)
    model = LogisticRegression(max_iter=200).fit(x, np.array(["low", "medium", "high"])[y])
    sio.dump(model, out / "model.skops")
    config = {
        "sklearn": {"columns": columns, "model": {"file": "model.skops"}, "task": "tabular-classification"}
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))


BUILDERS: dict[str, Callable[[Path], None]] = {
    "tiny-bert-sentiment": _build_bert_sentiment,
    "tiny-bert-ner": _build_bert_ner,
    "tiny-bert-mnli": _build_bert_mnli,
    "tiny-bert-squad": _build_bert_squad,
    "tiny-t5": _build_t5,
    "tiny-gpt2": _build_gpt2,
    "tiny-sklearn-wine": _build_sklearn_wine,
}
