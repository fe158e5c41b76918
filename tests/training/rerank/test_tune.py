"""Reranker tuning: calibration fitted by likelihood, reranking as the runtime does it."""

from __future__ import annotations

import numpy as np
import pytest

from app.search.reranker import RerankerConfig
from app.search.types import Candidate
from training.metrics import document_halves, reliability
from training.rerank.tune import Head, cross_fit, fit, rerank, results, top_confidence


def _heads(n: int = 300, seed: int = 0) -> list[Head]:
    """Heads drawn from the calibration model itself: temperature 0.5, null logit 1."""
    rng = np.random.default_rng(seed)
    truth = RerankerConfig(temperature=0.5, null_logit=1.0)
    heads = []
    for i in range(n):
        codes = tuple(f"C{i}.{j}" for j in range(8))
        scores = rng.normal(0, 2, 8)
        probs = truth.confidences(truth.logits(scores))
        pick = int(rng.choice(9, p=np.append(probs, 1 - probs.sum())))
        gold = codes[pick] if pick < 8 else "Z99"
        heads.append(Head(f"m{i}", gold, f"doc{i // 3}", False, True, codes, scores))
    return heads


def _nll(heads, config: RerankerConfig) -> float:
    total = 0.0
    for head in heads:
        logits = config.logits(head.scores[: config.top_n])
        probs = config.confidences(logits)
        gold = head.codes.index(head.gold) if head.gold in head.codes[: config.top_n] else -1
        total -= np.log(probs[gold] if gold >= 0 else 1 - probs.sum())
    return total / len(heads)


def test_fitting_lowers_the_likelihood_loss_and_keeps_top_n() -> None:
    heads = _heads()
    prior = RerankerConfig(temperature=1.0, rank_weight=0.0, null_logit=0.0)
    fitted = fit(heads, 8, prior)
    assert fitted.top_n == 8 and fitted.temperature > 0
    assert _nll(heads, fitted) < _nll(heads, RerankerConfig(top_n=8)) - 0.01


def test_confidence_of_a_fitted_model_is_roughly_calibrated() -> None:
    train, held_out = _heads(1500, seed=1), _heads(1500, seed=2)
    fitted = fit(train, 8, RerankerConfig())
    assert fitted.temperature == pytest.approx(0.5, rel=0.2)
    assert fitted.null_logit == pytest.approx(1.0, abs=0.4)
    report = reliability(*top_confidence(held_out, [fitted] * len(held_out)))
    assert report["ece"] < 0.05
    assert sum(b["n"] for b in report["bins"]) == len(held_out)


def test_offline_reranking_matches_the_runtime_order() -> None:
    head = _heads(1)[0]
    config = RerankerConfig(top_n=5, temperature=0.7, rank_weight=0.3, null_logit=1.0)
    ranked, confidences = rerank(head, config)
    logits = config.logits(head.scores[:5])
    runtime = sorted(
        (Candidate(c, float(s), "hybrid") for c, s in zip(head.codes[:5], logits, strict=True)),
        key=lambda c: -c.score,
    )
    assert ranked[:5] == [c.code for c in runtime]
    assert ranked[5:] == list(head.codes[5:])
    assert list(confidences) == sorted(confidences, reverse=True)


def test_cross_fitting_never_uses_a_documents_own_half() -> None:
    heads = _heads(90)
    first, second = document_halves([h.doc for h in heads])
    assert {heads[i].doc for i in first}.isdisjoint({heads[i].doc for i in second})
    configs = cross_fit(heads, 8, RerankerConfig())
    assert configs[first[0]] == configs[first[-1]] != configs[second[0]]
    assert len(results(heads, None)[0].ranked) == 8
