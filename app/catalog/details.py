"""Everything known about one code, gathered in one call for ``cielo lookup`` and the UI.

Composing 7th-character codes only keeps codes that the catalog says exist and are valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.catalog.entries import NOTE_KINDS
from app.catalog.store import CatalogStore, CodeRecord, NoteRecord
from app.codes import pad_placeholder, strip_dot


@dataclass(frozen=True)
class SeventhOption:
    """A 7th character that makes a valid full code from the current one."""

    char: str
    meaning: str
    code: str
    title: str


@dataclass(frozen=True)
class CodeDetails:
    """A code with its hierarchy, notes, children and 7th characters.

    Attributes:
        seventh_characters: every 7th-character definition that applies (char -> meaning).
        seventh_options: those that compose a valid existing code from this one.
        valid_descendants: for a code that is not valid, valid codes under it.
        favourite: whether the coder starred it (set by the UI; False here).
    """

    record: CodeRecord
    ancestors: tuple[CodeRecord, ...]
    notes: tuple[NoteRecord, ...]
    children: tuple[CodeRecord, ...]
    seventh_characters: dict[str, str] = field(default_factory=dict, compare=False)
    valid_descendants: tuple[CodeRecord, ...] = ()
    seventh_options: tuple[SeventhOption, ...] = ()
    favourite: bool = False
    edition: str = ""
    grouped_notes: dict[str, list[NoteRecord]] = field(default_factory=dict, compare=False)


def own_title(record: CodeRecord) -> str:
    """The code's own title: Spanish unless it is only the category's, then English.

    Example: ``own_title(store.get("S72.001A")).startswith("Fracture")``
    """
    if record.title_es and not record.title_es_inherited:
        return record.title_es
    return record.title_en


def _compose(
    store: CatalogStore, record: CodeRecord, seventh: dict[str, str]
) -> list[SeventhOption]:
    if len(strip_dot(record.code)) >= 7:
        return []
    codes = {char: pad_placeholder(record.code, char) for char in seventh}
    found = store.get_many(list(codes.values()))  # one query, not one per character
    options: list[SeventhOption] = []
    for char, meaning in seventh.items():
        full = found.get(codes[char])
        if full is not None and full.valid:
            options.append(SeventhOption(char, meaning, full.code, full.title))
    return options


def seventh_options(store: CatalogStore, code: str) -> list[SeventhOption]:
    """7th characters that compose a valid existing code from ``code`` (placeholder-X padded).

    Example: ``[o.code for o in seventh_options(store, "T81.31")][0] == "T81.31XA"``
    """
    record = store.find(code)
    if record is None:
        return []
    return record_seventh_options(store, record)


def record_seventh_options(store: CatalogStore, record: CodeRecord) -> list[SeventhOption]:
    """:func:`seventh_options` of a record already fetched."""
    return _compose(store, record, store.seventh_characters_of(record))


def group_notes(notes: list[NoteRecord]) -> dict[str, list[NoteRecord]]:
    """Notes grouped by kind in display order (unknown kinds last), duplicates dropped."""
    groups: dict[str, list[NoteRecord]] = {}
    seen: set[tuple[str, str]] = set()
    order = {k: i for i, k in enumerate(NOTE_KINDS)}
    for note in sorted(notes, key=lambda n: order.get(n.kind, len(order))):
        if (note.kind, note.text) in seen:
            continue
        seen.add((note.kind, note.text))
        groups.setdefault(note.kind, []).append(note)
    return groups


def code_details(store: CatalogStore, code: str, descendants_limit: int = 40) -> CodeDetails:
    """Gather a code's hierarchy, notes, children, valid descendants and 7th characters.

    Raises:
        CodeNotFound: the code is not in the catalog.

    Example: ``code_details(store, "S72.001").seventh_options[0].code == "S72.001A"``
    """
    record = store.get(code)
    notes = store.notes(record.code)
    seventh = store.seventh_characters_of(record)
    descendants: list[CodeRecord] = []
    if not record.valid:
        descendants = store.valid_descendants(record.code, limit=descendants_limit)
    return CodeDetails(
        record=record,
        ancestors=tuple(store.ancestors(record.code)),
        notes=tuple(notes),
        children=tuple(store.children(record.code)),
        seventh_characters=seventh,
        valid_descendants=tuple(descendants),
        seventh_options=tuple(_compose(store, record, seventh)),
        edition=store.edition,
        grouped_notes=group_notes(notes),
    )
