"""What every adapter shares: the run context, input reading, output normalisation, model location."""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, ValidationError

from experts import cancel
from experts.artifacts import ArtifactStore, default_store
from experts.catalog import ModelSpec
from experts.errors import ExpertInputError, ExpertUnavailable
from experts.fetch import FetchPolicy, Resolver, _system_resolver
from experts.media import DEFAULT_MAX_PIXELS, decode_audio, decode_image, encode_mp4, encode_png, encode_wav
from experts.sources import resolve_media
from experts.tasks import TASK_TYPES, TaskType
from experts.weights import resolve_source

log = logging.getLogger(__name__)

ANY_TASK = "*"  # an ADAPTERS key (ANY_TASK, runtime): the runtime serves every task of its family
AUDIO_RATE = 16_000  # what every speech/audio model here consumes


@dataclass
class ExpertContext:
    """Where an expert reads media from and writes artifacts to, and which device it runs on."""

    store: ArtifactStore = field(default_factory=default_store)
    fetch: FetchPolicy = field(default_factory=FetchPolicy.from_env)
    device: str = field(default_factory=lambda: os.environ.get("HUGGINGGPT_DEVICE", "auto"))
    max_pixels: int = DEFAULT_MAX_PIXELS
    resolver: Resolver = _system_resolver

    def torch_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def put_image(self, image: Image.Image) -> str:
        return self.store.put(encode_png(image), "image/png")

    def put_audio(self, samples: np.ndarray, sampling_rate: int) -> str:
        return self.store.put(encode_wav(samples, sampling_rate), "audio/wav")

    def put_video(self, frames: list[Image.Image], fps: int = 8) -> str:
        return self.store.put(encode_mp4(frames, fps), "video/mp4")


class Label(BaseModel):
    label: str
    score: float


class Box(BaseModel):
    label: str
    score: float
    box: dict[str, float]


class Entity(BaseModel):
    entity: str
    word: str
    start: int | None = None
    end: int | None = None
    score: float


class Segment(BaseModel):
    label: str
    score: float | None = None
    mask: str  # artifact id of a black/white PNG


class ExpertOutput(BaseModel):
    """The normalised output of every expert: media fields hold artifact ids."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    image: str | None = None
    audio: str | None = None
    video: str | None = None
    labels: list[Label] | None = None
    boxes: list[Box] | None = None
    entities: list[Entity] | None = None
    segments: list[Segment] | None = None
    score: float | None = None


class Inputs:
    """Typed access to a task's inputs; every failure is an ExpertInputError naming the input."""

    def __init__(self, task: TaskType, raw: dict[str, Any], ctx: ExpertContext):
        if not isinstance(raw, dict):
            raise ExpertInputError("inputs must be an object of named arguments")
        missing = [i.name for i in task.inputs if i.required and raw.get(i.name) in (None, "", [])]
        if missing:
            raise ExpertInputError(f"{task.name} needs input(s): {', '.join(missing)}")
        self.task, self.raw, self.ctx = task, raw, ctx

    def text(self, name: str = "text", default: str | None = None) -> str:
        value = self.raw.get(name)
        if value is None or value == "":
            if default is not None:
                return default
            raise ExpertInputError(f"missing text input {name!r}")
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    def seed(self, default: int) -> int:
        """The ``seed`` input as a whole number, else ``default`` (the model's configured seed)."""
        value = self.raw.get("seed")
        if value is None or value == "":
            return default
        try:
            return int(str(value).strip())
        except ValueError:
            raise ExpertInputError(f"seed must be a whole number, not {str(value)[:40]!r}") from None

    def media(self, name: str, kind: str) -> bytes:
        """The checked bytes of a media input (a remote expert sends them on as they are)."""
        return resolve_media(self.raw.get(name), kind, self.ctx.store, self.ctx.fetch, self.ctx.resolver).data

    def image(self, name: str = "image") -> Image.Image:
        return decode_image(self.media(name, "image"), self.ctx.max_pixels)

    def audio(self, name: str = "audio", sampling_rate: int = AUDIO_RATE) -> np.ndarray:
        return decode_audio(self.media(name, "audio"), sampling_rate)


class Expert(ABC):
    """One loaded model serving one task. ``run`` is blocking; callers put it on a worker thread."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        self.spec, self.ctx = spec, ctx
        self.task: TaskType = TASK_TYPES[spec.task]

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._normalise(self._run(Inputs(self.task, inputs, self.ctx)))

    def run_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Outputs in input order; adapters whose model batches override ``_run_batch``."""
        prepared = [Inputs(self.task, inputs, self.ctx) for inputs in batch]
        return [self._normalise(out) for out in self._run_batch(prepared)]

    def _run_batch(self, batch: list[Inputs]) -> list[dict[str, Any]]:
        return [self._run(inputs) for inputs in cancel.checked(batch)]

    @abstractmethod
    def _run(self, inputs: Inputs) -> dict[str, Any]: ...

    def _normalise(self, out: dict[str, Any]) -> dict[str, Any]:
        return normalise(self.spec.id, self.task, out)


def normalise(model_id: str, task: TaskType, out: dict[str, Any]) -> dict[str, Any]:
    """The typed output every expert returns, local or remote; a malformed one names its model."""
    try:
        checked = ExpertOutput.model_validate(out).model_dump(exclude_none=True)
    except ValidationError as exc:  # an adapter bug, not the caller's: say which model
        raise ExpertUnavailable(f"{model_id} returned malformed output: {exc.errors()[0]['msg']}") from None
    missing = [f for f in task.outputs if f not in checked]
    if missing:
        raise ExpertUnavailable(f"{model_id} returned no {', '.join(missing)}")
    return checked


def model_location(spec: ModelSpec) -> str:
    """A local folder for offline/bundled models, else the hub id (from_pretrained downloads it)."""
    if spec.source:
        return str(resolve_source(spec.source))
    return spec.id


def local_folder(spec: ModelSpec) -> Path:
    """A folder on disk even for hub models (for runtimes that read files, not ``from_pretrained``)."""
    if spec.source:
        return resolve_source(spec.source)
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(spec.id))
    except Exception as exc:
        raise ExpertUnavailable(f"cannot download {spec.id}: {exc.__class__.__name__}") from None


def score_text(labels: list[dict[str, Any]], limit: int = 3) -> str:
    """'positive (0.93), negative (0.07)'."""
    return ", ".join(f"{item['label']} ({item['score']:.2f})" for item in labels[:limit]) or "no label"
