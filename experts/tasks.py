"""The task types HuggingGPT plans with: their typed inputs and outputs, and name normalisation.

This registry is the contract between the planner (which may only emit these task names), the
scheduler (which resolves an argument of kind ``image`` to an upstream ``image`` output) and the
adapters (which read these input names and write these output fields).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

MediaKind = Literal["text", "image", "audio", "video"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("text", "image", "audio", "video")


class TaskInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    kind: MediaKind
    required: bool = True
    description: str = ""


class TaskType(BaseModel):
    """One Hugging Face pipeline tag as the planner and the scheduler see it."""

    model_config = ConfigDict(frozen=True)

    name: str
    family: Literal["text", "vision", "audio", "multimodal", "diffusion", "video"]
    description: str
    inputs: tuple[TaskInput, ...]
    # Output fields every expert of this task fills; media fields hold artifact ids.
    outputs: tuple[str, ...]

    def input(self, name: str) -> TaskInput | None:
        return next((i for i in self.inputs if i.name == name), None)

    @property
    def output_kinds(self) -> tuple[MediaKind, ...]:
        return tuple(k for k in MEDIA_KINDS if k in self.outputs)


def _in(name: str, kind: MediaKind, required: bool = True, description: str = "") -> TaskInput:
    return TaskInput(name=name, kind=kind, required=required, description=description)


_TEXT = _in("text", "text")
_IMAGE = _in("image", "image")
_AUDIO = _in("audio", "audio")

_TASKS: list[TaskType] = [
    # --- text ---
    TaskType(
        name="text-classification",
        family="text",
        description="label the sentiment or class of a text",
        inputs=(_TEXT,),
        outputs=("text", "labels"),
    ),
    TaskType(
        name="token-classification",
        family="text",
        description="find named entities / tag tokens in a text",
        inputs=(_TEXT,),
        outputs=("text", "entities"),
    ),
    TaskType(
        name="text2text-generation",
        family="text",
        description="rewrite, correct or transform a text",
        inputs=(_TEXT,),
        outputs=("text",),
    ),
    TaskType(
        name="summarization",
        family="text",
        description="summarise a long text",
        inputs=(_TEXT,),
        outputs=("text",),
    ),
    TaskType(
        name="translation",
        family="text",
        description="translate a text into another language",
        inputs=(_TEXT, _in("target_language", "text", False, "e.g. French")),
        outputs=("text",),
    ),
    TaskType(
        name="question-answering",
        family="text",
        description="answer a question from a context text",
        inputs=(_in("text", "text", description="the question"), _in("context", "text")),
        outputs=("text",),
    ),
    TaskType(
        name="conversational",
        family="text",
        description="reply in a dialogue",
        inputs=(_TEXT,),
        outputs=("text",),
    ),
    TaskType(
        name="text-generation",
        family="text",
        description="continue or write a text from a prompt",
        inputs=(_TEXT,),
        outputs=("text",),
    ),
    TaskType(
        name="sentence-similarity",
        family="text",
        description="score how similar two sentences are",
        inputs=(_TEXT, _in("text2", "text")),
        outputs=("text", "score"),
    ),
    TaskType(
        name="zero-shot-classification",
        family="text",
        description="classify a text into labels given at request time",
        inputs=(_TEXT, _in("labels", "text", description="comma-separated candidate labels")),
        outputs=("text", "labels"),
    ),
    TaskType(
        name="tabular-classification",
        family="text",
        description="classify rows of a table (CSV text)",
        inputs=(_in("text", "text", description="CSV with a header row"),),
        outputs=("text", "labels"),
    ),
    # --- vision ---
    TaskType(
        name="object-detection",
        family="vision",
        description="find and box objects in an image",
        inputs=(_IMAGE,),
        outputs=("text", "boxes", "image"),
    ),
    TaskType(
        name="image-classification",
        family="vision",
        description="label what an image shows",
        inputs=(_IMAGE,),
        outputs=("text", "labels"),
    ),
    TaskType(
        name="image-segmentation",
        family="vision",
        description="segment an image into labelled regions",
        inputs=(_IMAGE,),
        outputs=("text", "segments", "image"),
    ),
    TaskType(
        name="depth-estimation",
        family="vision",
        description="estimate a depth map of an image",
        inputs=(_IMAGE,),
        outputs=("image",),
    ),
    # --- multimodal ---
    TaskType(
        name="image-to-text",
        family="multimodal",
        description="caption an image",
        inputs=(_IMAGE,),
        outputs=("text",),
    ),
    TaskType(
        name="visual-question-answering",
        family="multimodal",
        description="answer a question about an image",
        inputs=(_IMAGE, _in("text", "text", description="the question")),
        outputs=("text",),
    ),
    TaskType(
        name="document-question-answering",
        family="multimodal",
        description="answer a question about a document image",
        inputs=(_IMAGE, _in("text", "text", description="the question")),
        outputs=("text",),
    ),
    # --- diffusion ---
    TaskType(
        name="text-to-image",
        family="diffusion",
        description="generate an image from a text prompt",
        inputs=(_TEXT,),
        outputs=("image",),
    ),
    TaskType(
        name="image-to-image",
        family="diffusion",
        description="edit or vary an image, guided by a prompt",
        inputs=(_IMAGE, _in("text", "text", False, "the edit instruction")),
        outputs=("image",),
    ),
    # --- video ---
    TaskType(
        name="text-to-video",
        family="video",
        description="generate a short video from a text prompt",
        inputs=(_TEXT,),
        outputs=("video",),
    ),
    # --- audio ---
    TaskType(
        name="text-to-speech",
        family="audio",
        description="speak a text aloud",
        inputs=(_TEXT,),
        outputs=("audio",),
    ),
    TaskType(
        name="automatic-speech-recognition",
        family="audio",
        description="transcribe speech to text",
        inputs=(_AUDIO,),
        outputs=("text",),
    ),
    TaskType(
        name="audio-to-audio",
        family="audio",
        description="enhance or separate audio",
        inputs=(_AUDIO,),
        outputs=("audio",),
    ),
    TaskType(
        name="audio-classification",
        family="audio",
        description="label what an audio clip contains",
        inputs=(_AUDIO,),
        outputs=("text", "labels"),
    ),
]

TASK_TYPES: dict[str, TaskType] = {t.name: t for t in _TASKS}

# Names that real planners (JARVIS prompts, TaskBench tool graphs, small LLMs) write for our tasks.
# Keys are slugs (see ``slug``); only add entries whose meaning is unambiguous.
TASK_ALIASES: dict[str, str] = {
    "image-editing": "image-to-image",
    "image-captioning": "image-to-text",
    "image-caption": "image-to-text",
    "speech-recognition": "automatic-speech-recognition",
    "asr": "automatic-speech-recognition",
    "speech-to-text": "automatic-speech-recognition",
    "audio-to-text": "automatic-speech-recognition",
    "tts": "text-to-speech",
    "text-to-audio": "text-to-speech",
    "speech-synthesis": "text-to-speech",
    "named-entity-recognition": "token-classification",
    "ner": "token-classification",
    "entity-recognition": "token-classification",
    "sentiment-analysis": "text-classification",
    "text-sentiment-analysis": "text-classification",
    "vqa": "visual-question-answering",
    "visual-qa": "visual-question-answering",
    "document-qa": "document-question-answering",
    "qa": "question-answering",
    "text-summarizer": "summarization",
    "summarize": "summarization",
    "text-translator": "translation",
    "translate": "translation",
    "chat": "conversational",
    "audio-enhancement": "audio-to-audio",
    "audio-noise-reduction": "audio-to-audio",
    "video-generation": "text-to-video",
    "image-generation": "text-to-image",
    "segmentation": "image-segmentation",
    "detection": "object-detection",
    # TaskBench multimedia tools that one of our tasks performs (downloaders, search engines and video
    # editing tools have no Hugging Face model and stay unmapped).
    "voice-changer": "audio-to-audio",
    "text-grammar-checker": "text2text-generation",
    "text-simplifier": "text2text-generation",
    "text-paraphraser": "text2text-generation",
    "article-spinner": "text2text-generation",
    "text-expander": "text-generation",
    "topic-generator": "text-generation",
    "image-colorizer": "image-to-image",
}


def slug(name: str) -> str:
    """'Text-to-Image', 'text_to_image', ' Text to image ' -> 'text-to-image'."""
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")


def normalize_task_name(name: str) -> str | None:
    """The registry name for what a planner wrote, or None when it names no known task."""
    s = slug(name)
    if s in TASK_TYPES:
        return s
    return TASK_ALIASES.get(s)
