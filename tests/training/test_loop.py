"""The shared learning-rate schedule and loss summary."""

from __future__ import annotations

import pytest

from training.loop import loss_summary, warmup_cosine


def test_warmup_then_cosine_to_zero() -> None:
    factor = warmup_cosine(100, 0.1)
    assert factor(0) == pytest.approx(0.1)
    assert factor(9) == pytest.approx(1.0)
    assert factor(10) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.5)
    assert factor(100) == pytest.approx(0.0)
    assert warmup_cosine(5, 0.0)(0) == pytest.approx(1.0)  # at least one warm-up step


def test_loss_summary_means_first_and_last_steps() -> None:
    summary = loss_summary([4.0, 2.0, 1.0, 0.5], window=2)
    assert summary == {"loss_first": 3.0, "loss_last": 0.75, "loss": [4.0, 2.0, 1.0, 0.5]}
    assert loss_summary([])["loss_first"] == 0.0
