"""Import an official edition: a code list (TSV/CSV ``code, spanish[, english]``, the
CodiEsp layout) or an ICD-10-CM-style tabular XML.

Everything is validated first (encoding, code syntax, duplicates, unknown parents) and
every problem is reported with its line number; nothing is built from a file with errors.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.catalog.entries import CatalogEntry
from app.catalog.spanish import SOURCE_ANCESTOR, SOURCE_EDITION
from app.catalog.tabular import parse_tabular
from app.codes import format_code, is_code_syntax, strip_dot
from app.errors import CatalogSourceError, ImportValidationError
from app.textio import read_text_file

_HEADER_WORDS = {"code", "codigo", "código", "cod", "cie10", "icd10", "icd-10-code"}


@dataclass(frozen=True)
class EditionRow:
    """One validated line of a code list."""

    line: int
    code: str
    title_es: str
    title_en: str | None


def read_code_list(path: Path, encoding: str | None = None) -> list[EditionRow]:
    """Read and validate a TSV/CSV code list (decoded as ``app.textio`` reads every file:
    a byte-order mark, else ``encoding``, else UTF-8).

    The delimiter is a tab when the first line has one, else a comma (or a semicolon when
    the first line has no comma). A first line whose first cell is not a code is a header.

    Raises:
        TextFileError: the file does not decode or is not text (file, line, byte offset).
        ImportValidationError: with ``(line, message)`` for every problem found.

    Example: ``rows = read_code_list(Path("codiesp-D_codes.tsv"))``
    """
    text = read_text_file(path, encoding)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else ("," if "," in first or ";" not in first else ";")
    errors: list[tuple[int, str]] = []
    rows: list[EditionRow] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
        if not cells or not "".join(cells).strip():
            continue
        cells = [c.strip() for c in cells]
        if line == 1 and cells[0].lower() in _HEADER_WORDS:
            continue
        if len(cells) not in (2, 3):
            errors.append((line, f"expected 2 or 3 columns (code, spanish[, english]), "
                                 f"found {len(cells)}"))
            continue
        code, title_es = cells[0], cells[1]
        title_en = cells[2] if len(cells) == 3 and cells[2] else None
        if not is_code_syntax(code):
            errors.append((line, f"invalid code syntax {code!r} (expected e.g. S72.001A)"))
            continue
        canonical = format_code(code)
        if not title_es:
            errors.append((line, f"{canonical}: empty Spanish title"))
            continue
        if canonical in seen:
            errors.append((line, f"duplicate code {canonical} (first on line {seen[canonical]})"))
            continue
        seen[canonical] = line
        rows.append(EditionRow(line, canonical, title_es, title_en))
    if not rows and not errors:
        errors.append((1, "no codes found"))
    if errors:
        raise ImportValidationError(str(path), errors)
    return rows


def code_list_entries(
    rows: Sequence[EditionRow], base: Sequence[CatalogEntry]
) -> list[CatalogEntry]:
    """Catalog entries for a code list, placed in the base classification's chapters and
    blocks. A code's parent is its longest prefix that is listed or in the base; base-only
    intermediate nodes are kept (not valid) so the hierarchy stays whole.

    Raises:
        ImportValidationError: a code whose 3-character category is not in the base.
    """
    base_by_code = {e.code: e for e in base}
    listed = {r.code: r for r in rows}
    errors = [
        (r.line, f"{r.code}: unknown parent: category {strip_dot(r.code)[:3]} is not in "
                 "ICD-10-CM")
        for r in rows
        if strip_dot(r.code)[:3] not in base_by_code
    ]
    if errors:
        raise ImportValidationError("code list", errors)
    out: dict[str, CatalogEntry] = {}

    def ensure(code: str) -> CatalogEntry:
        if code in out:
            return out[code]
        raw, row, known = strip_dot(code), listed.get(code), base_by_code.get(code)
        if len(raw) == 3:
            assert known is not None  # validated above
            parent_code, chapter, block = known.parent, known.chapter, known.block
        else:
            parent_code = next(
                p for p in (format_code(raw[:end]) for end in range(len(raw) - 1, 2, -1))
                if p in listed or p in base_by_code
            )
            parent = ensure(parent_code)
            chapter, block = parent.chapter, parent.block
        out[code] = CatalogEntry(
            code=code,
            kind="category" if len(raw) == 3 else ("extended" if len(raw) == 7 else "subcategory"),
            title_en=(row.title_en if row else None) or (known.title_en if known else "")
            or (row.title_es if row else ""),
            parent=parent_code,
            chapter=chapter,
            block=block,
            notes=list(known.notes) if known else [],
            seventh=dict(known.seventh) if known else {},
            seventh_from=known.seventh_from if known else None,
            title_es=row.title_es if row else None,
            title_es_source=SOURCE_EDITION if row else None,
            title_es_from=code if row else None,
        )
        return out[code]

    for row in sorted(rows, key=lambda r: strip_dot(r.code)):
        ensure(row.code)
    has_child = {e.parent for e in out.values()}
    ordered = sorted(out.values(), key=lambda e: strip_dot(e.code))
    for entry in ordered:  # parents sort before their children
        entry.valid = entry.code in listed and entry.code not in has_child
        parent = out.get(entry.parent or "")
        if not entry.title_es and parent is not None and parent.title_es:
            entry.title_es, entry.title_es_source = parent.title_es, SOURCE_ANCESTOR
            entry.title_es_from = parent.title_es_from
    needed = {e.parent for e in ordered if e.kind == "category"}
    structure: list[CatalogEntry] = []
    for entry in reversed(base):  # blocks/chapters that hold a listed category, with parents
        if entry.kind in ("chapter", "block") and entry.code in needed:
            structure.append(entry)
            needed.add(entry.parent)
    return structure[::-1] + ordered


def tabular_entries(path: Path) -> list[CatalogEntry]:
    """Entries of an ICD-10-CM-style tabular XML, validated (syntax, duplicates, parents).

    Raises:
        ImportValidationError: the XML cannot be parsed or has invalid entries.
    """
    try:
        entries = list(parse_tabular(path))
    except CatalogSourceError as exc:
        raise ImportValidationError(str(path), [(0, str(exc))]) from exc
    errors: list[tuple[int, str]] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, 1):
        if entry.kind not in ("chapter", "block") and not is_code_syntax(entry.code):
            errors.append((i, f"entry {i}: invalid code syntax {entry.code!r}"))
        if entry.code in seen:
            errors.append((i, f"entry {i}: duplicate code {entry.code}"))
        if entry.parent and entry.parent not in seen:
            errors.append((i, f"entry {i}: {entry.code} has unknown parent {entry.parent}"))
        seen.add(entry.code)
    if errors:
        raise ImportValidationError(str(path), errors)
    return entries
