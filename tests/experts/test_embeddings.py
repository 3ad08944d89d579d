"""The numpy MiniLM encoder: the same vectors as sentence_transformers, without torch in the process."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from experts.embeddings import SentenceEmbedder, bundled_model_dir

ROOT = Path(__file__).resolve().parents[2]

TEXTS = [
    "draw a dog",
    "Generate an image of a cat, then describe it in one sentence and read the description aloud.",
    "Please summarise this article and translate the summary into French: " + "the economy grew. " * 120,
    "tell me a story " * 300,  # far over max_seq_length: truncation decides the vector
    "Übersetze diesen Satz ins Französische, bitte.",
    "这张图片里有什么？请用中文回答。",
    "Что изображено на этой картинке?",
    "🙂🐶 emoji + symbols: #$%&*!? ...",
    "",
    "   ",
    "a",
    "  leading and trailing whitespace \n\t",
    "example.jpg example.wav /images/e1.png",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """sentence_transformers' embeddings of TEXTS (a test-only reference; planning never imports it)."""
    from sentence_transformers import SentenceTransformer

    model_dir = bundled_model_dir()
    assert model_dir is not None
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    return model.encode(TEXTS, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)


def assert_close(ours: np.ndarray, reference: np.ndarray) -> None:
    assert ours.dtype == np.float32 and ours.shape == reference.shape == (len(TEXTS), 384)
    assert float(np.abs(ours - reference).max()) < 1e-4
    assert float((ours * reference).sum(axis=1).min()) > 0.99999


@pytest.mark.parametrize("batch_size", [1, 5, 64])
def test_embeddings_equal_sentence_transformers(embedder: SentenceEmbedder, reference, batch_size: int):
    assert_close(embedder.embed(TEXTS, batch_size=batch_size), reference)


def test_long_texts_are_truncated_at_the_models_max_length(embedder: SentenceEmbedder):
    encoder = embedder._encoder
    assert encoder.max_seq_length == 256  # sentence_bert_config.json, not tokenizer.json's 128
    assert len(encoder.tokenizer.encode("tell me a story " * 300).ids) == 256
    # what lies past the limit cannot change the vector
    a, b = embedder.embed(["tell me a story " * 300, "tell me a story " * 200 + "and draw a dragon " * 100])
    assert float(a @ b) == pytest.approx(1.0, abs=1e-6)


def test_shape_dtype_and_unit_length(embedder: SentenceEmbedder):
    assert embedder.name == "all-MiniLM-L6-v2" and embedder.dim == 384
    vectors = embedder.embed(["one", "two words", ""])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_concurrent_callers_get_the_serial_results(embedder: SentenceEmbedder):
    serial = [embedder.embed([t])[0] for t in TEXTS]
    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(lambda t: embedder.embed([t])[0], TEXTS))
    np.testing.assert_array_equal(np.stack(concurrent), np.stack(serial))


def test_embedding_does_not_import_torch():
    code = (
        "import sys\n"
        "from experts.embeddings import default_embedder\n"
        "default_embedder().embed(['draw a dog', 'and describe it'])\n"
        "heavy = sorted({'torch', 'transformers', 'sentence_transformers'} & set(sys.modules))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


@pytest.mark.parametrize("layer", [0, 2, 6])
def test_kept_hidden_states_equal_transformers_layer_output(
    embedder: SentenceEmbedder, reference, layer: int
):
    """The planner's fine-tuned detector starts from these states: they must be the model's own, per text,
    without the padding of the batch they were computed in."""
    import torch
    from transformers import BertModel

    texts = TEXTS[:3]
    vectors, states = embedder.embed_keeping(texts, layer)
    assert float(np.abs(vectors - reference[:3]).max()) < 1e-4  # the embeddings are unchanged
    model = BertModel.from_pretrained(str(bundled_model_dir())).eval()
    for text, kept in zip(texts, states, strict=True):
        ids = torch.tensor([embedder._encoder.tokenizer.encode(text).ids])
        with torch.no_grad():
            want = model(input_ids=ids, output_hidden_states=True).hidden_states[layer][0].numpy()
        assert kept.shape == want.shape  # as many rows as the text has tokens, whatever the batch padded to
        assert float(np.abs(kept - want).max()) < 1e-4
