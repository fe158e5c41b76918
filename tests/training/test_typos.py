"""The seeded typist and the typo'd evaluation beside the clean one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.catalog.store import CatalogStore
from app.search.normalize import tokenize
from app.search.pipeline import PipelineConfig, SearchPipeline
from training.evaluate import evaluate_config, render_summary, run_mentions
from training.typos import EDIT_KINDS, MIN_LONG_WORD, Typist, apply_edit, drop_accents

MENTIONS = [
    "fractura pertrocantérea de cadera derecha",
    "hipotiroidismo primario",
    "insuficiencia cardíaca congestiva",
    "neumonía bilateral",
    "HTA",
    "dolor",
    "colecistitis aguda litiásica",
    "diabetes mellitus tipo 2",
] * 5


def test_apply_edit_kinds() -> None:
    assert apply_edit("fractura", "delete", 0) == "ractura"
    assert apply_edit("fractura", "swap", 2) == "frcatura"
    assert apply_edit("fractura", "double", 7) == "fracturaa"
    with pytest.raises(ValueError, match="swap"):
        apply_edit("fractura", "swap", 7)
    with pytest.raises(ValueError, match="unknown edit"):
        apply_edit("fractura", "insert", 1)


def test_drop_accents_keeps_case_and_punctuation() -> None:
    assert drop_accents("Fémur, NIÑO; pingüino") == "Femur, NINO; pinguino"


def test_typist_is_seeded_per_mention() -> None:
    typist = Typist(seed=7)
    once = typist.type_all(MENTIONS)
    assert once == typist.type_all(MENTIONS)  # same seed, same slips
    assert [typist.type(m) for m in reversed(MENTIONS)] == once[::-1]  # order does not matter
    assert once != Typist(seed=8).type_all(MENTIONS)


def test_typist_makes_at_most_one_slip_in_one_long_word() -> None:
    typist = Typist(seed=3, accent_p=0.0, edit_p=1.0)
    for mention in MENTIONS:
        typed = typist.type(mention)
        before, after = tokenize(mention), tokenize(typed)
        changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
        long_words = [w for w in before if len(w) >= MIN_LONG_WORD]
        assert len(changed) == (1 if long_words else 0), (mention, typed)
        for word, slip in changed:
            assert len(word) >= MIN_LONG_WORD and abs(len(word) - len(slip)) <= 1
    assert typist.type("dolor") == "dolor"  # no word of six letters


def test_typist_rates() -> None:
    mentions = [f"{m} {n}" for n, m in enumerate(MENTIONS * 10)]
    never = Typist(accent_p=0.0, edit_p=0.0).type_all(mentions)
    assert never == mentions
    accents = Typist(accent_p=1.0, edit_p=0.0).type_all(mentions)
    assert accents == [drop_accents(m) for m in mentions]
    typed = Typist().type_all(mentions)
    changed = sum(t != m for t, m in zip(typed, mentions, strict=True)) / len(mentions)
    # Expected 0.5: 3 in 4 of the four mentions with an accent and a long word, 1 in 2 of
    # the two with only a long word, none of the two with neither.
    assert 0.4 < changed < 0.6
    assert len(EDIT_KINDS) == 3


def test_typo_run_keeps_the_clean_subsets(store: CatalogStore) -> None:
    pipeline = SearchPipeline(
        store, config=PipelineConfig(alias_sources=("codiesp-train",), rerank=False)
    )
    seen = store.alias_norms(("codiesp-train",))
    mentions = [("hipotiroidismo", "E03.9"), ("cefalea tensional", "G44.209")]
    results = run_mentions(pipeline, mentions, seen, typed=["hipotiroidsmo", "cefalea tensinal"])
    assert [r.mention for r in results] == ["hipotiroidsmo", "cefalea tensinal"]
    assert results[0].seen is ("hipotiroidismo" in seen)
    assert results[0].ranked[0] == "E03.9"
    with pytest.raises(ValueError, match="typed texts"):
        run_mentions(pipeline, mentions, seen, typed=["x"])


def test_evaluate_config_reports_typos_beside_clean(store: CatalogStore, tmp_path: Path) -> None:
    mentions = [("HTA", "I10"), ("hipotiroidismo", "E03.9"), ("neumonía bilateral", "J18.9")]
    metrics = evaluate_config(
        store, "bm25+aliases", mentions, ("codiesp-train",), tmp_path, "tiny",
        typist=Typist(seed=1, accent_p=1.0, edit_p=1.0),
    )
    assert metrics["all_n"] == metrics["typos_all_n"] == 3
    assert 0.0 <= metrics["typos_all_exact_top1"] <= 1.0
    report = json.loads((tmp_path / "bm25_aliases_typos" / "metrics.json").read_text("utf-8"))
    assert report["config"]["typist"]["seed"] == 1
    assert report["config"]["typist"]["mentions_changed"] >= 2
    summary = render_summary({"bm25+aliases": metrics}, "tiny")
    assert "| bm25+aliases | all, typos | 3 |" in summary
    assert "| config | subset | exact top-1 clean | exact top-1 typos | drop |" in summary
    assert "typos" not in render_summary({"x": {"all_n": 1}}, "tiny")
