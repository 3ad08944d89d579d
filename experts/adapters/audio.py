"""Audio experts: speech synthesis (Piper, transformers TTS), recognition (faster-whisper, transformers),
voice conversion (SpeechT5) and audio classification."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from experts import cancel
from experts.adapters._loading import hf_pipeline, loading
from experts.adapters.base import AUDIO_RATE, Expert, ExpertContext, Inputs, local_folder, model_location
from experts.catalog import ModelSpec
from experts.errors import ExpertInputError, ExpertUnavailable


class PiperSpeech(Expert):
    """Piper (VITS exported to ONNX): real voices that run on a CPU in real time."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        from piper import PiperVoice

        onnx = Path(model_location(spec))
        self.voice = loading(
            spec, lambda: PiperVoice.load(onnx, use_cuda=ctx.torch_device().startswith("cuda"))
        )

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        chunks = list(cancel.checked(self.voice.synthesize(inputs.text())))
        if not chunks:
            raise ExpertInputError("nothing to speak in the text")
        samples = np.concatenate([c.audio_float_array for c in chunks])
        return {"audio": self.ctx.put_audio(samples, chunks[0].sample_rate)}


class TransformersSpeech(Expert):
    """The transformers ``text-to-audio`` pipeline (VITS/MMS, Bark, MusicGen...)."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        self.pipe = hf_pipeline(spec, "text-to-audio", model_location(spec), ctx.torch_device())

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        out = self.pipe(inputs.text())
        return {"audio": self.ctx.put_audio(np.asarray(out["audio"]).squeeze(), int(out["sampling_rate"]))}


class WhisperRecognizer(Expert):
    """faster-whisper (CTranslate2): Whisper at int8 on a CPU."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        from faster_whisper import WhisperModel

        device = "cuda" if ctx.torch_device().startswith("cuda") else "cpu"
        compute = "float16" if device == "cuda" else "int8"
        folder = model_location(spec)
        self.model = loading(
            spec, lambda: WhisperModel(folder, device=device, compute_type=compute, cpu_threads=2)
        )

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        segments, _info = self.model.transcribe(
            inputs.audio(), beam_size=1, condition_on_previous_text=False, without_timestamps=True
        )
        return {"text": " ".join(s.text.strip() for s in cancel.checked(segments)).strip()}


class TransformersRecognizer(Expert):
    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        self.pipe = hf_pipeline(
            spec, "automatic-speech-recognition", model_location(spec), ctx.torch_device()
        )

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        out = self.pipe({"raw": inputs.audio(), "sampling_rate": AUDIO_RATE})
        return {"text": str(out["text"]).strip()}


class VoiceConverter(Expert):
    """SpeechT5 speech-to-speech: re-speaks the input in a target voice (a speaker x-vector)."""

    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        from transformers import SpeechT5FeatureExtractor, SpeechT5ForSpeechToSpeech, SpeechT5HifiGan

        folder = local_folder(spec)
        device = ctx.torch_device()
        self.features = loading(spec, lambda: SpeechT5FeatureExtractor.from_pretrained(folder))
        self.model = (
            loading(spec, lambda: SpeechT5ForSpeechToSpeech.from_pretrained(folder)).to(device).eval()
        )
        vocoder = folder / "vocoder" if (folder / "vocoder").is_dir() else spec.options.get("vocoder")
        if not vocoder:
            raise ExpertUnavailable(f"{spec.id} names no vocoder")
        self.vocoder = loading(spec, lambda: SpeechT5HifiGan.from_pretrained(vocoder)).to(device).eval()
        speaker = folder / "speaker_embedding.npy"
        dim = self.model.config.speaker_embedding_dim
        # Without a shipped x-vector the model speaks in its neutral (zero-embedding) voice.
        self.speaker = np.load(speaker) if speaker.is_file() else np.zeros(dim, dtype=np.float32)

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        import torch

        wave = inputs.audio()
        values = self.features(audio=wave, sampling_rate=AUDIO_RATE, return_tensors="pt").input_values
        speaker = torch.from_numpy(self.speaker).unsqueeze(0).to(self.model.device)
        with torch.inference_mode():
            speech = self.model.generate_speech(values.to(self.model.device), speaker, vocoder=self.vocoder)
        return {"audio": self.ctx.put_audio(speech.float().cpu().numpy(), AUDIO_RATE)}


class AudioClassifier(Expert):
    def __init__(self, spec: ModelSpec, ctx: ExpertContext):
        super().__init__(spec, ctx)
        self.pipe = hf_pipeline(spec, "audio-classification", model_location(spec), ctx.torch_device())

    def _run(self, inputs: Inputs) -> dict[str, Any]:
        found = self.pipe({"raw": inputs.audio(), "sampling_rate": AUDIO_RATE}, top_k=5)
        labels = [{"label": str(d["label"]), "score": float(d["score"])} for d in found]
        text = ", ".join(f"{x['label']} ({x['score']:.2f})" for x in labels[:1]) or "no label"
        return {"text": text, "labels": labels}


ADAPTERS: dict[tuple[str, str], type[Expert]] = {
    ("text-to-speech", "piper"): PiperSpeech,
    ("text-to-speech", "transformers-pipeline"): TransformersSpeech,
    ("automatic-speech-recognition", "faster-whisper"): WhisperRecognizer,
    ("automatic-speech-recognition", "transformers-pipeline"): TransformersRecognizer,
    ("audio-to-audio", "transformers-speecht5-vc"): VoiceConverter,
    ("audio-classification", "transformers-pipeline"): AudioClassifier,
}
