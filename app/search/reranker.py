"""Second stage: an ONNX cross-encoder reads the query with each candidate's passage.

A model directory holds ``reranker.onnx`` (inputs ``input_ids``/``attention_mask`` of
``<s> q </s></s> p </s>`` pairs, output ``score``), ``tokenizer.json`` and ``reranker.json``
(maximum length, how many candidates to read). Training builds its pairs with the same
:class:`PairEncoder`, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from app.catalog.store import CatalogStore
from app.errors import ModelError
from app.search.confidence import softmax_with_null
from app.search.dense import dense_query_text
from app.search.onnx_runtime import ModelConfig, open_session, pad_ids, required_files
from app.search.passages import passage_text
from app.search.types import Candidate, Query

MODEL_FILE = "reranker.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "reranker.json"


@dataclass(frozen=True)
class RerankerConfig(ModelConfig):
    """How pairs are read and scores combined (written by the export and the calibration).

    Attributes:
        max_length: pieces per (query, passage) pair.
        query_prefix, passage_prefix: put before each side (e5's ``"query: "`` and
            ``"passage: "`` when the model was trained with them).
        top_n: first-stage candidates read per query.
        batch_size: pairs per ONNX call (pairs are length-sorted first, so little padding).
        temperature: divides the cross-encoder's score.
        rank_weight: weight of the first stage's opinion, ``-log(1 + rank)``.
        null_logit: the logit of "none of these is right": the confidence of a result is its
            share of a softmax over the head's combined logits and this one.
    """

    max_length: int = 64
    query_prefix: str = ""
    passage_prefix: str = ""
    top_n: int = 16
    batch_size: int = 8
    temperature: float = 1.0
    rank_weight: float = 0.0
    null_logit: float = 0.0

    def logits(self, scores: np.ndarray) -> np.ndarray:
        """Combined logits of a head in first-stage order (``scores[0]`` was ranked first)."""
        ranks = np.arange(len(scores), dtype=np.float64)
        return scores.astype(np.float64) / self.temperature - self.rank_weight * np.log1p(ranks)

    def confidences(self, logits: np.ndarray) -> np.ndarray:
        """Each candidate's probability of being the right code (they sum to below 1)."""
        return softmax_with_null(logits, self.null_logit)


BOS_ID, EOS_ID = 0, 2  # XLM-R's <s> and </s>


class PairEncoder:
    """Token ids of ``<s> query </s></s> passage </s>`` pairs, cut to ``max_length``.

    Truncation is longest-first (the longer side loses its last pieces). Passages recur
    from query to query, so their pieces are cached.

    Example: ``PairEncoder(tokenizer, 64).pair("fractura", "Fracture of femur")[0] == 0``
    """

    def __init__(
        self, tokenizer: Tokenizer, max_length: int, query_prefix: str = "",
        passage_prefix: str = "", cache_size: int = 20000,
    ):
        if max_length < 6:
            raise ValueError("max_length must leave room for both texts")
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        self.cache_size = cache_size
        self._passages: dict[str, list[int]] = {}

    def pieces(self, text: str) -> list[int]:
        """The piece ids of a query (prefix included), without special tokens."""
        return self.tokenizer.encode(self.query_prefix + text, add_special_tokens=False).ids

    def passage_pieces(self, text: str) -> list[int]:
        """The piece ids of a passage (prefix included), remembered for the next query."""
        ids = self._passages.get(text)
        if ids is None:
            if len(self._passages) >= self.cache_size:
                self._passages.clear()
            ids = self.tokenizer.encode(self.passage_prefix + text, add_special_tokens=False).ids
            self._passages[text] = ids
        return ids

    def join(self, query: list[int], passage: list[int]) -> list[int]:
        """The pair's ids, each side shortened (longest first) to fit ``max_length``."""
        budget = self.max_length - 4
        q, p = len(query), len(passage)
        if q + p > budget:
            short = min(q, p, budget // 2)
            if q <= p:
                q, p = short, budget - short
            else:
                q, p = budget - short, short
        return [BOS_ID, *query[:q], EOS_ID, EOS_ID, *passage[:p], EOS_ID]

    def pair(self, query: str, passage: str) -> list[int]:
        """The ids of one ``(query, passage)`` pair."""
        return self.join(self.pieces(query), self.passage_pieces(passage))


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
            tokenizer = Tokenizer.from_file(str(paths[1]))
            self.session = open_session(paths[0], threads)
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ModelError(f"{self.model_dir}: cannot load the reranker ({exc})") from exc
        self.config = replace(config, top_n=top_n) if top_n else config
        self.pairs = PairEncoder(
            tokenizer, self.config.max_length, self.config.query_prefix,
            self.config.passage_prefix,
        )
        self.store = store

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """One relevance score per passage for ``query`` (higher is better)."""
        out = np.zeros(len(passages), dtype=np.float32)
        if not passages:
            return out
        query_ids = self.pairs.pieces(query)
        rows = [self.pairs.join(query_ids, self.pairs.passage_pieces(p)) for p in passages]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        size = self.config.batch_size
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            (scores,) = self.session.run(["score"], pad_ids([rows[i] for i in batch]))
            out[batch] = scores
        return out

    def rerank(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        """The first ``top_n`` candidates reordered by combined logit, each with its
        confidence; the rest follow in first-stage order without one."""
        head, tail = candidates[: self.config.top_n], candidates[self.config.top_n :]
        records = self.store.get_many([c.code for c in head])
        head = [c for c in head if c.code in records]
        if not head:
            return tail
        scores = self.score(dense_query_text(query), [passage_text(records[c.code]) for c in head])
        logits = self.config.logits(scores)
        confidences = self.config.confidences(logits)
        order = np.argsort(-logits, kind="stable")
        return [
            Candidate(
                head[i].code, float(logits[i]), f"{head[i].retriever}+{self.name}",
                head[i].matched, float(confidences[i]),
            )
            for i in order
        ] + tail
