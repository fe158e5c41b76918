"""Second stage: an ONNX cross-encoder reads the query with each candidate's passage.

A model directory holds ``reranker.onnx`` (inputs ``input_ids``/``attention_mask`` of
``<s> query: q </s></s> passage: p </s>`` pairs, output ``score``), ``tokenizer.json`` and
``reranker.json`` (prefixes, maximum length, how many candidates to read).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from app.catalog.store import CatalogStore
from app.errors import ModelError
from app.search.dense import dense_query_text
from app.search.onnx_runtime import open_session, pad_batch, required_files
from app.search.passages import passage_text
from app.search.types import Candidate, Query

MODEL_FILE = "reranker.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "reranker.json"


@dataclass(frozen=True)
class RerankerConfig:
    """How pairs are prepared and how many candidates are read (written by the export)."""

    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    max_length: int = 96
    top_n: int = 32

    @classmethod
    def read(cls, path: Path) -> RerankerConfig:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class CrossEncoderReranker:
    """Rescores the first ``top_n`` candidates; the rest keep their order below them.

    Args:
        model_dir: the model directory.
        store: the catalog, for the candidates' passages.
        threads: onnxruntime intra-op threads (default: onnxruntime's).
        top_n: candidates to read (default: the model's ``reranker.json``).

    Raises:
        ModelError: a file is missing or the model cannot be loaded.
    """

    name = "rerank"

    def __init__(
        self, model_dir: Path, store: CatalogStore, threads: int | None = None,
        top_n: int | None = None,
    ):
        self.model_dir = Path(model_dir)
        paths = required_files(self.model_dir, (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE))
        try:
            config = RerankerConfig.read(paths[2])
            self.tokenizer = Tokenizer.from_file(str(paths[1]))
            self.session = open_session(paths[0], threads)
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ModelError(f"{self.model_dir}: cannot load the reranker ({exc})") from exc
        self.config = replace(config, top_n=top_n) if top_n else config
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.config.max_length, strategy="longest_first")
        self.store = store

    def score(self, query: str, passages: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One relevance score per passage for ``query`` (higher is better)."""
        out = np.zeros(len(passages), dtype=np.float32)
        if not passages:
            return out
        pairs = [
            (self.config.query_prefix + query, self.config.passage_prefix + p) for p in passages
        ]
        encodings = self.tokenizer.encode_batch(pairs)
        for start in range(0, len(pairs), batch_size):
            rows = range(start, min(start + batch_size, len(pairs)))
            (scores,) = self.session.run(["score"], pad_batch(encodings, rows))
            out[start : start + len(rows)] = scores
        return out

    def rerank(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        """The first ``top_n`` candidates reordered by the cross-encoder's score."""
        head, tail = candidates[: self.config.top_n], candidates[self.config.top_n :]
        records = self.store.get_many([c.code for c in head])
        head = [c for c in head if c.code in records]
        scores = self.score(dense_query_text(query), [passage_text(records[c.code]) for c in head])
        ranked = sorted(zip(head, scores, strict=True), key=lambda pair: -float(pair[1]))
        return [
            Candidate(c.code, float(s), f"{c.retriever}+{self.name}", c.matched) for c, s in ranked
        ] + tail
