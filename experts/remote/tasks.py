"""Each task family as one InferenceClient call, its answer read into the fields local experts fill.

A call returns a ``Draft``: media the answer holds waits there until the whole answer has been read and
checked, so a malformed, oversize or wrong-typed answer leaves nothing in the artifact store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from PIL import Image

from experts.adapters.base import AUDIO_RATE, Box, Entity, Inputs, Label, Segment, score_text
from experts.adapters.render import draw_boxes, overlay_masks
from experts.artifacts import ArtifactStore
from experts.errors import ExpertInputError, ExpertOutputError
from experts.media import decode_audio, decode_image, encode_png, encode_wav

_PENDING = "pending-artifact:"


class Draft:
    """Output fields whose media are held back (placeholders) until ``commit``."""

    def __init__(self, max_pixels: int):
        self.max_pixels = max_pixels
        self.fields: dict[str, Any] = {}
        self._media: list[tuple[bytes, str]] = []

    def image(self, image: Any) -> str:
        if not isinstance(image, Image.Image):
            raise ExpertOutputError(f"expected an image, got {type(image).__name__}")
        width, height = image.size
        if width * height > self.max_pixels:
            raise ExpertOutputError(f"the answered image has {width}x{height} pixels, over the limit")
        return self._hold(encode_png(image.convert("RGB")), "image/png")

    def audio(self, data: Any) -> str:
        if not isinstance(data, bytes | bytearray):
            raise ExpertOutputError(f"expected audio bytes, got {type(data).__name__}")
        try:  # stored as 16 kHz WAV, as local speech experts store theirs
            samples = decode_audio(bytes(data), AUDIO_RATE)
        except ExpertInputError as e:
            raise ExpertOutputError(f"the answer is not audio: {e}") from None
        return self._hold(encode_wav(samples, AUDIO_RATE), "audio/wav")

    def _hold(self, data: bytes, media_type: str) -> str:
        self._media.append((data, media_type))
        return f"{_PENDING}{len(self._media) - 1}"

    def commit(self, store: ArtifactStore, checked: dict[str, Any]) -> dict[str, Any]:
        ids = [store.put(data, media_type) for data, media_type in self._media]

        def swap(value: Any) -> Any:
            if isinstance(value, str) and value.startswith(_PENDING):
                return ids[int(value[len(_PENDING) :])]
            if isinstance(value, list):
                return [swap(v) for v in value]
            if isinstance(value, dict):
                return {k: swap(v) for k, v in value.items()}
            return value

        return swap(checked)


Call = Callable[[Any, str, Inputs, Draft], Awaitable[None]]


def _text(value: Any) -> str:
    """A text field of the answer; a missing or non-text one is the endpoint's fault."""
    if not isinstance(value, str):
        raise ExpertOutputError(f"expected text in the answer, got {type(value).__name__}")
    return value.strip()


def _labels(found: Any) -> list[dict[str, Any]]:
    labels = [Label(label=x.label, score=x.score).model_dump() for x in found]
    return sorted(labels, key=lambda x: -x["score"])


async def _input_image(inputs: Inputs) -> bytes:
    return await asyncio.to_thread(inputs.media, "image", "image")


