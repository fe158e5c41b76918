"""The cross-encoder: the e5 backbone (optionally its lowest layers only) and a scoring head.

A query and a code's passage are read together (``<s> q </s></s> p </s>``, built by the
runtime's ``app.search.reranker.PairEncoder``);
the mean of the token vectors goes through a linear head to one relevance score. It is
trained listwise: a softmax over the scores of one group, whose positive is at index 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from transformers import BertModel

from app.search.onnx_runtime import pad_ids
from app.search.reranker import PairEncoder
from training.base_model import mean_pool

HEAD_FILE = "head.safetensors"
TOKENIZER_FILE = "tokenizer.json"


class CrossEncoder(torch.nn.Module):
    """BertModel + linear head over the mean-pooled pair; ``forward`` returns one score each."""

    def __init__(self, bert: BertModel, dropout: float = 0.1):
        super().__init__()
        self.bert = bert
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(bert.config.hidden_size, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask)
        pooled = mean_pool(hidden.last_hidden_state, attention_mask)
        return self.head(self.dropout(pooled)).squeeze(-1)

    @classmethod
    def from_base(cls, base: Path, layers: int | None = None) -> CrossEncoder:
        """The backbone of ``base`` (its lowest ``layers`` layers; all when None), new head."""
        kwargs = {"num_hidden_layers": layers} if layers else {}
        bert = BertModel.from_pretrained(base, add_pooling_layer=False, **kwargs)
        return cls(bert)

    @classmethod
    def load(cls, path: Path) -> CrossEncoder:
        """A checkpoint written by :meth:`save`."""
        model = cls(BertModel.from_pretrained(path, add_pooling_layer=False))
        model.head.load_state_dict(load_file(path / HEAD_FILE))
        return model.eval()

    def save(self, path: Path, tokenizer_json: Path) -> None:
        """Backbone, head and tokenizer into ``path``."""
        path.mkdir(parents=True, exist_ok=True)
        self.bert.save_pretrained(path)
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, path / HEAD_FILE)
        (path / TOKENIZER_FILE).write_bytes(tokenizer_json.read_bytes())


#: e5's own prefixes, for models trained with ``prefixes``.
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "


def pair_encoder(path: Path, max_length: int, prefixes: bool = False) -> PairEncoder:
    """The runtime's pair encoder over the tokenizer at ``path`` (with e5's prefixes)."""
    tokenizer = Tokenizer.from_file(str(path))
    if prefixes:
        return PairEncoder(tokenizer, max_length, QUERY_PREFIX, PASSAGE_PREFIX)
    return PairEncoder(tokenizer, max_length)


def encode_pairs(
    encoder: PairEncoder, queries: Sequence[str], passages: Sequence[str], device: str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` for (query, passage) pairs."""
    batch = pad_ids([encoder.pair(q, p) for q, p in zip(queries, passages, strict=True)])
    ids = torch.from_numpy(batch["input_ids"]).to(device)
    mask = torch.from_numpy(batch["attention_mask"]).to(device)
    return ids, mask


def listwise_loss(scores: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Softmax cross-entropy over each row of ``scores`` (groups × codes), positive first."""
    target = torch.zeros(scores.shape[0], dtype=torch.long, device=scores.device)
    return torch.nn.functional.cross_entropy(scores / temperature, target)


def describe(model: CrossEncoder) -> dict:
    """Size facts for logs and the data card."""
    config = model.bert.config
    return {
        "layers": config.num_hidden_layers,
        "hidden": config.hidden_size,
        "vocab": config.vocab_size,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
