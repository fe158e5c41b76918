"""First-stage calibration: fitted by likelihood, cross-fitted by document, thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from app.search.confidence import FEATURES, FirstStageCalibration, softmax_with_null
from training.calibrate import Heads, abstention, cross_fitted, fit, top_claims
from training.metrics import reliability

TRUTH = FirstStageCalibration((3.0, 1.0, 0.5, -1.0), null_logit=2.0, head=6)


def _heads(n: int, seed: int) -> Heads:
    """Heads whose gold row is drawn from ``TRUTH`` itself."""
    rng = np.random.default_rng(seed)
    features = np.zeros((n, TRUTH.head, len(FEATURES)))
    features[:, :, 0] = np.sort(rng.gamma(1.0, 0.6, (n, TRUTH.head)), axis=1)[:, ::-1]
    features[:, :, 1] = rng.random((n, TRUTH.head)) < 0.1
    features[:, :, 2] = rng.integers(0, 3, (n, TRUTH.head))
    features[:, :, 3] = np.log1p(np.arange(TRUTH.head))
    present = np.ones((n, TRUTH.head), dtype=bool)
    gold = np.zeros(n, dtype=int)
    for row in range(n):
        probs = softmax_with_null(features[row] @ np.array(TRUTH.weights), TRUTH.null_logit)
        gold[row] = rng.choice(TRUTH.head + 1, p=np.append(probs, 1 - probs.sum()))
    return Heads(features, present, gold, [f"doc{i // 4}" for i in range(n)])


def test_fit_recovers_the_generating_weights() -> None:
    fitted = fit(_heads(4000, seed=0), TRUTH.head)
    assert fitted.head == TRUTH.head
    np.testing.assert_allclose(fitted.weights, TRUTH.weights, atol=0.5)
    assert fitted.null_logit == pytest.approx(TRUTH.null_logit, abs=0.5)


def test_cross_fitted_claims_are_calibrated_and_thresholds_trade_coverage() -> None:
    heads = _heads(3000, seed=1)
    stated, right = cross_fitted(heads, TRUTH.head)
    assert reliability(stated, right)["ece"] < 0.05
    rows = abstention(stated, right)
    kept = [r["kept"] for r in rows]
    assert kept == sorted(kept, reverse=True) and kept[0] <= 1.0
    precise = [r["right_when_kept"] for r in rows if r["right_when_kept"] is not None]
    assert precise[-1] >= precise[0]


def test_top_claims_match_the_runtime_confidence() -> None:
    heads = _heads(5, seed=2)
    stated, right = top_claims(heads, TRUTH)
    for row in range(5):
        runtime = softmax_with_null(heads.features[row] @ np.array(TRUTH.weights), 2.0)
        assert stated[row] == pytest.approx(runtime[0])
        assert right[row] == (heads.gold[row] == 0)
