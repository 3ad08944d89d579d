"""Drawings of structured results (boxes, masks, depth), so detection and segmentation return an image too."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw

_PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
            (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128)]  # fmt: skip


def draw_boxes(image: Image.Image, boxes: list[dict[str, Any]]) -> Image.Image:
    canvas = image.copy()
    draw = ImageDraw.Draw(canvas)
    for i, item in enumerate(boxes):
        color = _PALETTE[i % len(_PALETTE)]
        b = item["box"]
        draw.rectangle([b["xmin"], b["ymin"], b["xmax"], b["ymax"]], outline=color, width=2)
        draw.text((b["xmin"] + 2, b["ymin"] + 1), f"{item['label']} {item['score']:.2f}", fill=color)
    return canvas


def overlay_masks(image: Image.Image, masks: list[Image.Image], alpha: float = 0.5) -> Image.Image:
    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    for i, mask in enumerate(masks):
        m = np.asarray(mask.convert("L").resize(image.size), dtype=np.float32)[..., None] / 255.0
        color = np.array(_PALETTE[i % len(_PALETTE)], dtype=np.float32)
        base = base * (1 - alpha * m) + color * alpha * m
    return Image.fromarray(base.clip(0, 255).astype(np.uint8))


def depth_to_image(depth: Any) -> Image.Image:
    """A grey-scale map (near = bright) from a depth array or a PIL image."""
    if isinstance(depth, Image.Image):
        return depth.convert("L")
    d = np.asarray(depth, dtype=np.float32).squeeze()
    span = float(d.max() - d.min()) or 1.0
    return Image.fromarray(((d - d.min()) / span * 255).astype(np.uint8))
