"""Decoding and encoding media bytes: images (with a decompression-bomb check), audio, video frames."""

from __future__ import annotations

import io
import re
import wave
from fractions import Fraction

import numpy as np
from PIL import Image

from experts.errors import ExpertInputError, UnsafeSourceError

# ``data:[<type>][;params][;base64],<data>`` (RFC 2397): how a caller may inline media bytes.
DATA_URL_RE = re.compile(
    r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^,;]*)*?)(?P<b64>;base64)?,(?P<data>.*)$",
    re.DOTALL | re.IGNORECASE,
)

# 16 megapixels (4096 x 4096): far above any model's input size (they resize to ~1 MP or less), and small
# enough that a decoded image (and a diffusion pipeline working on it) stays within a replica's memory.
DEFAULT_MAX_PIXELS = 4096 * 4096


def sniff_media_type(data: bytes) -> str | None:
    """The media type that the magic bytes say, or None: never trust a declared type alone."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"BM"):
        return "image/bmp"
    if head.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def matches_kind(media_type: str, kind: str) -> bool:
    if kind == "audio":  # audio often travels in video containers (mp4/webm)
        return media_type.startswith(("audio/", "video/"))
    if kind == "video":
        return media_type.startswith("video/") or media_type == "image/gif"
    return media_type.startswith(f"{kind}/")


def vet_media(data: bytes, kind: str, what: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """The media type the bytes are, when they are ``kind`` (the bytes decide, not a declared type: a
    caller may mislabel, or lie, e.g. HTML sent as image/png). An image's pixel count is read from its
    header. Raises ExpertInputError (wrong kind) or UnsafeSourceError (too many pixels)."""
    media_type = sniff_media_type(data)
    if media_type is None or not matches_kind(media_type, kind):
        raise ExpertInputError(
            f"{what} is not {kind} (it looks like {media_type or 'an unrecognised format'})"
        )
    if media_type.startswith("image/"):
        try:
            width, height = Image.open(io.BytesIO(data)).size
        except Exception as exc:
            raise ExpertInputError(f"{what} is not a readable image ({exc.__class__.__name__})") from None
        if width * height > max_pixels:
            raise UnsafeSourceError(
                f"{what} has {width}x{height} pixels; at most {max_pixels:,} are accepted"
            )
    return media_type


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """An RGB image; the pixel count is checked from the header before any pixel is decoded."""
    try:
        image = Image.open(io.BytesIO(data))
    except Exception as exc:
        raise ExpertInputError(f"not a readable image ({exc.__class__.__name__})") from None
    width, height = image.size
    frames = getattr(image, "n_frames", 1)
    if width * height * frames > max_pixels:
        raise UnsafeSourceError(
            f"image of {width}x{height}x{frames} pixels exceeds the {max_pixels} pixel limit (decompression bomb?)"
        )
    try:
        image.load()
    except Exception as exc:
        raise ExpertInputError(f"corrupt image ({exc.__class__.__name__})") from None
    return image.convert("RGB")


def encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def decode_audio(data: bytes, sampling_rate: int = 16_000, max_seconds: float = 600.0) -> np.ndarray:
    """Mono float32 samples at ``sampling_rate`` from any container PyAV (FFmpeg) can read."""
    import av  # FFmpeg bindings; imported here so text-only processes never pay for them.

    try:
        with av.open(io.BytesIO(data)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise ExpertInputError("the file has no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sampling_rate)
            chunks: list[np.ndarray] = []
            total = 0
            limit = int(max_seconds * sampling_rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += chunk.size
                if total > limit:
                    raise ExpertInputError(f"audio longer than {max_seconds:.0f} s")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except ExpertInputError:
        raise
    except Exception as exc:
        raise ExpertInputError(f"not a readable audio file ({exc.__class__.__name__})") from None
    if not chunks:
        raise ExpertInputError("the audio file holds no samples")
    return np.concatenate(chunks).astype(np.float32)


def encode_wav(samples: np.ndarray, sampling_rate: int) -> bytes:
    """16-bit PCM WAV, mono or (frames, channels)."""
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim > 2:
        audio = audio.reshape(-1)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:  # some vocoders are not normalised
        audio = audio / peak
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(int(sampling_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def encode_mp4(frames: list[Image.Image], fps: int = 8) -> bytes:
    """H.264 MP4 (yuv420p, even dimensions) that browsers play."""
    import av

    width, height = frames[0].size
    width, height = width + width % 2, height + height % 2
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for image in frames:
            rgb = np.asarray(image.convert("RGB").resize((width, height)))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()
