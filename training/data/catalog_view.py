"""An in-memory view of the catalog that the data builders share: records, hierarchy,
7th-character meanings and inclusion terms, read once with a few SQL queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from app.catalog.store import CatalogStore, CodeRecord

#: Kinds a user can search for and code to (chapters and blocks are not codes).
CODE_KINDS = ("category", "subcategory", "extended")
#: Note kinds whose lines are alternative names of the code (English).
INCLUSION_NOTE_KINDS = ("inclusion_term", "includes")


@dataclass
class CatalogView:
    """Every code record keyed by code, plus what the builders need about each.

    Attributes:
        records: code -> record, in classification order (dicts keep insertion order).
        seventh: extended code -> meaning of its 7th character (``initial encounter``).
        inclusions: code -> inclusion terms and includes-notes declared at that code.
        edition: the catalog edition name.

    Example: ``view = CatalogView.load(store); view.records["S72.001A"].parent == "S72.001"``
    """

    records: dict[str, CodeRecord]
    seventh: dict[str, str] = field(default_factory=dict)
    inclusions: dict[str, list[str]] = field(default_factory=dict)
    edition: str = "?"

    @classmethod
    def load(cls, store: CatalogStore) -> CatalogView:
        """Read the whole catalog (about 98.5k codes: a second or two)."""
        order = [row[0] for row in store.query("SELECT code FROM codes ORDER BY id")]
        found = store.get_many(order)
        records = {code: found[code] for code in order}
        seventh = dict(
            store.query(
                "SELECT c.code, s.meaning FROM codes c JOIN seventh_chars s "
                "ON s.code = c.seventh_from AND s.char = substr(c.code, 8, 1) "
                "WHERE c.kind = 'extended' ORDER BY c.id"
            )
        )
        inclusions: dict[str, list[str]] = defaultdict(list)
        marks = ",".join("?" * len(INCLUSION_NOTE_KINDS))
        for code, text in store.query(
            f"SELECT code, text FROM notes WHERE kind IN ({marks}) ORDER BY code, seq",
            INCLUSION_NOTE_KINDS,
        ):
            inclusions[code].append(text)
        return cls(records, seventh, dict(inclusions), store.edition)

    def codes(self) -> list[CodeRecord]:
        """Records of searchable codes (:data:`CODE_KINDS`), in classification order."""
        return [r for r in self.records.values() if r.kind in CODE_KINDS]

    def parent(self, record: CodeRecord) -> CodeRecord | None:
        """The parent record, or None at the top."""
        return self.records.get(record.parent) if record.parent else None

    def chain(self, top: str, code: str) -> list[CodeRecord] | None:
        """Records from ``top`` down to ``code`` (both included); None if ``top`` is not an
        ancestor of ``code`` (or ``code`` itself).

        Example: ``[r.code for r in view.chain("S72.0", "S72.001")]`` is
        ``["S72.0", "S72.00", "S72.001"]``
        """
        path: list[CodeRecord] = []
        record = self.records.get(code)
        while record is not None:
            path.append(record)
            if record.code == top:
                return path[::-1]
            record = self.parent(record)
        return None
