"""Spanish titles from the WHO ICD-10 Spanish list (PyPI ``cie``), attached to CM codes
only where the WHO meaning agrees with the CM meaning.

The agreement verdicts (``resources/who_agreement.tsv``) are derived by comparing WHO and
CM English titles (``python -m training.who_agreement``). A code without an agreeing title
of its own shows its nearest agreeing ancestor's, marked as such ("título de la categoría").
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from app.catalog.entries import CatalogEntry
from app.catalog.packages import package_file
from app.codes import format_code, is_block
from app.errors import CatalogSourceError

SOURCE_OWN = "who"
SOURCE_ANCESTOR = "who_ancestor"
SOURCE_EDITION = "edition"

_RANGE_IN_TITLE = re.compile(r"\(([A-Z][0-9][0-9A-Z]-[A-Z][0-9][0-9A-Z])\)\s*$")


def default_cie_zip() -> Path:
    """Path of ``cie-10.zip`` inside the installed ``cie`` package."""
    return package_file("cie", "data", "cie-10.zip")


def read_who_spanish(path: Path | None = None) -> dict[str, str]:
    """Read WHO Spanish titles keyed by canonical code or range (``I21.4``, ``A00-A09``).

    Raises:
        CatalogSourceError: the zip or its CSV cannot be read.

    Example: ``read_who_spanish()["S72.0"] == "Fractura del cuello de fémur"``
    """
    path = path or default_cie_zip()
    try:
        with zipfile.ZipFile(path) as zf:
            text = zf.read("cie-10.csv").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise CatalogSourceError(f"cannot read WHO Spanish titles from {path}: {exc}") from exc
    titles: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        title = " ".join(row["description"].split())
        if title:
            code = row["code"].strip().upper()
            titles[code if "-" in code else format_code(code)] = title
    return titles


def read_agreement(path: Path) -> dict[str, str]:
    """Read ``code -> verdict`` (``agree``/``disagree``/``unverified``) from the verdict TSV.

    Raises:
        CatalogSourceError: missing file or malformed header.
    """
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            if not reader.fieldnames or not {"code", "verdict"} <= set(reader.fieldnames):
                raise CatalogSourceError(f"{path}: expected columns code, verdict, ...")
            return {row["code"].strip(): row["verdict"].strip() for row in reader}
    except OSError as exc:
        raise CatalogSourceError(f"cannot read {path}: {exc}") from exc


def _who_key(entry: CatalogEntry) -> str:
    """The WHO list key for a CM entry: chapters by the range in their title."""
    if entry.kind == "chapter":
        match = _RANGE_IN_TITLE.search(entry.title_en)
        return match.group(1) if match else entry.code
    if entry.kind == "block" and is_block(entry.code):
        first, last = entry.code.split("-")
        return first if first == last else entry.code
    return entry.code


def attach_spanish_titles(
    entries: list[CatalogEntry], titles: dict[str, str], verdicts: dict[str, str]
) -> None:
    """Set ``title_es`` on entries (in classification order, parents first) in place.

    Own title where WHO and CM agree; else the nearest ancestor's agreeing title.
    """
    by_code = {e.code: e for e in entries}
    for entry in entries:
        key = _who_key(entry)
        verdict = verdicts.get(key) or verdicts.get(entry.code)
        if key in titles and verdict == "agree":
            entry.title_es, entry.title_es_source, entry.title_es_from = (
                titles[key], SOURCE_OWN, entry.code
            )
            continue
        parent = by_code.get(entry.parent) if entry.parent else None
        if parent is not None and parent.title_es and parent.kind not in ("chapter", "block"):
            entry.title_es = parent.title_es
            entry.title_es_source = SOURCE_ANCESTOR
            entry.title_es_from = parent.title_es_from
