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
from app.catalog.editions import EditionManager, validate_edition_name
from app.catalog.entries import CatalogEntry
from app.catalog.importer import code_list_entries, read_code_list, tabular_entries
from app.catalog.open import catalogs_dir
from app.catalog.spanish import attach_spanish_titles, read_agreement, read_who_spanish
from app.paths import resources_dir


def load_edition_entries(
    path: Path, encoding: str | None = None
) -> tuple[list[CatalogEntry], str]:
    """Validated entries of an edition file and its format (``tabular-xml`` or ``code-list``).

    Raises:
        TextFileError: a code list that does not decode or is not text.
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


def import_edition(
    path: Path,
    edition: str,
    encoding: str | None = None,
    root: Path | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Validate an edition file completely, build it aside and activate it atomically.

    On any error the active catalog is left untouched.

    Args:
        path: a TSV/CSV code list or a tabular XML.
        edition: the new edition's name (letters, digits, ``.``, ``_``, ``-``).
        encoding: text encoding of a code list without a byte-order mark (default UTF-8).
        root: the user data folder (default: :func:`app.paths.data_dir`).
        progress: build progress callback.

    Raises:
        InvalidEditionName: ``edition`` is not a safe name.
        ImportValidationError: the file failed validation (every problem, with line numbers).
        CatalogCorrupt: the built catalog failed verification.

    Example: ``import_edition(Path("codiesp-D_codes.tsv"), "cie10es-2018")``
    """
    validate_edition_name(edition)
    entries, fmt = load_edition_entries(path, encoding)
    return EditionManager(catalogs_dir(root)).install(
        edition,
        lambda out: build_edition(
            out, entries, edition=edition, source_name=path.name, source_format=fmt,
            progress=progress,
        ),
    )
