"""``cielo catalog build|import|embed|info``."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import click

from app.catalog.default import DEFAULT_ALIAS_SPLITS, DEFAULT_EDITION, build_default_catalog
from app.catalog.editions import EditionManager
from app.catalog.open import catalogs_dir
from app.catalog.recipes import import_edition
from app.catalog.store import CatalogStore
from app.cli.common import (
    echo_json,
    encoding_option,
    handle_errors,
    json_option,
    load_store,
    tqdm_progress,
)
from app.errors import ModelError

#: Vector precisions of ``cielo catalog embed`` (``app.search.vector_index.DTYPES``; not
#: imported here so that ``cielo`` starts without onnxruntime and usearch).
EMBED_DTYPES = ("i8", "f16")


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
@encoding_option
@click.option(
    "--embed", is_flag=True,
    help="Also build the vector index for the new edition (as `cielo catalog embed`).",
)
@json_option
@handle_errors
def import_(
    file: Path, edition: str, encoding: str | None, embed: bool, as_json: bool
) -> None:
    """Import an official edition (TSV/CSV code list or tabular XML) and activate it.

    The file is validated completely first; errors are listed with line numbers and
    the active catalog is left untouched. The bundled vector index serves the default
    edition only: use --embed (or `cielo catalog embed` later) for dense and hybrid search.

    Example: cielo catalog import codiesp-D_codes.tsv --edition cie10es-2018 --embed
    """
    progress, close = tqdm_progress()
    try:
        report = import_edition(file, edition, encoding, progress=progress)
    finally:
        close()
    if as_json:
        echo_json(report.to_dict())
    else:
        _print_report(report.to_dict())
    _after_install(embed)


def _after_install(embed: bool) -> None:
    """Say whether dense search serves the new active catalog; build its index if asked."""
    from app.search.bundle import index_status

    store = CatalogStore(EditionManager(catalogs_dir()).active().path)
    status = index_status(store)
    if status.match is not None:
        return
    if embed:
        _build_user_index(store, "i8", None)
    else:
        click.echo(
            f"note: {status.reason}, or import with --embed. Until then search uses BM25 + "
            "aliases.",
            err=True,
        )


def _build_user_index(store: CatalogStore, dtype: str, output: Path | None) -> dict:
    """Embed ``store`` into ``output`` (default: the user index folder); a summary dict."""
    from app.search.bundle import model_dir, user_index_dir
    from app.search.encoder import TextEncoder
    from app.search.fingerprint import catalog_fingerprint
    from app.search.vector_index import build_index

    target = output or user_index_dir(catalog_fingerprint(store))
    encoder = TextEncoder(model_dir())
    progress, close = tqdm_progress()
    start = time.perf_counter()
    try:
        manifest = build_index(store, encoder, target, dtype=dtype, progress=progress)
    finally:
        close()
    seconds = time.perf_counter() - start
    click.echo(
        f"vector index for {store.edition}: {manifest.count} vectors, {manifest.dim} dims, "
        f"{manifest.dtype}, {manifest.index_bytes / 1e6:.1f} MB, {seconds:.0f} s -> {target}",
        err=True,
    )
    return {"path": str(target), "seconds": round(seconds, 1), **asdict(manifest)}


@catalog.command()
@click.option(
    "--dtype", type=click.Choice(EMBED_DTYPES), default="i8", show_default=True,
    help="Vector precision in the index: i8 (half the size) or f16.",
)
@click.option(
    "--output", type=click.Path(file_okay=False, path_type=Path),
    help="Write the index to this folder (e.g. resources/index for a bundle build) instead "
    "of the user data folder.",
)
@click.option(
    "--force", is_flag=True, help="Build even when an index already serves the active catalog."
)
@json_option
@handle_errors
def embed(dtype: str, output: Path | None, force: bool, as_json: bool) -> None:
    """Build the vector index of the active catalog for dense and hybrid search.

    Encodes every category, subcategory and 7th-character code with the bundled encoder
    (about 98k for ICD-10-CM: 10-30 minutes on 2 cores) into the user data folder. The
    index is built aside and moved into place only when complete. Needed after `cielo
    catalog import`: the bundled index serves the default edition only.

    Example: cielo catalog embed --dtype i8
    """
    from app.search.bundle import index_status
    from app.search.vector_index import DenseIndex

    store = load_store()
    status = index_status(store)
    match = status.match
    if output is None and match is not None and not force:
        try:
            DenseIndex.open(match.path)
        except ModelError:
            pass  # damaged: build a user index
        else:
            if as_json:
                echo_json({"built": False, **status.to_dict()})
            else:
                click.echo(
                    f"the {match.kind} vector index {match.path} already serves catalog "
                    f"{store.edition}; nothing to do (--force rebuilds it)",
                    err=True,
                )
            return
    summary = _build_user_index(store, dtype, output)
    if as_json:
        echo_json({"built": True, **summary})


@catalog.command()
@json_option
@handle_errors
def info(as_json: bool) -> None:
    """Show the active edition, its counts and sources, and its vector index status.

    Example: cielo catalog info --json
    """
    from app.search.bundle import index_status

    store = CatalogStore(EditionManager(catalogs_dir()).active().path)
    data = store.info()
    data["vector_index"] = index_status(store).to_dict()
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
    index = data["vector_index"]
    if index["status"] == "missing":
        click.echo(f"vector index: missing ({index['reason']})")
    else:
        click.echo(
            f"vector index: {index['status']}, serves this catalog ({index['count']} vectors, "
            f"{index['dim']} dims, {index['dtype']}; {index['path']})"
        )
    click.echo(f"catalog fingerprint: {index['catalog_fingerprint']}")
