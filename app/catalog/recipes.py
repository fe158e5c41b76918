"""Build recipes for imported editions (the default recipe is in ``default``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.catalog.build import BuildReport, Progress, write_catalog
from app.catalog.default import (
    DEFAULT_ALIAS_SPLITS,
    alias_source,
    codiesp_file,
    default_entries,
    load_aliases,
)
from app.catalog.entries import CatalogEntry
from app.catalog.importer import code_list_entries, read_code_list, tabular_entries
from app.catalog.spanish import attach_spanish_titles, read_agreement, read_who_spanish
from app.paths import resources_dir


def load_edition_entries(path: Path, encoding: str = "utf-8") -> tuple[list[CatalogEntry], str]:
    """Validated entries of an edition file and its format (``tabular-xml`` or ``code-list``).

    Raises:
        ImportValidationError: any validation problem, with line numbers.
    """
    if path.suffix.lower() == ".xml":
        entries = tabular_entries(path)
        verdicts = read_agreement(resources_dir() / "who_agreement.tsv")
        attach_spanish_titles(entries, read_who_spanish(), verdicts)
        return entries, "tabular-xml"
    return code_list_entries(read_code_list(path, encoding), default_entries()), "code-list"


def build_edition(
    out: Path,
    entries: Sequence[CatalogEntry],
    *,
    edition: str,
    source_name: str,
    source_format: str,
    alias_splits: Sequence[str] = DEFAULT_ALIAS_SPLITS,
    progress: Progress | None = None,
) -> BuildReport:
    """Write an imported edition, with the CodiEsp aliases resolved against its codes."""
    known = {e.code for e in entries}
    files = [(codiesp_file(s), alias_source(s)) for s in alias_splits]
    aliases, dropped = load_aliases(files, known)
    report = BuildReport(
        edition=edition,
        sources={
            "file": source_name,
            "format": source_format,
            "aliases": ", ".join(alias_source(s) for s in alias_splits) or "none",
        },
        alias_dropped_by_source=dropped,
    )
    return write_catalog(out, entries, aliases, report, progress)
