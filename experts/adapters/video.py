"""Video experts: text-to-video diffusion; frames are encoded to an H.264 MP4 artifact."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from experts.adapters.base import Expert, ExpertContext, Inputs
from experts.adapters.diffusion import load_diffusion_pipeline
from experts.catalog import ModelSpec


def _to_images(frames: Any) -> list[Image.Image]:
    """Frames as PIL images, whatever the pipeline returned (PIL list, float array in [0, 1], uint8 array)."""
    if isinstance(frames, list) and frames and isinstance(frames[0], Image.Image):
        return frames
    array = np.asarray(frames)
    if array.dtype != np.uint8:
        array = (array.clip(0, 1) * 255).round().astype(np.uint8)
    return [Image.fromarray(frame) for frame in array]


class TextToVideo(Expert):
    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        self.pipe = load_diffusion_pipeline(spec, ctx)
        self.steps = int(spec.options.get("num_inference_steps", 25))
        self.num_frames = int(spec.options.get("num_frames", 16))
        self.fps = int(spec.options.get("fps", 8))
        self.seed = int(spec.options.get("seed", 0))  # a task's own ``seed`` input overrides it

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        import torch

        result = self.pipe(
            prompt=inputs.text(),
            num_inference_steps=self.steps,
            num_frames=self.num_frames,
            generator=torch.Generator(device="cpu").manual_seed(inputs.seed(self.seed)),
        )
        frames = _to_images(result.frames[0])
        return {"video": self.ctx.put_video(frames, self.fps)}


ADAPTERS: dict[tuple[str, str], type[Expert]] = {("text-to-video", "diffusers"): TextToVideo}
