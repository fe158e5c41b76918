"""Calibrated confidence: monotone in the combined logit, a probability, named honestly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.search.confidence import FEATURES, LEVELS, FirstStageCalibration, level_of, monotone
from app.search.reranker import RerankerConfig
from app.search.types import Candidate

scores = st.lists(st.floats(-20, 20, allow_nan=False), min_size=1, max_size=40)
params = st.tuples(st.floats(0.2, 5), st.floats(0, 3), st.floats(-5, 5))


@given(scores, params)
def test_confidence_is_monotone_in_the_logit_and_a_probability(values, p) -> None:
    config = RerankerConfig(temperature=p[0], rank_weight=p[1], null_logit=p[2])
    logits = config.logits(np.array(values))
    confidences = config.confidences(logits)
    order = np.argsort(-logits, kind="stable")
    assert np.all(np.diff(confidences[order]) <= 1e-12)
    assert np.all(confidences >= 0) and confidences.sum() <= 1 + 1e-9


@given(scores)
def test_a_higher_null_logit_lowers_every_confidence(values) -> None:
    logits = RerankerConfig().logits(np.array(values))
    low = RerankerConfig(null_logit=-2.0).confidences(logits)
    high = RerankerConfig(null_logit=2.0).confidences(logits)
    assert np.all(high <= low) and high.sum() < low.sum()


def test_the_first_stage_rank_breaks_ties_toward_the_first_candidate() -> None:
    logits = RerankerConfig(rank_weight=1.0).logits(np.array([1.0, 1.0, 1.0]))
    assert list(np.argsort(-logits)) == [0, 1, 2]


def test_levels_cover_zero_to_one_in_order() -> None:
    assert [level_of(p) for p in (0.99, 0.75, 0.74, 0.4, 0.39, 0.0)] == [
        "alta", "alta", "media", "media", "baja", "baja",
    ]
    lows = [low for _, low in LEVELS]
    assert lows == sorted(lows, reverse=True) and lows[-1] == 0.0


def _candidates() -> list[Candidate]:
    return [
        Candidate("I10", 0.082, "alias+bm25+dense"),
        Candidate("I11.9", 0.033, "bm25+dense"),
        Candidate("I15.9", 0.016, "dense"),
        Candidate("I12.9", 0.015, "bm25"),
    ]


def test_first_stage_calibration_annotates_the_head_in_order(tmp_path: Path) -> None:
    calibration = FirstStageCalibration((4.0, 1.0, 0.5, -1.0), null_logit=1.0, head=3)
    annotated = calibration.annotate(_candidates())
    assert [c.code for c in annotated] == [c.code for c in _candidates()]
    head = [c.confidence for c in annotated[:3]]
    assert all(p is not None and 0 < p < 1 for p in head) and sum(head) < 1
    assert head[0] == max(head) and annotated[3].confidence is None
    features = FirstStageCalibration.features(_candidates())
    assert features.shape == (4, len(FEATURES))
    assert list(features[0]) == [pytest.approx(0.082 * 60), 1.0, 2.0, 0.0]
    calibration.write(tmp_path / "c.json", fitted_on="test")
    assert FirstStageCalibration.read(tmp_path / "c.json") == calibration


def test_a_calibration_for_other_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"features": ["score"], "weights": [1], "null_logit": 0,
                                "head": 5}))  # fmt: skip
    with pytest.raises(ValueError, match="features"):
        FirstStageCalibration.read(path)


def test_bundled_calibration_serves_hybrid_search_only(store) -> None:
    from app.search.bundle import open_pipeline
    from app.search.pipeline import PipelineConfig

    hybrid, _ = open_pipeline(store, PipelineConfig(rerank=False))
    if hybrid.retriever.name != "fusion" or hybrid.calibration is None:
        pytest.skip("no bundled index or calibration")
    results = hybrid.search("hipertensión arterial", top_k=12)
    assert results[0].code == "I10" and results[0].confidence_level == "alta"
    assert all(r.confidence is not None for r in results[:10])
    assert all(r.confidence is None for r in results[10:])
    lexical, _ = open_pipeline(store, PipelineConfig(retriever="bm25", rerank=False))
    assert lexical.calibration is None
    assert all(r.confidence is None for r in lexical.search("hipertensión arterial"))


@given(st.lists(st.floats(0, 1), max_size=30))
def test_monotone_is_the_running_minimum(values) -> None:
    capped = monotone(values)
    assert len(capped) == len(values)
    assert all(a >= b for a, b in zip(capped, capped[1:], strict=False))
    assert all(c <= v for c, v in zip(capped, values, strict=True))
    assert capped[:1] == values[:1] and monotone(capped) == capped


def test_annotate_never_shows_more_confidence_below() -> None:
    # an exact alias at rank 2 outweighs a better fused score at rank 1
    candidates = [Candidate("S72.0", 0.02, "bm25"), Candidate("S72.9", 0.018, "alias+bm25")]
    calibration = FirstStageCalibration((1.0, 3.0, 0.0, 0.0), null_logit=0.0, head=10)
    raw = calibration.confidences(candidates)
    assert raw[1] > raw[0]
    annotated = [c.confidence for c in calibration.annotate(candidates)]
    assert annotated == [pytest.approx(raw[0]), pytest.approx(raw[0])]


def test_real_results_never_gain_confidence_down_the_list(store) -> None:
    from app.search.bundle import open_pipeline
    from app.search.pipeline import PipelineConfig

    pipeline, _ = open_pipeline(store, PipelineConfig(rerank=False))
    if pipeline.calibration is None and pipeline.reranker is None:
        pytest.skip("no confidence in this bundle")
    long_query = ("dolor torácico y fiebre con tos " * 700)[:20_000]
    for query in ("fractura de cadera", "IAM inferior", "dolor", long_query):
        confidences = [r.confidence for r in pipeline.search(query, top_k=10)]
        shown = [c for c in confidences if c is not None]
        assert shown == sorted(shown, reverse=True), (query[:30], shown)
