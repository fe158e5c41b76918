"""The default catalog recipe: ICD-10-CM April 2026 + WHO Spanish titles + CodiEsp aliases."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.catalog.aliases import Alias, build_aliases, read_codiesp_mentions
from app.catalog.build import BuildReport, Progress, write_catalog
from app.catalog.entries import CatalogEntry
from app.catalog.spanish import attach_spanish_titles, read_agreement, read_who_spanish
from app.catalog.tabular import default_tabular_path, parse_tabular
from app.paths import resources_dir

DEFAULT_EDITION = "icd10cm-2026"
#: CodiEsp splits whose mentions become aliases of the shipped catalog (never test).
DEFAULT_ALIAS_SPLITS = ("train", "dev")


def codiesp_file(split: str, root: Path | None = None) -> Path:
    """The committed CodiEsp diagnosis mentions of a split (``train`` or ``dev``).

    Example: ``codiesp_file("dev").name == "devX_diagnostico.tsv"``
    """
    return (root or resources_dir()) / "codiesp" / f"{split}X_diagnostico.tsv"


def alias_source(split: str) -> str:
    """Source tag of a CodiEsp split's aliases.

    Example: ``alias_source("train") == "codiesp-train"``
    """
    return f"codiesp-{split}"


def load_aliases(
    files: Sequence[tuple[Path, str]], known: set[str]
) -> tuple[list[Alias], dict[str, int]]:
    """Aliases from several CodiEsp X files, each with its source tag; dropped counts per source."""
    aliases: list[Alias] = []
    dropped: dict[str, int] = {}
    for path, source in files:
        built, n_dropped = build_aliases(read_codiesp_mentions(path), source, known)
        aliases.extend(built)
        dropped[source] = n_dropped
    return aliases, dropped


def default_entries(
    tabular: Path | None = None, resources: Path | None = None
) -> list[CatalogEntry]:
    """Parse the bundled tabular and attach agreeing WHO Spanish titles."""
    entries = list(parse_tabular(tabular))
    verdicts = read_agreement((resources or resources_dir()) / "who_agreement.tsv")
    attach_spanish_titles(entries, read_who_spanish(), verdicts)
    return entries


def build_default_catalog(
    path: Path,
    *,
    alias_splits: Sequence[str] = DEFAULT_ALIAS_SPLITS,
    resources: Path | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Build the default catalog at ``path``.

    Args:
        path: destination (must not exist).
        alias_splits: CodiEsp splits used as aliases; evaluation on dev uses ``("train",)``.
        resources: the resources folder (default: the bundled one).
        progress: optional ``(stage, done, total)`` callback.

    Example: ``build_default_catalog(tmp / "c.db", alias_splits=("train",))``
    """
    notify = progress or (lambda stage, done, total: None)
    notify("tabular", 0, 1)
    entries = default_entries(resources=resources)
    notify("tabular", 1, 1)
    known = {e.code for e in entries}
    files = [(codiesp_file(s, resources), alias_source(s)) for s in alias_splits]
    aliases, dropped = load_aliases(files, known)
    report = BuildReport(
        edition=DEFAULT_EDITION,
        sources={
            "tabular": default_tabular_path().name,
            "spanish": "cie 0.208 (WHO ICD-10 es), verdicts resources/who_agreement.tsv",
            "aliases": ", ".join(alias_source(s) for s in alias_splits) or "none",
        },
    )
    report.alias_dropped_by_source = dropped
    return write_catalog(path, entries, aliases, report, progress)
