"""The offline model set: tiny random-weight models built locally from configs, once, into a cache folder.

They exercise the very loading and inference code that real hub models go through (``from_pretrained``
on a folder, the same pipelines and model classes), in well under a second each, with no network.
Outputs are meaningless by design; shapes and types are real.

Run ``python -m experts.offline`` to build (or just use them: loaders build on first need).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from experts.errors import ExpertUnavailable

log = logging.getLogger(__name__)

# Bump when any builder changes: a cache with another version is rebuilt.
OFFLINE_VERSION = "2"
OFFLINE_DIR_ENV = "HUGGINGGPT_OFFLINE_DIR"
_MARKER = "BUILT"

# A small English vocabulary: enough for tokenizers to produce real ids for test prompts.
_WORDS = (
    "the a an is are was be to of and in on at for with by from this that it its as or not no yes "
    "what who where when how which why do does did can could will would should i you he she we they "
    "my your his her our their cat dog man woman person car tree house sky sun water red green blue "
    "black white big small good bad happy sad love hate movie film book picture image photo video "
    "audio sound speech voice music text question answer context translate summarize summary french "
    "german spanish english paris london city country name john mary apple google company year day "
    "time people world new old first last one two three four five many much more most some any all "
    "picture document invoice total date amount number table row column wine quality label positive "
    "negative neutral entailment contradiction sports politics science weather business great terrible"
).split()


def offline_dir() -> Path:
    return Path(os.environ.get(OFFLINE_DIR_ENV) or Path.home() / ".cache" / "hugginggpt" / "offline-models")


# --- tokenizers -----------------------------------------------------------------------------------


def _wordpiece_vocab(folder: Path) -> Path:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,?!'-:;$%")
    pieces = [f"##{c}" for c in letters]
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(specials + _WORDS + letters + pieces) + "\n")
    return vocab


def _bert_tokenizer(folder: Path) -> Any:
    from transformers import BertTokenizerFast

    with tempfile.TemporaryDirectory() as tmp:
        return BertTokenizerFast(vocab_file=str(_wordpiece_vocab(Path(tmp))), model_max_length=128)


def _bpe_tokenizer(specials: dict[str, str], max_length: int = 128) -> Any:
    """A byte-level BPE tokenizer trained in milliseconds on the tiny vocabulary."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=specials.get("unk_token")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    ordered = list(dict.fromkeys(specials.values()))
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=ordered, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator([" ".join(_WORDS)] * 4, trainer=trainer)
    if "eos_token" in specials and specials.get("append_eos") == "yes":
        eos = specials["eos_token"]
        tok.post_processor = processors.TemplateProcessing(
            single=f"$A {eos}", pair=f"$A {eos} $B {eos}", special_tokens=[(eos, tok.token_to_id(eos))]
        )
    kwargs = {k: v for k, v in specials.items() if k.endswith("_token")}
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=max_length, **kwargs)


