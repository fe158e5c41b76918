"""Parse an ICD-10-CM tabular XML (the CDC/NCHS layout) into catalog entries.

Handles chapters, blocks (sections), nested ``<diag>`` elements, instructional notes and
7th-character definitions, which apply to every descendant of the node that declares
them. A leaf under such a node is not itself valid; its 7th-character expansions are,
padded with placeholder ``X`` (``T81.31`` -> ``T81.31XA``) and titled with the leaf title
plus the character's meaning.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from app.catalog.entries import CatalogEntry, Note
from app.catalog.packages import package_file
from app.codes import format_code, pad_placeholder, strip_dot
from app.errors import CatalogSourceError

log = logging.getLogger(__name__)

_NOTE_TAGS = {
    "inclusionTerm": "inclusion_term",
    "includes": "includes",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional_code",
    "codeAlso": "code_also",
    "notes": "notes",
    "sevenChrNote": "seven_chr_note",
}


def default_tabular_path() -> Path:
    """Path of the ICD-10-CM April 2026 tabular XML shipped in ``simple-icd-10-cm``.

    Example: ``default_tabular_path().name == "icd10c-tabular-April-1-2026.xml"``
    """
    return package_file("simple_icd_10_cm", "data", "icd10c-tabular-April-1-2026.xml")


def _seventh_applies(code: str, char: str) -> bool:
    """The one exception the tabular states in prose rather than markup (category S06):
    "7th characters D and S do not apply to codes in category S06 with 6th character 7 ...
    or 8"."""
    raw = strip_dot(code)
    return not (raw.startswith("S06") and len(raw) == 6 and raw[5] in "78" and char in "DS")


def block_code(section_id: str) -> str:
    """Canonical code of a block: a one-category block ``B20`` becomes ``B20-B20`` so it
    never collides with its category.

    Example: ``block_code("B20") == "B20-B20"``
    """
    raw = section_id.strip().upper()
    return raw if "-" in raw else f"{raw}-{raw}"


def _text(el: ET.Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _notes(el: ET.Element) -> list[Note]:
    notes = []
    for child in el:
        kind = _NOTE_TAGS.get(child.tag)
        if kind is None:
            continue
        for note in child.iter("note"):
            text = " ".join((note.text or "").split())
            if text:
                notes.append(Note(kind, text))
    return notes


def _seventh_defs(el: ET.Element) -> dict[str, str]:
    defs: dict[str, str] = {}
    seven = el.find("sevenChrDef")
    if seven is not None:
        for ext in seven.findall("extension"):
            char = (ext.get("char") or "").strip().upper()
            if char:
                defs[char] = " ".join((ext.text or "").replace("/", " / ").split())
    return defs


def parse_tabular(path: Path | None = None) -> Iterator[CatalogEntry]:
    """Yield every entry of a tabular XML in classification order.

    Args:
        path: the XML file; defaults to the bundled ICD-10-CM April 2026 tabular.

    Raises:
        CatalogSourceError: the file is missing or is not a tabular XML.

    Example: ``codes = {e.code for e in parse_tabular()}; "T81.31XA" in codes``
    """
    path = path or default_tabular_path()
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise CatalogSourceError(f"cannot read tabular XML {path}: {exc}") from exc
    chapters = root.findall("chapter")
    if not chapters:
        raise CatalogSourceError(f"{path} has no <chapter> elements: not an ICD-10-CM tabular")
    for chapter_el in chapters:
        chapter = _text(chapter_el.find("name"))
        yield CatalogEntry(
            code=chapter,
            kind="chapter",
            title_en=_text(chapter_el.find("desc")),
            chapter=chapter,
            notes=_notes(chapter_el),
        )
        # A section without diags (C00-C96) is a super-block of the sections in its range.
        open_ranges: list[str] = []
        for section in chapter_el.findall("section"):
            block = block_code(section.get("id") or "")
            first, last = block.split("-")
            while open_ranges and not (open_ranges[-1].split("-")[1] >= last):
                open_ranges.pop()
            parent = open_ranges[-1] if open_ranges else chapter
            diags = section.findall("diag")
            if not diags:
                open_ranges.append(block)
            yield CatalogEntry(
                code=block,
                kind="block",
                title_en=_text(section.find("desc")),
                parent=parent,
                chapter=chapter,
                block=block,
                notes=_notes(section),
            )
            for diag in diags:
                yield from _walk_diag(diag, block, chapter, block, {}, None)


def _walk_diag(
    el: ET.Element,
    parent: str,
    chapter: str,
    block: str,
    inherited: dict[str, str],
    inherited_from: str | None,
) -> Iterator[CatalogEntry]:
    code = format_code(_text(el.find("name")))
    own = _seventh_defs(el)
    seventh, seventh_from = (own, code) if own else (inherited, inherited_from)
    children = el.findall("diag")
    entry = CatalogEntry(
        code=code,
        kind="category" if len(strip_dot(code)) == 3 else "subcategory",
        title_en=_text(el.find("desc")),
        parent=parent,
        chapter=chapter,
        block=block,
        valid=not children and not seventh,
        notes=_notes(el),
        seventh=own,
        seventh_from=seventh_from,
    )
    yield entry
    for child in children:
        yield from _walk_diag(child, code, chapter, block, seventh, seventh_from)
    if not children and seventh:
        for char, meaning in seventh.items():
            if not _seventh_applies(code, char):
                continue
            yield CatalogEntry(
                code=pad_placeholder(code, char),
                kind="extended",
                title_en=f"{entry.title_en}, {meaning}",
                parent=code,
                chapter=chapter,
                block=block,
                valid=True,
                seventh_from=seventh_from,
            )
