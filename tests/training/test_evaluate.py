"""The evaluation harness on the real session catalog (train aliases)."""

from __future__ import annotations

from pathlib import Path

from app.catalog.store import CatalogStore
from app.search.pipeline import PipelineConfig, SearchPipeline
from training.evaluate import evaluate_config, render_summary, run_mentions


def test_run_mentions_flags_seen_and_invalid_gold(store: CatalogStore) -> None:
    pipeline = SearchPipeline(store, config=PipelineConfig(alias_sources=("codiesp-train",)))
    seen = store.alias_norms(("codiesp-train",))
    results = run_mentions(
        pipeline, [("HTA", "I10"), ("caída", "W19.XXX"), ("zzzz qqqq", "R69")], seen, top_k=5
    )
    assert results[0].seen and results[0].ranked[0] == "I10" and results[0].gold_valid
    assert results[1].gold_valid is False  # CodiEsp code lacking its 7th character
    assert results[2].seen is False and results[2].ranked == ()
    assert all(r.latency_ms >= 0 for r in results)


def test_evaluate_config_writes_reports(store: CatalogStore, tmp_path: Path) -> None:
    mentions = [("HTA", "I10"), ("fractura del cuello del fémur", "S72.009A")]
    metrics = evaluate_config(
        store, "bm25+aliases", mentions, ("codiesp-train",), tmp_path, "tiny"
    )
    assert metrics["all_n"] == 2
    assert metrics["all_exact_top1"] >= 0.5
    out = tmp_path / "bm25_aliases"
    assert {p.name for p in out.iterdir()} == {"metrics.json", "report.md", "pr_at_k.png"}
    summary = render_summary({"bm25+aliases": metrics}, "tiny")
    assert "| bm25+aliases | all | 2 |" in summary
