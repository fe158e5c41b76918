"""The UI benchmark runs a fresh app process and reports its timings (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from app.cli.main import cli
from app.ui.benchmark import _percentile


def test_percentile_nearest_rank() -> None:
    assert _percentile([], 95) == 0.0
    assert _percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert _percentile(list(map(float, range(1, 101))), 95) == 95.0
    assert _percentile([1.0, 9.0], 100) == 9.0


def test_bench_ui_writes_a_report(installed_data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench" / "ui.json"
    result = CliRunner().invoke(
        cli, ["bench", "ui", "--runs", "1", "--queries", "2", "--key-interval", "20",
              "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    run = report["runs"][0]
    assert 0 < run["imports_s"] < run["window_visible_s"]
    # the first query is typed before the models load: its results follow "ready"
    assert run["ready_s"] <= run["first_results_s"]
    assert run["last_key_to_results_ms"]["n"] == 2
    assert run["typing_lag_ms"]["n"] > 0
    assert report["summary"]["stalls_over_100ms"] == run["stalls_over_100ms"]
    assert report["queries"] == 2
    assert not list(out.parent.glob("*.tmp"))
