"""Tiny vision models: DETR, ViT, SegFormer, GLPN, a ViT-GPT2 captioner, ViLT VQA, Donut document QA."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from experts.offline.parts import (
    WORDS,
    bert_tokenizer,
    bpe_tokenizer,
    gpt2_tokenizer,
    image_processor,
    labels,
)


def _tiny_resnet() -> Any:
    from transformers import ResNetConfig

    return ResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16, 16, 32], depths=[1, 1, 1, 1], out_features=["stage4"]
    )


def _build_detr(out: Path) -> None:
    from transformers import DetrConfig, DetrForObjectDetection

    config = DetrConfig(
        use_timm_backbone=False, backbone_config=_tiny_resnet(), use_pretrained_backbone=False,
        d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=8, **labels(["person", "cat", "dog", "car"]),
    )  # fmt: skip
    DetrForObjectDetection(config).save_pretrained(out)
    image_processor("DetrImageProcessor", size={"shortest_edge": 64, "longest_edge": 96}).save_pretrained(out)


def _build_vit_classifier(out: Path) -> None:
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, **labels(["cat", "dog", "bird", "car", "tree"]),
    )  # fmt: skip
    ViTForImageClassification(config).save_pretrained(out)
    image_processor("ViTImageProcessor", size={"height": 32, "width": 32}).save_pretrained(out)


def _build_segformer(out: Path) -> None:
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    config = SegformerConfig(
        num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16], patch_sizes=[7, 3],
        strides=[4, 2], num_attention_heads=[1, 1], mlp_ratios=[2, 2], decoder_hidden_size=16,
        **labels(["background", "sky", "tree", "person"]),
    )  # fmt: skip
    SegformerForSemanticSegmentation(config).save_pretrained(out)
    image_processor("SegformerImageProcessor", size={"height": 64, "width": 64}).save_pretrained(out)


def _build_glpn(out: Path) -> None:
    from transformers import GLPNConfig, GLPNForDepthEstimation

    config = GLPNConfig(
        num_encoder_blocks=4, depths=[1, 1, 1, 1], sr_ratios=[8, 4, 2, 1], hidden_sizes=[8, 16, 16, 32],
        num_attention_heads=[1, 1, 1, 1], mlp_ratios=[2, 2, 2, 2], decoder_hidden_size=16,
    )  # fmt: skip
    GLPNForDepthEstimation(config).save_pretrained(out)
    image_processor("GLPNImageProcessor").save_pretrained(out)


def _build_vit_gpt2_captioner(out: Path) -> None:
    from transformers import GPT2Config, VisionEncoderDecoderConfig, VisionEncoderDecoderModel, ViTConfig

    tok = gpt2_tokenizer()
    eos = tok.eos_token_id
    encoder = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
    )
    decoder = GPT2Config(
        vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=1, n_head=2, add_cross_attention=True,
        is_decoder=True, bos_token_id=eos, eos_token_id=eos,
    )  # fmt: skip
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = config.pad_token_id = config.eos_token_id = eos
    model = VisionEncoderDecoderModel(config)
    model.generation_config.update(
        decoder_start_token_id=eos, pad_token_id=eos, eos_token_id=eos, max_new_tokens=12
    )
    model.save_pretrained(out)
    tok.save_pretrained(out)
    image_processor("ViTImageProcessor", size={"height": 32, "width": 32}).save_pretrained(out)


def _build_vilt_vqa(out: Path) -> None:
    from transformers import ViltConfig, ViltForQuestionAnswering

    config = ViltConfig(
        vocab_size=len(WORDS) + 100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, image_size=32, patch_size=8, max_position_embeddings=40, num_images=1,
        **labels(["yes", "no", "cat", "dog", "red", "blue", "two", "three"]),
    )  # fmt: skip
    ViltForQuestionAnswering(config).save_pretrained(out)
    bert_tokenizer(out).save_pretrained(out)
    image_processor("ViltImageProcessor", size={"shortest_edge": 32}, size_divisor=8).save_pretrained(out)


def _build_donut_docvqa(out: Path) -> None:
    from transformers import (
        DonutSwinConfig,
        MBartConfig,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
    )

    tok = bpe_tokenizer({"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"})
    tok.add_special_tokens(
        {
            "additional_special_tokens": [
                "<s_docvqa>",
                "<s_question>",
                "</s_question>",
                "<s_answer>",
                "</s_answer>",
            ]
        }
    )
    encoder = DonutSwinConfig(
        image_size=[64, 48], patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[1, 2], window_size=4
    )
    decoder = MBartConfig(
        vocab_size=len(tok), d_model=32, decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=37,
        encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=37, max_position_embeddings=64,
        is_decoder=True, add_cross_attention=True, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, forced_eos_token_id=None,
    )  # fmt: skip
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id, config.pad_token_id = tok.bos_token_id, tok.pad_token_id
    config.eos_token_id = tok.eos_token_id
    model = VisionEncoderDecoderModel(config)
    model.generation_config.update(
        decoder_start_token_id=tok.bos_token_id, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        max_new_tokens=12, forced_eos_token_id=None,
        suppress_tokens=[i for i in tok.all_special_ids if i != tok.eos_token_id],
    )  # fmt: skip
    model.save_pretrained(out)
    tok.save_pretrained(out)
    image_processor("DonutImageProcessor", size={"height": 64, "width": 48}).save_pretrained(out)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "tiny-detr": _build_detr,
    "tiny-vit": _build_vit_classifier,
    "tiny-segformer": _build_segformer,
    "tiny-glpn": _build_glpn,
    "tiny-vit-gpt2": _build_vit_gpt2_captioner,
    "tiny-vilt-vqa": _build_vilt_vqa,
    "tiny-donut-docvqa": _build_donut_docvqa,
}
