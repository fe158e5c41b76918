"""training.report: files, JSON round-trip, Markdown headline numbers, PNG output."""

from __future__ import annotations

import json
import sys

import pytest

from training.metrics import MentionResult, error_breakdown, score
from training.report import render_markdown, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHAPTERS = {"S72": "19", "I10": "9", "I21": "9", "E11": "4"}


def chapter_of(code: str) -> str | None:
    return CHAPTERS.get(code[:3])


@pytest.fixture
def results() -> list[MentionResult]:
    return [
        MentionResult("hta", "I10", ("I10", "I21.9"), True, 2.0),
        MentionResult("dm2", "E11.9", ("E11.65", "E11.9"), True, 4.0),
        MentionResult("fractura cadera", "S72.001A", ("S72.002A", "S72.001A"), False, 6.0),
        MentionResult("iam", "I21.9", (), False, 8.0),
    ]


@pytest.fixture
def metrics(results) -> dict[str, float]:
    return score(results, chapter_of)


def test_write_report_files_and_json_round_trip(tmp_path, results, metrics):
    config = {"retriever": "bm25", "top_k": 50, "aliases": "train"}
    breakdown = error_breakdown(results, chapter_of)
    paths = write_report(
        metrics, tmp_path / "run", title="dev bm25", config=config, breakdown=breakdown
    )

    assert set(paths) == {"metrics", "report", "figure"}
    assert all(p.is_file() for p in paths.values())
    assert [p.name for p in paths.values()] == ["metrics.json", "report.md", "pr_at_k.png"]

    loaded = json.loads(paths["metrics"].read_text(encoding="utf-8"))
    assert loaded["metrics"] == metrics
    assert loaded["config"] == config
    assert loaded["breakdown"] == breakdown
    assert loaded["title"] == "dev bm25"

    assert paths["figure"].read_bytes()[:8] == PNG_MAGIC


def test_markdown_contains_headline_numbers(tmp_path, metrics):
    paths = write_report(metrics, tmp_path, title="dev bm25", config={"k": 10})
    text = paths["report"].read_text(encoding="utf-8")
    assert text.startswith("# dev bm25\n")
    # all: exact top-1 1/4, exact MAP@10 (1 + 0.5 + 0.5 + 0) / 4; unseen: 0 and 0.25.
    all_row = next(line for line in text.splitlines() if line.startswith("| all |"))
    assert "| 4 | 0.250 | 0.500 |" in all_row
    unseen_row = next(line for line in text.splitlines() if line.startswith("| unseen |"))
    assert "| 2 | 0.000 | 0.250 |" in unseen_row
    # unreachable 0, empty rate 1/4, latency p50 5 ms, p95 2 + 0.95 * 3 * 2 = 7.7 ms.
    assert all_row.endswith("| 0 | 0.250 | 5.000 | 7.700 |")
    assert "## P@k and R@k" in text
    assert '"k": 10' in text
    assert "## Top-1 errors" not in text


def test_markdown_breakdown_section(results, metrics):
    text = render_markdown(
        metrics, title="t", config={}, breakdown=error_breakdown(results, chapter_of)
    )
    assert "| sibling | 2 | 0.667 |" in text
    assert "| empty | 1 | 0.333 |" in text
    assert "| total | 3 | 1.000 |" in text


def test_report_is_deterministic(tmp_path, metrics):
    first = write_report(metrics, tmp_path / "a", title="t", config={"seed": 1})
    second = write_report(metrics, tmp_path / "b", title="t", config={"seed": 1})
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes(), key


def test_missing_matplotlib_names_the_extra(tmp_path, metrics, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[train\]"'):
        write_report(metrics, tmp_path / "out", title="t", config={})
    assert not (tmp_path / "out").exists()
