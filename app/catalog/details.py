"""Everything known about one code, gathered in one call for ``cielo lookup`` and the UI.

Composing 7th-character codes only keeps codes that the catalog says exist and are valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.catalog.entries import NOTE_KINDS
from app.catalog.seventh_es import spanish_meaning
from app.catalog.store import CatalogStore, CodeRecord, NoteRecord
from app.codes import pad_placeholder, require_code, strip_dot


@dataclass(frozen=True)
class SeventhOption:
    """A 7th character that makes a valid full code from the current one.

    Attributes:
        meaning: the ICD-10-CM (English) meaning of the character.
        title: the full code's title (Spanish when it has one, else English).
        meaning_es: the CIE-10-ES phrase of the character (``app.catalog.seventh_es``), or
            None when it is not known.
        title_es: the full code's Spanish title: its own, else "<Spanish title of the code
            completed>, <meaning_es>"; None unless both are known (never a category's).
        title_en: the full code's English title.
    """

    char: str
    meaning: str
    code: str
    title: str
    meaning_es: str | None = None
    title_es: str | None = None
    title_en: str = ""


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

    @property
    def seventh_characters_es(self) -> dict[str, str | None]:
        """The CIE-10-ES phrase of each of :attr:`seventh_characters` (None if unknown)."""
        return {
            char: spanish_meaning(meaning, self.record.code, char)
            for char, meaning in self.seventh_characters.items()
        }


def own_spanish_title(record: CodeRecord) -> str | None:
    """The code's own Spanish title, None when it has none or only the category's."""
    return None if record.title_es_inherited else record.title_es


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
        if full is None or not full.valid:
            continue
        meaning_es = spanish_meaning(meaning, record.code, char)
        title_es = own_spanish_title(full) or (
            f"{own_spanish_title(record)}, {meaning_es}"
            if meaning_es and own_spanish_title(record) else None
        )
        options.append(
            SeventhOption(char, meaning, full.code, full.title, meaning_es, title_es, full.title_en)
        )
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
        InvalidCode: ``code`` is blank or not a code.
        CodeNotFound: the code is not in the catalog.

    Example: ``code_details(store, "S72.001").seventh_options[0].code == "S72.001A"``
    """
    record = store.get(require_code(code))
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
