"""Tiny generative and audio models: Stable Diffusion, InstructPix2Pix, text-to-video, SpeechT5 voice
conversion, a wav2vec2 audio classifier."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from experts.offline.parts import clip_tokenizer, labels


def _sd_components(unet_in_channels: int = 4) -> dict[str, Any]:
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tok = clip_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=16, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
    )  # fmt: skip
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=unet_in_channels, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32, attention_head_dim=4,
        norm_num_groups=32,
    )  # fmt: skip
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 64),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), norm_num_groups=32, sample_size=32,
    )  # fmt: skip
    scheduler = DDIMScheduler(
        beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False, steps_offset=1
    )
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tok, "scheduler": scheduler}


def _build_stable_diffusion(out: Path) -> None:
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        **_sd_components(), safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    pipe.save_pretrained(out)


def _build_instruct_pix2pix(out: Path) -> None:
    from diffusers import StableDiffusionInstructPix2PixPipeline

    pipe = StableDiffusionInstructPix2PixPipeline(
        **_sd_components(unet_in_channels=8), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )  # fmt: skip
    pipe.save_pretrained(out)


def _build_text_to_video(out: Path) -> None:
    from diffusers import TextToVideoSDPipeline, UNet3DConditionModel

    parts = _sd_components()
    parts["unet"] = UNet3DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"), up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
        cross_attention_dim=32, attention_head_dim=4, norm_num_groups=32,
    )  # fmt: skip
    TextToVideoSDPipeline(**parts).save_pretrained(out)


def _build_speecht5_vc(out: Path) -> None:
    import numpy as np
    from transformers import (
        SpeechT5Config,
        SpeechT5FeatureExtractor,
        SpeechT5ForSpeechToSpeech,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
    )

    config = SpeechT5Config(
        vocab_size=81, hidden_size=24, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=20,
        speech_decoder_prenet_units=32, speech_decoder_postnet_units=32, speech_decoder_postnet_layers=2,
        speaker_embedding_dim=16, conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 8),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, max_speech_positions=1200,
    )  # fmt: skip
    SpeechT5ForSpeechToSpeech(config).save_pretrained(out)
    SpeechT5FeatureExtractor(num_mel_bins=20).save_pretrained(out)
    vocoder = SpeechT5HifiGan(
        SpeechT5HifiGanConfig(model_in_dim=20, upsample_initial_channel=32, upsample_rates=[4, 4, 4, 4])
    )
    vocoder.save_pretrained(out / "vocoder")
    # A fixed speaker: real voice conversion takes an x-vector; the adapter reads it from this file.
    np.save(out / "speaker_embedding.npy", np.random.default_rng(0).normal(size=16).astype("float32"))


def _build_wav2vec2_audio_classifier(out: Path) -> None:
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    config = Wav2Vec2Config(
        vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20,
        conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, classifier_proj_size=16,
        **labels(["speech", "music", "dog bark", "siren", "silence"]),
    )  # fmt: skip
    Wav2Vec2ForSequenceClassification(config).save_pretrained(out)
    Wav2Vec2FeatureExtractor(sampling_rate=16_000, return_attention_mask=True).save_pretrained(out)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "tiny-stable-diffusion": _build_stable_diffusion,
    "tiny-instruct-pix2pix": _build_instruct_pix2pix,
    "tiny-text-to-video": _build_text_to_video,
    "tiny-speecht5-vc": _build_speecht5_vc,
    "tiny-wav2vec2-audio-cls": _build_wav2vec2_audio_classifier,
}
