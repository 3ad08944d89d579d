"""Sample media bytes for the experts tests (imported by path: tests are not a package)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from experts.media import encode_wav


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    pixels = (np.random.default_rng(0).random((height, width, 3)) * 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def wav_bytes(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    t = np.linspace(0, seconds, int(seconds * rate), dtype=np.float32)
    return encode_wav(0.3 * np.sin(2 * np.pi * 440 * t), rate)