async def text_classification(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    labels = _labels(await client.text_classification(inputs.text(), model=model))
    out.fields.update(text=score_text(labels, 1), labels=labels)


async def token_classification(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    found = await client.token_classification(inputs.text(), model=model, aggregation_strategy="simple")
    entities = [
        Entity(
            entity=e.entity_group or e.entity, word=e.word, start=e.start, end=e.end, score=e.score
        ).model_dump()
        for e in found
    ]
    text = ", ".join(f"{e['word']} ({e['entity']})" for e in entities) or "no entities found"
    out.fields.update(text=text, entities=entities)


async def zero_shot_classification(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    raw = inputs.raw.get("labels")
    candidates = [str(c).strip() for c in (raw if isinstance(raw, list) else str(raw).split(","))]
    candidates = [c for c in candidates if c]
    if not candidates:
        raise ExpertInputError("zero-shot-classification needs at least one candidate label")
    labels = _labels(await client.zero_shot_classification(inputs.text(), candidates, model=model))
    out.fields.update(text=score_text(labels, 1), labels=labels)


async def summarization(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    result = await client.summarization(inputs.text(), model=model)
    out.fields["text"] = _text(result.summary_text)


async def translation(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    target = inputs.raw.get("target_language") or None
    source = inputs.text("source_language", default="English") if target else None  # the client wants both
    result = await client.translation(inputs.text(), model=model, src_lang=source, tgt_lang=target)
    out.fields["text"] = _text(result.translation_text)


async def question_answering(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    result = await client.question_answering(inputs.text("text"), inputs.text("context"), model=model)
    out.fields.update(text=_text(result.answer), score=float(result.score))


async def sentence_similarity(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    scores = await client.sentence_similarity(inputs.text("text"), [inputs.text("text2")], model=model)
    score = float(scores[0])
    out.fields.update(text=f"similarity {score:.2f}", score=score)


async def chat(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    """Conversational and text generation: Inference Providers serve both as chat completion."""
    reply = await client.chat_completion(
        [{"role": "user", "content": inputs.text()}], model=model, max_tokens=256
    )
    out.fields["text"] = _text(reply.choices[0].message.content)


async def text_to_image(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    seed = inputs.seed(-1)  # -1: none given, the endpoint's own choice
    extra = {"seed": seed} if seed >= 0 else {}
    out.fields["image"] = out.image(await client.text_to_image(inputs.text(), model=model, **extra))


async def image_to_image(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    image = await _input_image(inputs)
    prompt = inputs.raw.get("text") or None
    out.fields["image"] = out.image(await client.image_to_image(image, prompt, model=model))


async def image_classification(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    labels = _labels(await client.image_classification(await _input_image(inputs), model=model, top_k=5))
    out.fields.update(text=score_text(labels, 1), labels=labels)


async def object_detection(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    data = await _input_image(inputs)
    found = await client.object_detection(data, model=model)
    boxes = sorted(
        (
            Box(
                label=d.label,
                score=d.score,
                box={k: float(getattr(d.box, k)) for k in ("xmin", "ymin", "xmax", "ymax")},
            ).model_dump()
            for d in found
        ),
        key=lambda b: -b["score"],
    )
    text = f"{len(boxes)} object(s): {score_text(boxes, 10)}" if boxes else "no objects found"
    drawn = draw_boxes(decode_image(data, out.max_pixels), boxes)  # the same rendering as local detectors
    out.fields.update(text=text, boxes=boxes, image=out.image(drawn))


async def image_segmentation(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    data = await _input_image(inputs)
    found = await client.image_segmentation(data, model=model)
    masks = [s.mask for s in found]
    segments = [
        Segment(label=s.label, score=s.score, mask=out.image(s.mask.convert("L"))).model_dump() for s in found
    ]
    text = (
        f"{len(segments)} segment(s): " + ", ".join(s["label"] for s in segments)
        if segments
        else "no segments"
    )
    rendered = overlay_masks(decode_image(data, out.max_pixels), masks)
    out.fields.update(text=text, segments=segments, image=out.image(rendered))


async def image_to_text(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    result = await client.image_to_text(await _input_image(inputs), model=model)
    out.fields["text"] = _text(result.generated_text)


async def visual_question_answering(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    answers = await client.visual_question_answering(await _input_image(inputs), inputs.text(), model=model)
    best = max(answers, key=lambda a: float(a.score or 0.0))
    out.fields.update(text=_text(best.answer), score=float(best.score))


async def document_question_answering(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    answers = await client.document_question_answering(await _input_image(inputs), inputs.text(), model=model)
    best = max(answers, key=lambda a: float(a.score or 0.0))
    out.fields["text"] = " ".join(_text(best.answer).split())


async def automatic_speech_recognition(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    audio = await asyncio.to_thread(inputs.media, "audio", "audio")
    result = await client.automatic_speech_recognition(audio, model=model)
    out.fields["text"] = _text(result.text)


async def audio_classification(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    audio = await asyncio.to_thread(inputs.media, "audio", "audio")
    labels = _labels(await client.audio_classification(audio, model=model, top_k=5))
    out.fields.update(text=score_text(labels, 1), labels=labels)


async def text_to_speech(client: Any, model: str, inputs: Inputs, out: Draft) -> None:
    out.fields["audio"] = out.audio(await client.text_to_speech(inputs.text(), model=model))


# Every catalog task that InferenceClient has a method for. Not here: depth estimation, text2text,
# tabular classification, audio-to-audio and text-to-video stay local.
REMOTE_CALLS: dict[str, Call] = {
    "text-classification": text_classification,
    "token-classification": token_classification,
    "zero-shot-classification": zero_shot_classification,
    "summarization": summarization,
    "translation": translation,
    "question-answering": question_answering,
    "sentence-similarity": sentence_similarity,
    "conversational": chat,
    "text-generation": chat,
    "text-to-image": text_to_image,
    "image-to-image": image_to_image,
    "image-classification": image_classification,
    "object-detection": object_detection,
    "image-segmentation": image_segmentation,
    "image-to-text": image_to_text,
    "visual-question-answering": visual_question_answering,
    "document-question-answering": document_question_answering,
    "automatic-speech-recognition": automatic_speech_recognition,
    "audio-classification": audio_classification,
    "text-to-speech": text_to_speech,
}
