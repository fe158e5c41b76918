"""Shared CLI plumbing: error mapping, progress bars, opening the catalog."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from app.catalog.build import Progress
from app.catalog.open import open_catalog
from app.catalog.store import CatalogStore
from app.errors import CieloError
from app.search.pipeline import PipelineConfig, SearchPipeline


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn Cielo's named errors into one-line ``click`` errors (exit code 1), no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CieloError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


#: What the counted stages of catalog and index builds count, for their bars' rates.
STAGE_UNITS = {"codes": " codes", "embedding": " passages"}
#: A stage that is one step (``total`` 1) shows how long it has run, not a count or rate.
_STEP_FORMAT = "{desc}… {elapsed}"


def tqdm_progress() -> tuple[Progress, Callable[[], None]]:
    """A ``(stage, done, total)`` callback drawing tqdm bars on stderr, and a closer.

    A counted stage shows ``done/total`` and a rate in :data:`STAGE_UNITS` (items per
    second measured as they are reported); a one-step stage shows its elapsed time.
    """
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            close()  # one bar at a time: a new stage ends the previous one
            bar = bars[stage] = tqdm(
                total=total, desc=stage, file=sys.stderr, leave=False,
                unit=STAGE_UNITS.get(stage, " items"), unit_scale=False,
                bar_format=_STEP_FORMAT if total <= 1 else None,
            )
        bar.update(done - bar.n)
        if done >= total:
            bar.refresh()  # the final count shows even within tqdm's redraw interval

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return progress, close


def load_store() -> CatalogStore:
    """Open the active catalog, building the default (with a progress bar) on first use."""
    progress, close = tqdm_progress()
    try:
        store = open_catalog(progress=progress)
    finally:
        close()
    return store


def open_search(
    no_aliases: bool, retriever: str, no_rerank: bool = False,
    min_confidence: float | None = None,
) -> SearchPipeline:
    """The search pipeline the options ask for, saying on stderr when a stage is missing.

    Raises:
        click.ClickException: ``min_confidence`` is set but nothing calibrates confidence.
    """
    store = load_store()
    config = PipelineConfig(retriever=retriever, aliases=not no_aliases, rerank=not no_rerank)
    from app.search.bundle import open_pipeline  # loads onnxruntime and usearch

    pipeline, note = open_pipeline(store, config)
    if note:
        click.echo(f"note: {note}", err=True)
    calibrated = pipeline.ranker or pipeline.reranker or pipeline.calibration
    if min_confidence is not None and calibrated is None:
        raise click.ClickException(
            "--min-confidence needs a calibrated confidence: neither the learned ranker, the "
            "reranker nor resources/calibration.json is available"
        )
    return pipeline


def echo_json(data: Any) -> None:
    """Write one JSON document to stdout (UTF-8, not ASCII-escaped)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


top_k_option = click.option(
    "--top-k", "-k", default=10, show_default=True, type=click.IntRange(1, 1000),
    help="How many codes to return.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
encoding_option = click.option(
    "--encoding", default=None, metavar="ENC",
    help="Text encoding of the file (e.g. cp1252, latin-1) when it has no byte-order mark; "
    "default UTF-8. A UTF-8/16/32 byte-order mark always decides.",
)
