"""The model card's reranker and confidence sections come from the files commands wrote."""

from __future__ import annotations

import json
from pathlib import Path

from training.model_card import confidence_section, reranker_section


def test_reranker_section_reads_the_shipped_config_and_reports(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "tuning.md").write_text("# Reranker tuning\n\n| top_n |\n|---|\n| 8 |\n")
    config = {
        "layers": 4, "quantization": "qint8-pc-emb", "top_n": 8, "max_length": 64,
        "temperature": 1.6, "rank_weight": 2.6, "null_logit": -2.3,
        "training": {"config": {"steps": 600, "groups_per_batch": 8, "group_size": 8,
                                "seed": 13}, "device": "cpu", "seconds": 1296.7,
                     "loss_first": 2.08, "loss_last": 1.51},
        "groups": {"by_source": {"codiesp-train": 2128}, "negatives_by_kind": {"sibling": 9}},
    }  # fmt: skip
    path = tmp_path / "reranker.json"
    path.write_text(json.dumps(config))
    text = "\n".join(reranker_section(path, reports))
    assert "4 layers" in text and "first 8 candidates" in text
    assert "600 steps of 8 groups of 8" in text and "| codiesp-train | 2128 |" in text
    assert "### Tuning" in text and "| 8 |" in text
    missing = "\n".join(reranker_section(tmp_path / "absent.json", reports))
    assert "No reranker ships" in missing and "### Tuning" in missing


def test_confidence_section_quotes_the_calibration_report(tmp_path: Path) -> None:
    report = tmp_path / "calibration.md"
    report.write_text("# First-stage confidence\n\n| level |\n|---|\n| alta |\n")
    assert "| alta |" in "\n".join(confidence_section(report))
    assert confidence_section(tmp_path / "absent.md") == []


def test_evaluation_rows_leave_out_the_document_report(tmp_path: Path) -> None:
    from training.model_card import evaluation_rows

    (tmp_path / "hybrid_ranker").mkdir()
    (tmp_path / "hybrid_ranker" / "metrics.json").write_text(json.dumps(
        {"metrics": {"all_n": 3431, "unseen_n": 1395, "all_exact_p@1": 0.745}}))
    (tmp_path / "documents").mkdir()  # training.evaluate_documents' report: another shape
    (tmp_path / "documents" / "metrics.json").write_text(json.dumps({"variants": {}}))
    rows = evaluation_rows(tmp_path)
    assert [row[:3] for row in rows] == [["hybrid+ranker", "all", 3431],
                                         ["hybrid+ranker", "unseen", 1395]]
    assert evaluation_rows(tmp_path / "absent") == []
