"""Tiny randomly initialised e5-shaped models built from a config: no download, seconds to run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

WORDS = ["query", "passage", "fractura", "cuello", "fémur", "derecho", "izquierdo", "de",
         "del", "infarto", "agudo", "miocardio", "diabetes", "tipo", "hipertensión", "fracture",
         "neck", "femur", "right", "left", "of", "acute", "heart", "|"]  # fmt: skip
CHARS = list("abcdefghijklmnopqrstuvwxyzáéíóúñü0123456789.,:;-()|")


def tiny_tokenizer_json() -> dict:
    """An XLM-R-style Unigram tokenizer over a small vocabulary, in tokenizers' JSON form."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -4.0)]
    vocab += [("\u2581" + w, -2.0) for w in WORDS]
    vocab += [(c, -5.0) for c in CHARS] + [("\u2581" + c, -5.5) for c in CHARS]
    vocab.append(("<mask>", 0.0))
    tokenizer = Tokenizer(Unigram(vocab, unk_id=3))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    tokenizer.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    return json.loads(tokenizer.to_str())


def tiny_bert(vocab_size: int, seed: int = 0):
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, pad_token_id=1,
    )  # fmt: skip
    return transformers.BertModel(config, add_pooling_layer=False).eval()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BertModel checkpoint + tokenizer.json directory, like ``training.base_model`` writes."""
    out = tmp_path_factory.mktemp("tiny-e5")
    tokenizer_json = tiny_tokenizer_json()
    tiny_bert(len(tokenizer_json["model"]["vocab"])).save_pretrained(out)
    (out / "tokenizer.json").write_text(json.dumps(tokenizer_json), encoding="utf-8")
    return out
