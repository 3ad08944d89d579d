"""Image + text experts: captioning, visual QA, document QA (OCR-free, Donut-style)."""

from __future__ import annotations

import re
from typing import Any

from experts import cancel
from experts.adapters._loading import loading, tokenizer_and_model
from experts.adapters.base import Expert, ExpertContext, Inputs, model_location
from experts.catalog import ModelSpec
from experts.errors import ExpertUnavailable


class _Generative(Expert):
    """An image encoder + text decoder: VisionEncoderDecoder (image processor + tokenizer) or a model
    with a joint processor (BLIP, GIT)."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        from transformers import AutoConfig

        self.location = model_location(spec)
        config = loading(spec, lambda: AutoConfig.from_pretrained(self.location))
        self.encoder_decoder = config.model_type == "vision-encoder-decoder"
        if self.encoder_decoder:
            from transformers import AutoImageProcessor, AutoTokenizer, VisionEncoderDecoderModel

            self.image_processor = loading(spec, lambda: AutoImageProcessor.from_pretrained(self.location))
            self.tokenizer = loading(spec, lambda: AutoTokenizer.from_pretrained(self.location))
            self.model = loading(spec, lambda: VisionEncoderDecoderModel.from_pretrained(self.location))
        else:
            from transformers import AutoModelForImageTextToText, AutoProcessor

            self.processor = loading(spec, lambda: AutoProcessor.from_pretrained(self.location))
            self.tokenizer = self.processor.tokenizer
            self.model = loading(spec, lambda: AutoModelForImageTextToText.from_pretrained(self.location))
        self.model.to(ctx.torch_device()).eval()
        self.max_new_tokens = int(spec.options.get("max_new_tokens", 32))
        # Length bounds of the generated text; offline random models get a floor so they say something.
        self.lengths = {
            "max_new_tokens": self.max_new_tokens,
            "min_new_tokens": int(spec.options.get("min_new_tokens", 0)),
        }

    def _generate(
        self, images: list[Any], prompts: list[str] | None = None, decoder_prompt: str = ""
    ) -> list[str]:
        import torch

        with torch.inference_mode():
            if self.encoder_decoder:
                pixels = self.image_processor(images, return_tensors="pt").pixel_values.to(self.model.device)
                kwargs: dict[str, Any] = {}
                if decoder_prompt:
                    ids = self.tokenizer(
                        decoder_prompt, add_special_tokens=False, return_tensors="pt"
                    ).input_ids
                    kwargs["decoder_input_ids"] = ids.repeat(len(images), 1).to(self.model.device)
                out = self.model.generate(
                    pixel_values=pixels,
                    **self.lengths,
                    **kwargs,
                    stopping_criteria=cancel.stopping_criteria(),
                )
            else:
                enc = self.processor(images=images, text=prompts, return_tensors="pt", padding=True)
                out = self.model.generate(
                    **enc.to(self.model.device), **self.lengths, stopping_criteria=cancel.stopping_criteria()
                )
        return self.tokenizer.batch_decode(out, skip_special_tokens=not decoder_prompt)


class ImageCaptioner(_Generative):
    def _run(self, inputs: Inputs) -> dict[str, Any]:
        return self._run_batch([inputs])[0]

    def _run_batch(self, batch: list[Inputs]) -> list[dict[str, Any]]:
        return [{"text": t.strip()} for t in self._generate([i.image() for i in batch])]


class VisualQuestionAnswerer(Expert):
    """ViLT-style answer classification, or a generative VQA model (BLIP, GIT)."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        from transformers import AutoConfig

        location = model_location(spec)
        config = loading(spec, lambda: AutoConfig.from_pretrained(location))
        self.generative: _Generative | None = None
        if config.model_type == "vilt":
            from transformers import AutoImageProcessor, ViltForQuestionAnswering

            self.image_processor = loading(spec, lambda: AutoImageProcessor.from_pretrained(location))
            self.tokenizer, self.model = tokenizer_and_model(
                spec, location, ViltForQuestionAnswering, ctx.torch_device()
            )
        else:
            self.generative = _Generative(spec, ctx)

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        import torch

        image, question = inputs.image(), inputs.text("text")
        if self.generative is not None:
            return {"text": self.generative._generate([image], [question])[0].strip()}
        max_len = self.model.config.max_position_embeddings
        text = self.tokenizer(question, return_tensors="pt", truncation=True, max_length=max_len)
        pixels = self.image_processor(image, return_tensors="pt")
        with torch.inference_mode():
            logits = self.model(**text.to(self.model.device), **pixels.to(self.model.device)).logits[0]
        probs = logits.float().sigmoid()
        best = int(probs.argmax())
        return {"text": str(self.model.config.id2label[best]), "score": float(probs[best])}


class DocumentQuestionAnswerer(_Generative):
    """Donut: the question goes into the decoder prompt; the answer is what follows ``<s_answer>``."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        if not self.encoder_decoder:
            raise ExpertUnavailable(f"{spec.id} is not an OCR-free (Donut) document QA model")

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        question = inputs.text("text")
        prompt = f"<s_docvqa><s_question>{question}</s_question><s_answer>"
        decoded = self._generate([inputs.image()], decoder_prompt=prompt)[0]
        answer = decoded.split("<s_answer>", 1)[-1]
        answer = re.sub(r"<[^>]+>", " ", answer.split("</s_answer>", 1)[0])
        return {"text": " ".join(answer.split())}


ADAPTERS: dict[tuple[str, str], type[Expert]] = {
    ("image-to-text", "transformers-vision2seq"): ImageCaptioner,
    ("visual-question-answering", "transformers-vqa"): VisualQuestionAnswerer,
    ("document-question-answering", "transformers-donut"): DocumentQuestionAnswerer,
}
