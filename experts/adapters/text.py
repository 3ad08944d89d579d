"""Text experts: classification, NER, generation, seq2seq (summary/translation/rewrite), QA, similarity,
zero-shot and tabular classification."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from experts import cancel
from experts.adapters._loading import hf_pipeline, loading, tokenizer_and_model
from experts.adapters.base import (
    ANY_TASK,
    Expert,
    ExpertContext,
    Inputs,
    local_folder,
    model_location,
    score_text,
)
from experts.catalog import ModelSpec
from experts.errors import ExpertInputError, ExpertUnavailable


def _pipeline(spec: ModelSpec, ctx: ExpertContext, task: str) -> Any:
    return hf_pipeline(spec, task, model_location(spec), ctx.torch_device())


class TextClassifier(Expert):
    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        self.pipe = _pipeline(spec, ctx, "text-classification")

    def _out(self, scores: list[dict[str, Any]]) -> dict[str, Any]:
        labels = sorted(
            ({"label": s["label"], "score": float(s["score"])} for s in scores), key=lambda x: -x["score"]
        )
        return {"text": score_text(labels, 1), "labels": labels}

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        return self._run_batch([inputs])[0]

    def _run_batch(self, batch: list[Inputs]) -> list[dict[str, Any]]:
        results = self.pipe([i.text() for i in batch], top_k=None, truncation=True, batch_size=len(batch))
        return [self._out(r) for r in results]


class TokenClassifier(Expert):
    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        self.pipe = _pipeline(spec, ctx, "token-classification")

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        found = self.pipe(inputs.text(), aggregation_strategy="simple")
        entities = [
            {
                "entity": str(e.get("entity_group") or e.get("entity")),
                "word": str(e["word"]),
                "start": e.get("start"),
                "end": e.get("end"),
                "score": float(e["score"]),
            }
            for e in found
        ]
        text = ", ".join(f"{e['word']} ({e['entity']})" for e in entities) or "no entities found"
        return {"text": text, "entities": entities}


class ZeroShotClassifier(Expert):
    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        self.pipe = _pipeline(spec, ctx, "zero-shot-classification")

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        raw = inputs.raw.get("labels")
        candidates = raw if isinstance(raw, list) else str(raw).split(",")
        candidates = [str(c).strip() for c in candidates if str(c).strip()]
        if not candidates:
            raise ExpertInputError("zero-shot-classification needs at least one candidate label")
        result = self.pipe(inputs.text(), candidate_labels=candidates)
        labels = [
            {"label": lab, "score": float(s)}
            for lab, s in zip(result["labels"], result["scores"], strict=True)
        ]
        return {"text": score_text(labels, 1), "labels": labels}


class TextGenerator(Expert):
    """Text generation and dialogue; dialogue uses the model's chat template when it has one."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        self.pipe = _pipeline(spec, ctx, "text-generation")
        self.max_new_tokens = int(spec.options.get("max_new_tokens", 64))

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        prompt = inputs.text()
        tokenizer = self.pipe.tokenizer
        self._check_fits(len(tokenizer(prompt)["input_ids"]))
        kwargs = {"max_new_tokens": self.max_new_tokens, "do_sample": False}
        if self.task.name == "conversational" and getattr(tokenizer, "chat_template", None):
            result = self.pipe([{"role": "user", "content": prompt}], **kwargs)
            reply = result[0]["generated_text"][-1]["content"]
        else:
            if self.task.name == "conversational":  # DialoGPT style: turns separated by EOS
                prompt = f"{prompt}{tokenizer.eos_token or ''}"
            result = self.pipe(prompt, return_full_text=False, pad_token_id=tokenizer.eos_token_id, **kwargs)
            reply = result[0]["generated_text"]
        return {"text": str(reply).strip()}

    def _check_fits(self, prompt_tokens: int) -> None:
        """A prompt past the model's context is the caller's input, not a broken expert: say so plainly
        (the model would otherwise fail deep inside its position embeddings)."""
        config = self.pipe.model.config
        context = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        if context and prompt_tokens + self.max_new_tokens > context:
            raise ExpertInputError(
                f"the prompt has {prompt_tokens:,} tokens; {self.spec.id} reads at most "
                f"{context - self.max_new_tokens:,} (its context is {context:,}, {self.max_new_tokens} kept "
                "for the reply): shorten it"
            )


