"""Vision experts through transformers pipelines: detection, classification, segmentation, depth."""

from __future__ import annotations

from typing import Any

from experts.adapters._loading import hf_pipeline
from experts.adapters.base import Expert, ExpertContext, Inputs, model_location, score_text
from experts.adapters.render import depth_to_image, draw_boxes, overlay_masks
from experts.catalog import ModelSpec


class _PipelineExpert(Expert):
    pipeline_task = ""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        self.pipe = hf_pipeline(spec, self.pipeline_task, model_location(spec), ctx.torch_device())


class ObjectDetector(_PipelineExpert):
    pipeline_task = "object-detection"

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        image = inputs.image()
        found = self.pipe(image, threshold=float(self.spec.options.get("threshold", 0.5)))
        boxes = [
            {
                "label": str(d["label"]),
                "score": float(d["score"]),
                "box": {k: float(v) for k, v in d["box"].items()},
            }
            for d in found
        ]
        boxes.sort(key=lambda b: -b["score"])
        text = f"{len(boxes)} object(s): {score_text(boxes, 10)}" if boxes else "no objects found"
        return {"text": text, "boxes": boxes, "image": self.ctx.put_image(draw_boxes(image, boxes))}


class ImageClassifier(_PipelineExpert):
    pipeline_task = "image-classification"

    def _out(self, found: list[dict[str, Any]]) -> dict[str, Any]:
        labels = [{"label": str(d["label"]), "score": float(d["score"])} for d in found]
        return {"text": score_text(labels, 1), "labels": labels}

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        return self._out(self.pipe(inputs.image(), top_k=5))

    def _run_batch(self, batch: list[Inputs]) -> list[dict[str, Any]]:
        # A transformers pipeline given a list still runs one input at a time unless told a batch size.
        found = self.pipe([i.image() for i in batch], top_k=5, batch_size=len(batch))
        return [self._out(f) for f in found]


class ImageSegmenter(_PipelineExpert):
    pipeline_task = "image-segmentation"

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        image = inputs.image()
        found = self.pipe(image)
        segments = [
            {
                "label": str(s["label"]),
                "score": None if s.get("score") is None else float(s["score"]),
                "mask": self.ctx.put_image(s["mask"].convert("L")),
            }
            for s in found
        ]
        text = (
            f"{len(segments)} segment(s): " + ", ".join(s["label"] for s in segments)
            if segments
            else "no segments"
        )
        rendered = overlay_masks(image, [s["mask"] for s in found])
        return {"text": text, "segments": segments, "image": self.ctx.put_image(rendered)}


class DepthEstimator(_PipelineExpert):
    pipeline_task = "depth-estimation"

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        result = self.pipe(inputs.image())
        return {"image": self.ctx.put_image(depth_to_image(result["depth"]))}


ADAPTERS: dict[tuple[str, str], type[Expert]] = {
    ("object-detection", "transformers-pipeline"): ObjectDetector,
    ("image-classification", "transformers-pipeline"): ImageClassifier,
    ("image-segmentation", "transformers-pipeline"): ImageSegmenter,
    ("depth-estimation", "transformers-pipeline"): DepthEstimator,
}
