"""A tiny cross-encoder exported to ONNX scores like torch in the runtime's reranker."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.catalog.store import CatalogStore
from app.errors import ModelError
from app.search.passages import passage_text
from app.search.query import analyze_query
from app.search.reranker import CrossEncoderReranker
from app.search.types import Candidate

torch = pytest.importorskip("torch")

from training.rerank.export import export  # noqa: E402
from training.rerank.model import CrossEncoder, encode_pairs, pair_encoder  # noqa: E402

CODES = ["S72.001A", "S72.002A", "I10", "E11.9", "I21.9"]


@pytest.fixture(scope="module")
def checkpoint(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(1)
    out = tmp_path_factory.mktemp("ce")
    model = CrossEncoder.from_base(tiny_model_dir)
    torch.nn.init.normal_(model.head.weight, std=1.0)  # a random head with a spread of scores
    model.save(out, tiny_model_dir / "tokenizer.json")
    return out


@pytest.mark.parametrize("variant", ["fp32", "qint8-pc-emb"])
def test_onnx_scores_agree_with_torch(
    checkpoint: Path, store: CatalogStore, tmp_path: Path, variant: str
) -> None:
    out = export(checkpoint, tmp_path / variant, variant, max_length=48, top_n=4)
    reranker = CrossEncoderReranker(out, store)
    assert reranker.config.top_n == 4 and reranker.config.max_length == 48
    passages = [passage_text(store.get(c)) for c in CODES]
    onnx_scores = reranker.score("fractura de cuello de fémur", passages)
    model = CrossEncoder.load(checkpoint)
    tokenizer = pair_encoder(checkpoint / "tokenizer.json", 48)
    with torch.no_grad():
        ids, mask = encode_pairs(tokenizer, ["fractura de cuello de fémur"] * 5, passages)
        torch_scores = model(ids, mask).numpy()
    tolerance = 1e-4 if variant == "fp32" else 0.15 * float(np.ptp(torch_scores))
    np.testing.assert_allclose(onnx_scores, torch_scores, atol=tolerance)
    if variant == "fp32":
        assert list(np.argsort(-onnx_scores)) == list(np.argsort(-torch_scores))


def test_rerank_orders_the_head_and_keeps_the_tail(
    checkpoint: Path, store: CatalogStore, tmp_path: Path
) -> None:
    reranker = CrossEncoderReranker(export(checkpoint, tmp_path / "m", "fp32", top_n=3), store)
    candidates = [Candidate(c, 1.0 - i / 10, "hybrid") for i, c in enumerate(CODES)]
    query = analyze_query("fractura de cadera")
    ranked = reranker.rerank(query, candidates)
    assert {c.code for c in ranked[:3]} == set(CODES[:3])
    assert [c.code for c in ranked[3:]] == CODES[3:]  # beyond top_n: untouched
    head_scores = [c.score for c in ranked[:3]]
    assert head_scores == sorted(head_scores, reverse=True)
    assert all(c.retriever == "hybrid+rerank" for c in ranked[:3])
    confidences = [c.confidence for c in ranked[:3]]
    assert confidences == sorted(confidences, reverse=True) and 0 < sum(confidences) < 1
    assert all(c.confidence is None for c in ranked[3:])
    assert reranker.rerank(query, []) == []


def test_length_sorted_batches_score_like_one_batch(
    checkpoint: Path, store: CatalogStore, tmp_path: Path
) -> None:
    out = export(checkpoint, tmp_path / "m", "fp32")
    passages = [passage_text(store.get(c)) for c in CODES] * 3
    one = CrossEncoderReranker(out, store)
    one.config = replace(one.config, batch_size=len(passages))
    small = CrossEncoderReranker(out, store)
    small.config = replace(small.config, batch_size=2)
    np.testing.assert_allclose(
        small.score("fractura de cadera", passages), one.score("fractura de cadera", passages),
        atol=1e-4,
    )


def test_missing_files_are_a_model_error(tmp_path: Path, store: CatalogStore) -> None:
    with pytest.raises(ModelError, match="missing reranker.onnx"):
        CrossEncoderReranker(tmp_path, store)
