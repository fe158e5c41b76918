"""Progress bars say something true: counts of codes as they are written, no rate for a
one-step stage (the first-run build once printed ``codes: … 22953328640.00it/s``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog.build import BuildReport, write_catalog
from app.catalog.tabular import parse_tabular
from app.cli.common import tqdm_progress


def test_codes_are_reported_as_they_are_written(tmp_path: Path) -> None:
    entries = list(parse_tabular())[:12_000]  # classification order: parents come first
    calls: list[tuple[str, int, int]] = []
    write_catalog(tmp_path / "c.db", entries, [], BuildReport("test"),
                  lambda stage, done, total: calls.append((stage, done, total)))
    codes = [(done, total) for stage, done, total in calls if stage == "codes"]
    assert codes == [(0, 12_000), (5_000, 12_000), (10_000, 12_000), (12_000, 12_000)]


def test_bars_show_counts_and_no_rate_for_one_step_stages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress, close = tqdm_progress()
    progress("tabular", 0, 1)
    progress("tabular", 1, 1)
    for done in (0, 5_000, 10_000):
        progress("codes", done, 10_000)
    close()
    err = capsys.readouterr().err
    assert "tabular…" in err and "it/s" not in err
    assert "10000/10000" in err and "codes/s" in err  # the rate's unit is what is counted
