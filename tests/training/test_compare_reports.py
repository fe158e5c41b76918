"""Comparing two evaluation report folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.compare_reports import main, read_metrics


def _report(root: Path, name: str, top1: float) -> None:
    (root / name).mkdir(parents=True)
    metrics = {f"{s}_exact_p@1": top1 for s in ("all", "unseen", "seen")}
    (root / name / "metrics.json").write_text(json.dumps({"metrics": metrics}))


def test_differences_for_the_configs_in_both(tmp_path: Path) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    _report(before, "hybrid", 0.640)
    _report(before, "dense", 0.2)
    _report(after, "hybrid", 0.644)
    (after / "documents").mkdir()
    (after / "documents" / "metrics.json").write_text('{"documents": 250}')  # another shape
    out = tmp_path / "cmp.md"
    assert main(["--before", str(before), "--after", str(after), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "| hybrid | unseen | 0.640 → 0.644 (+0.004) |" in text
    assert "dense" not in text.split("|---|")[-1]  # only in one folder: not compared


def test_a_folder_without_retrieval_metrics_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no retrieval"):
        read_metrics(tmp_path)
