"""Shared parts of the tiny models: a small vocabulary, tokenizers trained on it in milliseconds, label
maps, a tiny BERT config, image processors."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

# A small English vocabulary: enough for tokenizers to produce real ids for test prompts.
WORDS = (
    "the a an is are was be to of and in on at for with by from this that it its as or not no yes "
    "what who where when how which why do does did can could will would should i you he she we they "
    "my your his her our their cat dog man woman person car tree house sky sun water red green blue "
    "black white big small good bad happy sad love hate movie film book picture image photo video "
    "audio sound speech voice music text question answer context translate summarize summary french "
    "german spanish english paris london city country name john mary apple google company year day "
    "time people world new old first last one two three four five many much more most some any all "
    "picture document invoice total date amount number table row column wine quality label positive "
    "negative neutral entailment contradiction sports politics science weather business great terrible"
).split()


def wordpiece_vocab(folder: Path) -> Path:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,?!'-:;$%")
    pieces = [f"##{c}" for c in letters]
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(specials + WORDS + letters + pieces) + "\n")
    return vocab


def bert_tokenizer(folder: Path) -> Any:
    from transformers import BertTokenizerFast

    with tempfile.TemporaryDirectory() as tmp:
        return BertTokenizerFast(vocab_file=str(wordpiece_vocab(Path(tmp))), model_max_length=128)


def bpe_tokenizer(specials: dict[str, str], max_length: int = 128) -> Any:
    """A byte-level BPE tokenizer trained in milliseconds on the tiny vocabulary."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=specials.get("unk_token")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    ordered = list(dict.fromkeys(specials.values()))
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=ordered, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator([" ".join(WORDS)] * 4, trainer=trainer)
    if "eos_token" in specials and specials.get("append_eos") == "yes":
        eos = specials["eos_token"]
        tok.post_processor = processors.TemplateProcessing(
            single=f"$A {eos}", pair=f"$A {eos} $B {eos}", special_tokens=[(eos, tok.token_to_id(eos))]
        )
    kwargs = {k: v for k, v in specials.items() if k.endswith("_token")}
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=max_length, **kwargs)


def gpt2_tokenizer() -> Any:
    tok = bpe_tokenizer(
        {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    )
    tok.pad_token = tok.eos_token
    return tok


def t5_tokenizer() -> Any:
    # T5 convention: pad=0 (also the decoder start), eos=1, unk=2; eos appended to every input.
    return bpe_tokenizer(
        {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>", "append_eos": "yes"}
    )


def clip_tokenizer() -> Any:
    return bpe_tokenizer(
        {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
         "unk_token": "<|endoftext|>"},
        max_length=16,
    )  # fmt: skip


def labels(names: list[str]) -> dict[str, Any]:
    return {"id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}


def tiny_bert(**extra: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(WORDS) + 100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=128, **extra,
    )  # fmt: skip


def image_processor(cls_name: str, **kwargs: Any) -> Any:
    """The PIL-backed processor: this install has no torchvision, and neither need production CPUs."""
    import transformers

    cls = getattr(transformers, f"{cls_name}Pil", None) or getattr(transformers, cls_name)
    return cls(**kwargs)
