"""Calibrated confidence: monotone in the combined logit, a probability, named honestly."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from app.search.confidence import LEVELS, level_of
from app.search.reranker import RerankerConfig

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
