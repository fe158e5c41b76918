"""``cielo catalog build|import|info``."""

from __future__ import annotations

from pathlib import Path

import click

from app.catalog.default import DEFAULT_ALIAS_SPLITS, DEFAULT_EDITION, build_default_catalog
from app.catalog.editions import EditionManager, validate_edition_name
from app.catalog.open import catalogs_dir
from app.catalog.recipes import build_edition, load_edition_entries
from app.catalog.store import CatalogStore
from app.cli.common import echo_json, handle_errors, json_option, tqdm_progress


@click.group()
def catalog() -> None:
    """Build, import and inspect catalog editions.

    Example: cielo catalog info
    """


def _print_report(report: dict) -> None:
    click.echo(f"edition: {report.get('edition')}", err=True)
    for key in ("codes_by_kind", "spanish_by_source", "aliases_by_source",
                "alias_dropped_by_source", "search_docs_by_field"):
        values = report.get(key) or {}
        click.echo(f"{key}: " + ", ".join(f"{k}={v}" for k, v in values.items()), err=True)
    click.echo(f"valid_codes: {report.get('valid_codes')}", err=True)


@catalog.command("build")
@click.option(
    "--aliases", default=",".join(DEFAULT_ALIAS_SPLITS), show_default=True,
    help="CodiEsp splits used as aliases, comma-separated (train, dev; empty for none).",
)
@json_option
@handle_errors
def build(aliases: str, as_json: bool) -> None:
    """(Re)build the default ICD-10-CM 2026 catalog from the bundled sources and activate it.

    Example: cielo catalog build --aliases train
    """
    splits = tuple(s.strip() for s in aliases.split(",") if s.strip())
    bad = [s for s in splits if s not in ("train", "dev")]
    if bad:
        raise click.BadParameter(
            f"unknown split(s) {bad}: use train and/or dev", param_hint="--aliases"
        )
    progress, close = tqdm_progress()
    try:
        report = EditionManager(catalogs_dir()).install(
            DEFAULT_EDITION,
            lambda path: build_default_catalog(path, alias_splits=splits, progress=progress),
        )
    finally:
        close()
    if as_json:
        echo_json(report.to_dict())
    else:
        _print_report(report.to_dict())


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--edition", required=True, help="Name of the new edition, e.g. cie10es-2024.")
@click.option(
    "--encoding", default="utf-8", show_default=True,
    help="Text encoding of a TSV/CSV code list (e.g. latin-1).",
)
@json_option
@handle_errors
def import_(file: Path, edition: str, encoding: str, as_json: bool) -> None:
    """Import an official edition (TSV/CSV code list or tabular XML) and activate it.

    The file is validated completely first; errors are listed with line numbers and
    the active catalog is left untouched.

    Example: cielo catalog import codiesp-D_codes.tsv --edition cie10es-2018
    """
    validate_edition_name(edition)
    entries, fmt = load_edition_entries(file, encoding)
    progress, close = tqdm_progress()
    try:
        report = EditionManager(catalogs_dir()).install(
            edition,
            lambda path: build_edition(
                path, entries, edition=edition, source_name=file.name, source_format=fmt,
                progress=progress,
            ),
        )
    finally:
        close()
    if as_json:
        echo_json(report.to_dict())
    else:
        _print_report(report.to_dict())


@catalog.command()
@json_option
@handle_errors
def info(as_json: bool) -> None:
    """Show the active edition, its counts and sources.

    Example: cielo catalog info --json
    """
    store = CatalogStore(EditionManager(catalogs_dir()).active().path)
    data = store.info()
    if as_json:
        echo_json(data)
        return
    click.echo(f"edition: {data['edition']}")
    click.echo(f"file: {data['path']} ({data['size_bytes'] / 1e6:.1f} MB)")
    for key in ("codes_by_kind", "spanish_by_source", "notes_by_kind", "aliases_by_source",
                "search_docs_by_field", "sources"):
        values = data.get(key) or {}
        click.echo(f"{key}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    click.echo(f"valid_codes: {data.get('valid_codes')}")
