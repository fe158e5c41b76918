"""Vocabulary pruning and ONNX export on a tiny model: same tokens, same vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.search.encoder import TextEncoder
from training.base_model import embed_torch
from training.export import export
from training.prune_vocab import keep_ids, prune_model, pruned_tokenizer_json, used_piece_ids

torch = pytest.importorskip("torch")
tokenizers = pytest.importorskip("tokenizers")

TEXTS = ["fractura del cuello del fémur derecho", "infarto agudo de miocardio", "diabetes tipo"]


def load(model_dir: Path):
    from transformers import BertModel

    tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    return BertModel.from_pretrained(model_dir, add_pooling_layer=False).eval(), tokenizer


def test_pruning_keeps_used_pieces_and_their_vectors(tiny_model_dir: Path) -> None:
    model, tokenizer = load(tiny_model_dir)
    tokenizer_json = json.loads((tiny_model_dir / "tokenizer.json").read_text())
    vocab = tokenizer_json["model"]["vocab"]
    used = used_piece_ids(tokenizer, TEXTS)
    kept = keep_ids(vocab, used)
    assert used <= set(kept) and {0, 1, 2, 3, len(vocab) - 1} <= set(kept)
    assert len(kept) < len(vocab)  # whole words no text uses are gone
    assert vocab.index(["\u2581neck", -2.0]) not in kept

    pruned_json = pruned_tokenizer_json(tokenizer_json, kept)
    pruned = tokenizers.Tokenizer.from_str(json.dumps(pruned_json))
    for text in TEXTS:
        full, small = tokenizer.encode("query: " + text), pruned.encode("query: " + text)
        assert full.tokens == small.tokens
        assert [kept[i] for i in small.ids] == full.ids

    before = embed_torch(model, tokenizer, ["query: " + t for t in TEXTS])
    prune_model(model, kept)
    assert model.get_input_embeddings().weight.shape[0] == len(kept)
    after = embed_torch(model, pruned, ["query: " + t for t in TEXTS])
    np.testing.assert_allclose(after, before, atol=1e-5)


def test_pruned_tokenizer_still_spells_unseen_words(tiny_model_dir: Path) -> None:
    _, tokenizer = load(tiny_model_dir)
    tokenizer_json = json.loads((tiny_model_dir / "tokenizer.json").read_text())
    kept = keep_ids(tokenizer_json["model"]["vocab"], used_piece_ids(tokenizer, TEXTS))
    pruned = tokenizers.Tokenizer.from_str(json.dumps(pruned_tokenizer_json(tokenizer_json, kept)))
    encoding = pruned.encode("neck of femur")  # whole-word pieces were pruned: letters remain
    assert 3 not in encoding.ids  # no <unk>
    assert "".join(encoding.tokens[1:-1]).replace("\u2581", " ").strip() == "neck of femur"


@pytest.mark.parametrize(("variant", "min_cosine"), [("fp32", 0.9999), ("qint8-pc-emb", 0.97)])
def test_onnx_export_matches_torch(tiny_model_dir: Path, tmp_path: Path, variant, min_cosine):
    model, tokenizer = load(tiny_model_dir)
    out = export(tiny_model_dir, tmp_path / variant, variant, max_length=32)
    encoder = TextEncoder(out)
    texts = TEXTS + ["de"]
    onnx = encoder.encode(texts, "passage", batch_size=2)  # mixed lengths: padding in play
    reference = embed_torch(model, tokenizer, ["passage: " + t for t in texts])
    assert (onnx * reference).sum(axis=1).min() >= min_cosine
    config = json.loads((out / "encoder.json").read_text())
    assert config["quantization"] == variant and config["dim"] == 32


def test_int8_export_is_smaller(tiny_model_dir: Path, tmp_path: Path) -> None:
    fp32 = export(tiny_model_dir, tmp_path / "fp32", "fp32") / "encoder.onnx"
    int8 = export(tiny_model_dir, tmp_path / "int8", "qint8-pc-emb") / "encoder.onnx"
    assert int8.stat().st_size < fp32.stat().st_size