class Seq2SeqGenerator(Expert):
    """Summarization, translation and text2text through ``AutoModelForSeq2SeqLM.generate``."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        from transformers import AutoModelForSeq2SeqLM

        self.tokenizer, self.model = tokenizer_and_model(
            spec, model_location(spec), AutoModelForSeq2SeqLM, ctx.torch_device()
        )
        self.max_new_tokens = int(spec.options.get("max_new_tokens", 96))
        self.min_new_tokens = int(spec.options.get("min_new_tokens", 0))
        # T5-style models are steered by a task prefix; others (BART, Marian) are trained for one task.
        self.uses_prefix = self.model.config.model_type in ("t5", "mt5", "umt5") and not spec.options.get(
            "no_prefix"
        )

    def _prompt(self, inputs: Inputs) -> str:
        text = inputs.text()
        if not self.uses_prefix:
            return text
        if self.task.name == "summarization":
            return f"summarize: {text}"
        if self.task.name == "translation":
            target = inputs.text(
                "target_language", default=self.spec.options.get("target_language", "German")
            )
            source = inputs.text("source_language", default="English")
            return f"translate {source} to {target}: {text}"
        return text

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        return self._run_batch([inputs])[0]

    def _run_batch(self, batch: list[Inputs]) -> list[dict[str, Any]]:
        import torch

        encoded = self.tokenizer(
            [self._prompt(i) for i in batch],
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=512,
        ).to(self.model.device)
        with torch.inference_mode():
            generated = self.model.generate(
                **encoded,
                max_new_tokens=self.max_new_tokens,
                min_new_tokens=self.min_new_tokens,
                stopping_criteria=cancel.stopping_criteria(),
            )
        texts = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        return [{"text": t.strip()} for t in texts]


class QuestionAnswerer(Expert):
    """Extractive QA: the best answer span of the context from start/end logits."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        from transformers import AutoModelForQuestionAnswering

        self.tokenizer, self.model = tokenizer_and_model(
            spec, model_location(spec), AutoModelForQuestionAnswering, ctx.torch_device()
        )
        self.max_answer_tokens = int(spec.options.get("max_answer_tokens", 30))

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        import torch

        question, context = inputs.text("text"), inputs.text("context")
        enc = self.tokenizer(
            question, context, truncation="only_second", max_length=384, return_offsets_mapping=True,
            return_tensors="pt",
        )  # fmt: skip
        offsets = enc.pop("offset_mapping")[0].tolist()
        in_context = [sid == 1 for sid in enc.sequence_ids(0)]
        with torch.inference_mode():
            out = self.model(**enc.to(self.model.device))
        start = out.start_logits[0].float().log_softmax(-1).cpu()
        end = out.end_logits[0].float().log_softmax(-1).cpu()
        mask = torch.tensor(in_context)
        start[~mask], end[~mask] = -1e9, -1e9
        # Best (start, end) with start <= end < start + max_answer_tokens.
        pair = start[:, None] + end[None, :]
        n = pair.shape[0]
        band = torch.triu(torch.ones(n, n, dtype=torch.bool)) & ~torch.triu(
            torch.ones(n, n, dtype=torch.bool), diagonal=self.max_answer_tokens
        )
        pair[~band] = -1e9
        best = int(pair.argmax())
        s, e = divmod(best, n)
        answer = context[offsets[s][0] : offsets[e][1]].strip()
        score = float(pair[s, e].exp())
        return {"text": answer or "(no answer found in the context)", "score": score}


class SentenceSimilarity(Expert):
    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        from sentence_transformers import SentenceTransformer

        location = model_location(spec)
        self.model = loading(spec, lambda: SentenceTransformer(location, device=ctx.torch_device()))

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        return self._run_batch([inputs])[0]

    def _run_batch(self, batch: list[Inputs]) -> list[dict[str, Any]]:
        firsts = self.model.encode([i.text("text") for i in batch], normalize_embeddings=True)
        seconds = self.model.encode([i.text("text2") for i in batch], normalize_embeddings=True)
        scores = [float((a * b).sum()) for a, b in zip(firsts, seconds, strict=True)]
        return [{"text": f"similarity {s:.2f}", "score": s} for s in scores]


# scikit-learn classes a tabular model file may contain; skops refuses anything else (no pickle RCE).
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


class TabularClassifier(Expert):
    """scikit-learn models in the hub's tabular layout: ``config.json`` names the columns and a skops file."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        import skops.io as sio

        folder = local_folder(spec)
        config = json.loads((folder / "config.json").read_text()).get("sklearn", {})
        self.columns: list[str] = list(config.get("columns") or [])
        model_file = folder / config.get("model", {}).get("file", "")
        if model_file.suffix != ".skops" or not model_file.is_file():
            raise ExpertUnavailable(f"{spec.id}: only .skops model files are loaded (pickles can run code)")
        untrusted = [
            t for t in sio.get_untrusted_types(file=model_file) if not t.startswith(_TRUSTED_PREFIXES)
        ]
        if untrusted:
            raise ExpertUnavailable(f"{spec.id}: model file holds untrusted types {untrusted[:3]}")
        self.model = sio.load(model_file, trusted=sio.get_untrusted_types(file=model_file))

    def _rows(self, table: str) -> list[list[float]]:
        reader = csv.DictReader(io.StringIO(table.strip()))
        header = reader.fieldnames or []
        absent = [c for c in self.columns if c not in header]
        if absent:
            raise ExpertInputError(
                f"the table lacks column(s): {', '.join(absent)} (expected {self.columns})"
            )
        try:
            rows = [[float(row[c]) for c in self.columns] for row in reader]
        except (TypeError, ValueError):
            raise ExpertInputError("the table has a non-numeric value in a model column") from None
        if not rows:
            raise ExpertInputError("the table has a header but no rows")
        return rows

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        import numpy as np

        rows = np.asarray(self._rows(inputs.text()), dtype=float)
        predicted = self.model.predict(rows)
        scores = self.model.predict_proba(rows).max(axis=1) if hasattr(self.model, "predict_proba") else None
        labels = [
            {"label": str(p), "score": float(scores[i]) if scores is not None else 1.0}
            for i, p in enumerate(predicted)
        ]
        text = "; ".join(f"row {i + 1}: {lab['label']} ({lab['score']:.2f})" for i, lab in enumerate(labels))
        return {"text": text, "labels": labels}


ADAPTERS: dict[tuple[str, str], type[Expert]] = {
    (ANY_TASK, "transformers-seq2seq"): Seq2SeqGenerator,
    (ANY_TASK, "transformers-qa"): QuestionAnswerer,
    (ANY_TASK, "sentence-transformers"): SentenceSimilarity,
    (ANY_TASK, "sklearn"): TabularClassifier,
    ("text-classification", "transformers-pipeline"): TextClassifier,
    ("token-classification", "transformers-pipeline"): TokenClassifier,
    ("zero-shot-classification", "transformers-pipeline"): ZeroShotClassifier,
    ("text-generation", "transformers-pipeline"): TextGenerator,
    ("conversational", "transformers-pipeline"): TextGenerator,
}
