"""Choosing the detector's span thresholds by cross-validation on train (the six bundled
CodiEsp train cases stand in for the 500)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.document.lexicon import Lexicon
from app.search.abbreviations import AbbreviationTable
from training import detector_thresholds as dt
from training.codiesp_documents import read_documents

CODIESP = Path(__file__).resolve().parents[1] / "data" / "codiesp"


def _row(p: float, r: float, f: float, inside: float | None = 0.4) -> dict:
    return {
        "overlap_precision": p,
        "overlap_recall": r,
        "overlap_f1": f,
        "detector_min_inside": inside,
        "mention_min_precision": 0.5,
    }


def test_the_rule_prefers_points_that_reach_both_targets_with_a_margin() -> None:
    meets = _row(0.86, 0.83, 0.845)
    better_f1_misses = _row(0.80, 0.95, 0.87)
    assert dt.choose([better_f1_misses, meets]) is meets
    edge = _row(0.85, 0.845, 0.847)  # a better F1, but on the precision target's edge
    assert dt.margin(edge) == pytest.approx(0.0) and dt.margin(meets) == pytest.approx(0.01)
    assert dt.choose([edge, meets, better_f1_misses]) is meets
    # none reaches the targets: the best F1
    assert dt.choose([_row(0.9, 0.7, 0.79), _row(0.7, 0.9, 0.80)])["overlap_f1"] == 0.80


def test_cross_fitted_notes_are_scored_on_the_grid(store, tmp_path: Path) -> None:
    pytest.importorskip("sklearn_crfsuite")
    docs = read_documents(CODIESP, "train")
    titles = Lexicon.from_store(store, aliases=False)
    notes = dt.held_out_notes(docs, titles, AbbreviationTable.default(), tmp_path)
    assert sorted(n.doc.doc_id for n in notes) == sorted(d.doc_id for d in docs)
    # each fold's spotter learned from the other folds only: a held-out note's own gold
    # mentions are not all in its fold's lexicon
    assert len({id(n.spotter) for n in notes}) == dt.FOLDS
    rows = dt.grid_scores(notes)
    assert len(rows) == len(dt.GRID)
    assert all(
        0.0 <= r["overlap_precision"] <= 1.0 and 0.0 <= r["overlap_recall"] <= 1.0 for r in rows
    )
    loose = {r["mention_min_precision"]: r for r in rows if r["detector_min_inside"] == 0.3}
    # a stricter train filter never shows more mentions
    assert loose[0.7]["predicted"] <= loose[0.0]["predicted"]
    viterbi = next(
        r for r in rows if r["detector_min_inside"] is None and r["mention_min_precision"] == 0.0
    )
    assert loose[0.0]["predicted"] > 0 and viterbi["predicted"] > 0
    assert dt.choose(rows) in rows
