"""Text encoder: an ONNX bi-encoder with its tokenizer, run by onnxruntime.

A model directory holds ``encoder.onnx`` (inputs ``input_ids``/``attention_mask``, output
``embedding``: the mean-pooled last hidden state), ``tokenizer.json`` and ``encoder.json``
(prefixes, maximum length, dimension). Vectors come back L2-normalised, optionally cut to a
Matryoshka prefix first.

An asymmetric encoder has a third input, ``query`` (a boolean): its graph shares the
embeddings and lower layers and branches into a query tower (tuned for what coders type) and
a passage tower (what the index holds), so one file serves both sides and only one tower runs
per call (``training.export.merge_towers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from app.errors import ModelError
from app.search.onnx_runtime import ModelConfig, open_session, pad_batch, required_files

MODEL_FILE = "encoder.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
TOWER_INPUT = "query"  # the boolean input of a two-tower encoder: True runs the query tower


@dataclass(frozen=True)
class EncoderConfig(ModelConfig):
    """How texts are prepared for the model (written by the bundle build)."""

    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    max_length: int = 128
    dim: int = 384


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class TextEncoder:
    """Encodes queries and passages into unit vectors of ``dim`` (a Matryoshka prefix)."""

    def __init__(self, model_dir: Path, threads: int | None = None, dim: int | None = None):
        self.model_dir = Path(model_dir)
        paths = required_files(self.model_dir, (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE))
        try:
            self.config = EncoderConfig.read(paths[2])
            self.tokenizer = Tokenizer.from_file(str(paths[1]))
            self.session = open_session(paths[0], threads)
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ModelError(f"{self.model_dir}: cannot load the encoder ({exc})") from exc
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.config.max_length)
        self.two_towers = TOWER_INPUT in {i.name for i in self.session.get_inputs()}
        self.dim = dim or self.config.dim
        if not 0 < self.dim <= self.config.dim:
            raise ModelError(f"dimension {self.dim} outside 1..{self.config.dim}")

    def encode(self, texts: Sequence[str], kind: str = "query", batch_size: int = 64) -> np.ndarray:
        """Unit vectors for ``texts``; ``kind`` is ``"query"`` or ``"passage"``."""
        if kind not in ("query", "passage"):
            raise ValueError(f"kind must be query or passage, not {kind!r}")
        prefix = self.config.query_prefix if kind == "query" else self.config.passage_prefix
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch([prefix + t for t in texts])
        # batch texts of similar length together so padding stays small
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            feed = pad_batch(encodings, rows)
            if self.two_towers:
                feed[TOWER_INPUT] = np.array(kind == "query")
            (pooled,) = self.session.run(["embedding"], feed)
            out[rows] = l2_normalize(pooled[:, : self.dim])
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text], "query")[0]
