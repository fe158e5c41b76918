"""Dense-only retrieval on dev, from cached catalog embeddings: the measurements that choose
the quantisation variant, the Matryoshka prefix and the index dtype.

Embedding the catalog is the expensive part (~10 minutes for 98k passages on 2 cores), so
vectors are computed once per encoder file and cached; every (dimension, dtype) combination
is then scored by exact search over the same vectors stored at that precision, in seconds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.catalog.store import CatalogStore
from app.integrity import file_sha256
from app.search.encoder import MODEL_FILE, TextEncoder, l2_normalize
from app.search.normalize import normalize_text
from app.search.passages import passage_text
from training.metrics import MentionResult, score

log = logging.getLogger(__name__)


def passages_cache_file(encoder: TextEncoder, codes: Sequence[str], cache: Path) -> Path:
    """Where :func:`embed_passages` caches the vectors of ``codes`` by ``encoder``: keyed by
    the SHA-256 of the encoder file and the code list."""
    key = hashlib.sha256(
        (file_sha256(encoder.model_dir / MODEL_FILE) + "\n".join(codes)).encode()
    ).hexdigest()[:16]
    return cache / f"passages-{key}.npy"


def embed_passages(
    encoder: TextEncoder, store: CatalogStore, codes: Sequence[str], cache: Path | None = None
) -> np.ndarray:
    """Full-dimension passage vectors for ``codes``, cached per encoder file and code list.

    With a ``cache``, each chunk of 2,048 passages is also saved as it is done (in a
    ``.parts`` folder beside the cache file), so a killed run resumes where it stopped.
    """
    path = passages_cache_file(encoder, codes, cache) if cache else None
    if path is not None and path.exists():
        return np.load(path)
    from tqdm import tqdm

    records = store.get_many(list(codes))
    texts = [passage_text(records[c]) for c in codes]
    chunk = 2048
    parts_dir = path.with_suffix(".parts") if path is not None else None
    if parts_dir is not None:
        parts_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    for start in tqdm(range(0, len(texts), chunk), desc="embed catalog", unit="chunk"):
        part = parts_dir / f"{start:07d}.npy" if parts_dir is not None else None
        if part is not None and part.exists():
            parts.append(np.load(part))
            continue
        parts.append(encoder.encode(texts[start : start + chunk], "passage"))
        if part is not None:
            _save_atomically(part, parts[-1])
    vectors = np.concatenate(parts) if parts else np.zeros((0, encoder.dim), np.float32)
    if path is not None:
        _save_atomically(path, vectors)
        shutil.rmtree(parts_dir, ignore_errors=True)
    return vectors


def _save_atomically(path: Path, array: np.ndarray) -> None:
    """``np.save`` to ``path`` through a temporary file, so a kill leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        np.save(handle, array)
    os.replace(tmp, path)


@dataclass(frozen=True)
class IndexVariant:
    dim: int
    dtype: str  # usearch scalar kind: f32, f16, i8

    @property
    def name(self) -> str:
        return f"{self.dim}-{self.dtype}"

    def bytes_per_vector(self) -> int:
        return self.dim * {"f32": 4, "f16": 2, "i8": 1}[self.dtype]


def stored(vectors: np.ndarray, dtype: str) -> np.ndarray:
    """Unit vectors as an index of scalar kind ``dtype`` stores them, back in float32
    (``i8`` as USearch does for cosine: components scaled by 127 and rounded)."""
    vectors = l2_normalize(vectors)
    if dtype == "f16":
        return vectors.astype(np.float16).astype(np.float32)
    if dtype == "i8":
        return np.clip(np.round(vectors * 127), -127, 127).astype(np.float32) / 127
    return vectors


def rank(
    passages: np.ndarray,
    codes: Sequence[str],
    queries: np.ndarray,
    variant: IndexVariant,
    k: int = 10,
) -> list[tuple[str, ...]]:
    """Exact top-``k`` codes per query over the ``variant`` prefix at the ``variant`` precision.

    Exact search measures the representation; the shipped HNSW index approximates it.
    """
    stored_passages = l2_normalize(stored(passages[:, : variant.dim], variant.dtype))
    return exact_top(l2_normalize(queries[:, : variant.dim]), stored_passages, codes, k)


def exact_top(
    queries: np.ndarray, passages: np.ndarray, codes: Sequence[str], k: int
) -> list[tuple[str, ...]]:
    """The ``k`` codes of highest inner product per query (cosine for unit vectors), best
    first: exact search, against which an approximate index is measured."""
    out: list[tuple[str, ...]] = []
    for start in range(0, len(queries), 256):
        scores = queries[start : start + 256] @ passages.T
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        for row, candidates in zip(scores, top, strict=True):
            best = candidates[np.argsort(-row[candidates], kind="stable")]
            out.append(tuple(codes[int(i)] for i in best))
    return out


def dense_metrics(
    store: CatalogStore,
    encoder: TextEncoder,
    passages: np.ndarray,
    codes: Sequence[str],
    mentions: Sequence[tuple[str, str]],
    seen_norms: set[str],
    variant: IndexVariant,
    queries: np.ndarray | None = None,
) -> dict[str, float]:
    """Score dense-only retrieval of ``mentions`` (text, gold) with one index variant.

    ``queries`` may hold the mentions' full-dimension query vectors, computed once for a sweep;
    latency is then the index search alone.
    """
    started = time.perf_counter()
    if queries is None:
        queries = encoder.encode([text for text, _ in mentions], "query")
    ranked = rank(passages, codes, queries, variant)
    per_query_ms = (time.perf_counter() - started) * 1000 / max(1, len(mentions))
    valid = {
        code: bool(record.valid)
        for code, record in store.get_many([g for _, g in mentions]).items()
    }
    results = [
        MentionResult(
            mention=text,
            gold=gold,
            ranked=codes_,
            seen=normalize_text(text) in seen_norms,
            latency_ms=per_query_ms,
            gold_valid=valid.get(gold, False),
        )
        for (text, gold), codes_ in zip(mentions, ranked, strict=True)
    ]
    return score(results, store.chapter_of)
