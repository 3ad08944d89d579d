"""Diffusion experts: text-to-image and image-to-image (instruction edits, variations) via diffusers."""

from __future__ import annotations

import inspect
import threading
from typing import Any

from experts import cancel
from experts.adapters._loading import loading
from experts.adapters.base import Expert, ExpertContext, Inputs, model_location
from experts.catalog import ModelSpec


def load_diffusion_pipeline(spec: ModelSpec, ctx: ExpertContext) -> Any:
    """``DiffusionPipeline.from_pretrained``: the pipeline class comes from the model's model_index.json."""
    import torch
    from diffusers import DiffusionPipeline

    device = ctx.torch_device()
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    location = model_location(spec)
    pipe = loading(spec, lambda: DiffusionPipeline.from_pretrained(location, dtype=dtype))
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


class _DiffusionExpert(Expert):
    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        self.pipe = load_diffusion_pipeline(spec, ctx)
        # One pipeline call at a time: a diffusers pipeline is not thread-safe (its scheduler's timesteps and
        # its tokenizer's truncation settings are per-pipeline state), and a replica runs its requests on
        # threads. Concurrent calls failed about 1 in 70 ("Sequence length must be less than
        # max_position_embeddings", "cannot reshape tensor of 0 elements"); batching is how one call serves
        # many callers.
        self.one_at_a_time = threading.Lock()
        self.steps = int(spec.options.get("num_inference_steps", 25))
        self.seed = int(spec.options.get("seed", 0))  # a task's own ``seed`` input overrides it
        self.accepts = set(inspect.signature(self.pipe.__call__).parameters)
        # Abandoned work stops between denoising steps (pipelines without step callbacks run to the end).
        self.stop = (
            {"callback_on_step_end": cancel.diffusers_callback}
            if "callback_on_step_end" in self.accepts
            else {}
        )

    def _generate(self, seeds: list[int], **kwargs: Any) -> list[Any]:
        """The pipeline's images for ``kwargs``, one per seed: one call at a time, stoppable between steps."""
        import torch

        generator = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
        with self.one_at_a_time:
            return self.pipe(
                **kwargs, num_inference_steps=self.steps, generator=generator, **self.stop
            ).images


class TextToImage(_DiffusionExpert):
    def _run(self, inputs: Inputs) -> dict[str, Any]:
        return self._run_batch([inputs])[0]

    def _run_batch(self, batch: list[Inputs]) -> list[dict[str, Any]]:
        images = self._generate([i.seed(self.seed) for i in batch], prompt=[i.text() for i in batch])
        return [{"image": self.ctx.put_image(image)} for image in images]


class ImageToImage(_DiffusionExpert):
    """Instruction edits (instruct-pix2pix), prompt-guided img2img, or prompt-free variations."""

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"image": inputs.image()}
        if "prompt" in self.accepts:
            kwargs["prompt"] = inputs.text("text", default=self.spec.options.get("default_prompt", ""))
        return {"image": self.ctx.put_image(self._generate([self.seed], **kwargs)[0])}


ADAPTERS: dict[tuple[str, str], type[Expert]] = {
    ("text-to-image", "diffusers"): TextToImage,
    ("image-to-image", "diffusers"): ImageToImage,
}
