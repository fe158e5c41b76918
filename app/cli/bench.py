"""``cielo bench``: timing benchmarks that write JSON (timings never live in unit tests)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def bench() -> None:
    """Measure how fast Cielo is on this machine.

    Example: cielo bench ui --runs 3 --output ui-bench.json
    """


@bench.command("ui")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write the JSON report here (default: print it).",
)
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1, 20),
              help="Fresh app launches to measure.")
@click.option("--key-interval", default=120, show_default=True, type=click.IntRange(10, 2000),
              help="Milliseconds between simulated key presses.")
@click.option("--queries", default=10, show_default=True, type=click.IntRange(1, 10),
              help="How many of the built-in queries to type per launch.")
@click.option("--child", is_flag=True, hidden=True, help="Internal: one measured launch.")
@click.option("--t0", type=float, default=None, hidden=True,
              help="Internal: the parent's clock at launch.")
def ui(
    output: Path | None, runs: int, key_interval: int, queries: int, child: bool,
    t0: float | None,
) -> None:
    """Launch-to-window, first results and UI stalls while typing (offscreen).

    Example: cielo bench ui --output ui-bench.json
    """
    from app.ui.benchmark import QUERIES, run_benchmark, run_child, write_report

    if child:
        click.echo(json.dumps(run_child(t0 or 0.0, key_interval, QUERIES[:queries])))
        return
    try:
        report = run_benchmark(runs=runs, key_interval_ms=key_interval, queries=queries)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    if output is None:
        click.echo(json.dumps(report, indent=2))
    else:
        write_report(report, output)
        click.echo(f"wrote {output}", err=True)