def _gpt2_tokenizer() -> Any:
    tok = _bpe_tokenizer(
        {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    )
    tok.pad_token = tok.eos_token
    return tok


def _t5_tokenizer() -> Any:
    # T5 convention: pad=0 (also the decoder start), eos=1, unk=2; eos appended to every input.
    return _bpe_tokenizer(
        {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>", "append_eos": "yes"}
    )


def _clip_tokenizer() -> Any:
    return _bpe_tokenizer(
        {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
         "unk_token": "<|endoftext|>"},
        max_length=16,
    )  # fmt: skip


def _labels(names: list[str]) -> dict[str, Any]:
    return {"id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}


def _tiny_bert(**extra: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(_WORDS) + 100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=128, **extra,
    )  # fmt: skip


def _image_processor(cls_name: str, **kwargs: Any) -> Any:
    """The PIL-backed processor: this install has no torchvision, and neither need production CPUs."""
    import transformers

    cls = getattr(transformers, f"{cls_name}Pil", None) or getattr(transformers, cls_name)
    return cls(**kwargs)


# --- builders: each writes one model folder -------------------------------------------------------


def _build_bert_sentiment(out: Path) -> None:
    from transformers import BertForSequenceClassification

    BertForSequenceClassification(_tiny_bert(**_labels(["negative", "positive"]))).save_pretrained(out)
    _bert_tokenizer(out).save_pretrained(out)


def _build_bert_ner(out: Path) -> None:
    from transformers import BertForTokenClassification

    names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    BertForTokenClassification(_tiny_bert(**_labels(names))).save_pretrained(out)
    _bert_tokenizer(out).save_pretrained(out)


def _build_bert_mnli(out: Path) -> None:
    from transformers import BertForSequenceClassification

    names = ["entailment", "neutral", "contradiction"]
    BertForSequenceClassification(_tiny_bert(**_labels(names))).save_pretrained(out)
    _bert_tokenizer(out).save_pretrained(out)


def _build_bert_squad(out: Path) -> None:
    from transformers import BertForQuestionAnswering

    BertForQuestionAnswering(_tiny_bert()).save_pretrained(out)
    _bert_tokenizer(out).save_pretrained(out)


def _build_t5(out: Path) -> None:
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration

    tok = _t5_tokenizer()
    config = T5Config(
        vocab_size=len(tok), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )  # fmt: skip
    model = T5ForConditionalGeneration(config)
    # Random weights favour pad/unk, which decode to nothing: suppress them so the text is never empty.
    model.generation_config = GenerationConfig(
        decoder_start_token_id=0, eos_token_id=1, pad_token_id=0, max_new_tokens=20, suppress_tokens=[0, 2]
    )
    model.save_pretrained(out)
    tok.save_pretrained(out)


def _build_gpt2(out: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = _gpt2_tokenizer()
    eos = tok.eos_token_id
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=128,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=eos,
        eos_token_id=eos,
    )
    GPT2LMHeadModel(config).save_pretrained(out)
    tok.save_pretrained(out)


def _build_sklearn_wine(out: Path) -> None:
    """A logistic regression fitted on random rows, saved in the safe skops format as hub tabular models are."""
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    columns = ["fixed_acidity", "volatile_acidity", "citric_acid", "residual_sugar", "alcohol"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, len(columns)))
    y = (x[:, -1] > 0).astype(int) + (x[:, 0] > 1).astype(int)
    model = LogisticRegression(max_iter=200).fit(x, np.array(["low", "medium", "high"])[y])
    sio.dump(model, out / "model.skops")
    config = {
        "sklearn": {"columns": columns, "model": {"file": "model.skops"}, "task": "tabular-classification"}
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))


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
        encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=8, **_labels(["person", "cat", "dog", "car"]),
    )  # fmt: skip
    DetrForObjectDetection(config).save_pretrained(out)
    _image_processor("DetrImageProcessor", size={"shortest_edge": 64, "longest_edge": 96}).save_pretrained(
        out
    )


def _build_vit_classifier(out: Path) -> None:
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, **_labels(["cat", "dog", "bird", "car", "tree"]),
    )  # fmt: skip
    ViTForImageClassification(config).save_pretrained(out)
    _image_processor("ViTImageProcessor", size={"height": 32, "width": 32}).save_pretrained(out)


def _build_segformer(out: Path) -> None:
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    config = SegformerConfig(
        num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16], patch_sizes=[7, 3],
        strides=[4, 2], num_attention_heads=[1, 1], mlp_ratios=[2, 2], decoder_hidden_size=16,
        **_labels(["background", "sky", "tree", "person"]),
    )  # fmt: skip
    SegformerForSemanticSegmentation(config).save_pretrained(out)
    _image_processor("SegformerImageProcessor", size={"height": 64, "width": 64}).save_pretrained(out)


def _build_glpn(out: Path) -> None:
    from transformers import GLPNConfig, GLPNForDepthEstimation

    config = GLPNConfig(
        num_encoder_blocks=4, depths=[1, 1, 1, 1], sr_ratios=[8, 4, 2, 1], hidden_sizes=[8, 16, 16, 32],
        num_attention_heads=[1, 1, 1, 1], mlp_ratios=[2, 2, 2, 2], decoder_hidden_size=16,
    )  # fmt: skip
    GLPNForDepthEstimation(config).save_pretrained(out)
    _image_processor("GLPNImageProcessor").save_pretrained(out)


def _build_vit_gpt2_captioner(out: Path) -> None:
    from transformers import GPT2Config, VisionEncoderDecoderConfig, VisionEncoderDecoderModel, ViTConfig

    tok = _gpt2_tokenizer()
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
    _image_processor("ViTImageProcessor", size={"height": 32, "width": 32}).save_pretrained(out)


def _build_vilt_vqa(out: Path) -> None:
    from transformers import ViltConfig, ViltForQuestionAnswering

    config = ViltConfig(
        vocab_size=len(_WORDS) + 100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, image_size=32, patch_size=8, max_position_embeddings=40, num_images=1,
        **_labels(["yes", "no", "cat", "dog", "red", "blue", "two", "three"]),
    )  # fmt: skip
    ViltForQuestionAnswering(config).save_pretrained(out)
    _bert_tokenizer(out).save_pretrained(out)
    _image_processor("ViltImageProcessor", size={"shortest_edge": 32}, size_divisor=8).save_pretrained(out)


def _build_donut_docvqa(out: Path) -> None:
    from transformers import (
        DonutSwinConfig,
        MBartConfig,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
    )

    tok = _bpe_tokenizer(
        {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    )
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
    _image_processor("DonutImageProcessor", size={"height": 64, "width": 48}).save_pretrained(out)


def _sd_components(unet_in_channels: int = 4) -> dict[str, Any]:
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tok = _clip_tokenizer()
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
        **_labels(["speech", "music", "dog bark", "siren", "silence"]),
    )  # fmt: skip
    Wav2Vec2ForSequenceClassification(config).save_pretrained(out)
    Wav2Vec2FeatureExtractor(sampling_rate=16_000, return_attention_mask=True).save_pretrained(out)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "tiny-bert-sentiment": _build_bert_sentiment,
    "tiny-bert-ner": _build_bert_ner,
    "tiny-bert-mnli": _build_bert_mnli,
    "tiny-bert-squad": _build_bert_squad,
    "tiny-t5": _build_t5,
    "tiny-gpt2": _build_gpt2,
    "tiny-sklearn-wine": _build_sklearn_wine,
    "tiny-detr": _build_detr,
    "tiny-vit": _build_vit_classifier,
    "tiny-segformer": _build_segformer,
    "tiny-glpn": _build_glpn,
    "tiny-vit-gpt2": _build_vit_gpt2_captioner,
    "tiny-vilt-vqa": _build_vilt_vqa,
    "tiny-donut-docvqa": _build_donut_docvqa,
    "tiny-stable-diffusion": _build_stable_diffusion,
    "tiny-instruct-pix2pix": _build_instruct_pix2pix,
    "tiny-text-to-video": _build_text_to_video,
    "tiny-speecht5-vc": _build_speecht5_vc,
    "tiny-wav2vec2-audio-cls": _build_wav2vec2_audio_classifier,
}


def _built(folder: Path) -> bool:
    marker = folder / _MARKER
    return marker.is_file() and marker.read_text().strip() == OFFLINE_VERSION


def build_model(name: str, root: Path | None = None) -> Path:
    """Build one tiny model folder (idempotent; atomic: a half-built folder is never visible)."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if name not in BUILDERS:
        raise ExpertUnavailable(f"no offline builder named {name!r}")
    root = root or offline_dir()
    folder = root / name
    if _built(folder):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        torch.manual_seed(0)  # the same weights on every machine
        BUILDERS[name](staging)
        (staging / _MARKER).write_text(OFFLINE_VERSION)
        shutil.rmtree(folder, ignore_errors=True)
        try:
            staging.rename(folder)
        except OSError:  # another process won the race; its folder is as good as ours
            if not _built(folder):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def build_all(root: Path | None = None) -> dict[str, Path]:
    """Every tiny model, built once; seconds on a laptop CPU."""
    return {name: build_model(name, root) for name in BUILDERS}


def package_path(module: str, relative: str) -> Path:
    """A data file shipped inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ExpertUnavailable(f"package {module!r} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        raise ExpertUnavailable(f"package {module!r} has no {relative!r}")
    return path


def resolve_source(source: str) -> Path:
    """A local path for ``offline:<name>`` (built on demand) or ``package:<module>/<path>``."""
    kind, _, rest = source.partition(":")
    if kind == "offline":
        return build_model(rest)
    if kind == "package":
        module, _, relative = rest.partition("/")
        return package_path(module, relative)
    raise ExpertUnavailable(f"unknown model source {source!r}")


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    start = time.perf_counter()
    paths = build_all()
    print(f"built {len(paths)} offline models in {offline_dir()} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
