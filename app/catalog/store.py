"""Read access to a built catalog: codes, hierarchy, notes, aliases.

The store opens the database read-only; searching lives in ``app.search``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from app.catalog.schema import SCHEMA_VERSION
from app.catalog.spanish import SOURCE_ANCESTOR
from app.codes import format_code
from app.errors import CatalogCorrupt, CatalogNotFound, CodeNotFound


@dataclass(frozen=True)
class CodeRecord:
    """One catalog node as stored."""

    id: int
    code: str
    kind: str
    parent: str | None
    chapter: str | None
    block: str | None
    category: str | None
    depth: int
    valid: bool
    title_en: str
    title_es: str | None
    title_es_source: str | None
    title_es_from: str | None
    seventh_from: str | None

    @property
    def title_es_inherited(self) -> bool:
        """True when the Spanish title is an ancestor's ("título de la categoría")."""
        return self.title_es_source == SOURCE_ANCESTOR

    @property
    def title(self) -> str:
        """Spanish title when there is one, else English."""
        return self.title_es or self.title_en


@dataclass(frozen=True)
class NoteRecord:
    """An instructional note; ``from_code`` is the node that declares it (maybe an ancestor)."""

    kind: str
    text: str
    from_code: str


_CODE_COLUMNS = (
    "id, code, kind, parent, chapter, block, category, depth, valid, title_en, title_es, "
    "title_es_source, title_es_from, seventh_from"
)

#: Notes that the tabular declares once for a node and all its descendants.
INHERITED_NOTE_KINDS = ("includes", "excludes1", "excludes2", "code_first",
                        "use_additional_code", "code_also", "notes", "seven_chr_note")


class CatalogStore:
    """A read-only catalog database.

    Example: ``CatalogStore(path).get("S72.001A").valid is True``
    """

    def __init__(self, path: Path):
        if not path.exists():
            raise CatalogNotFound(f"catalog {path} does not exist; run `cielo catalog build`")
        self.path = path
        self._lock = threading.Lock()
        try:
            self.conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, check_same_thread=False
            )
            meta = dict(self.conn.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            raise CatalogCorrupt(f"{path} is not a Cielo catalog ({exc})") from exc
        if int(meta.get("schema_version", -1)) != SCHEMA_VERSION:
            raise CatalogCorrupt(
                f"{path} has schema {meta.get('schema_version')}, expected {SCHEMA_VERSION};"
                " rebuild it with `cielo catalog build`"
            )
        self.edition = meta.get("edition", "?")
        self.report = json.loads(meta.get("report", "{}"))

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Run a read query under the store's lock (connections are shared across threads)."""
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def get(self, code: str) -> CodeRecord:
        """The record of a code in any input form.

        Raises:
            CodeNotFound: the code is not in this edition.

        Example: ``store.get("t8131xa").code == "T81.31XA"``
        """
        canonical = format_code(code)
        rows = self.query(f"SELECT {_CODE_COLUMNS} FROM codes WHERE code = ?", (canonical,))
        if not rows:
            raise CodeNotFound(f"{canonical} is not in catalog edition {self.edition}")
        return _record(rows[0])

    def find(self, code: str) -> CodeRecord | None:
        """Like :meth:`get` but returns None for an unknown code."""
        try:
            return self.get(code)
        except CodeNotFound:
            return None

    def get_many(self, codes: list[str]) -> dict[str, CodeRecord]:
        """Records of several canonical codes (unknown ones are absent)."""
        out: dict[str, CodeRecord] = {}
        for start in range(0, len(codes), 500):
            chunk = codes[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.query(
                f"SELECT {_CODE_COLUMNS} FROM codes WHERE code IN ({marks})", chunk
            ):
                out[row[1]] = _record(row)
        return out

    def children(self, code: str) -> list[CodeRecord]:
        """Direct children in classification order. Example: ``store.children("S72.00")``"""
        rows = self.query(
            f"SELECT {_CODE_COLUMNS} FROM codes WHERE parent = ? ORDER BY id", (format_code(code),)
        )
        return [_record(r) for r in rows]

    def ancestors(self, code: str) -> list[CodeRecord]:
        """Ancestors from the chapter down to the parent. Example: ``store.ancestors("I21.4")``"""
        chain: list[CodeRecord] = []
        record = self.get(code)
        while record.parent:
            record = self.get(record.parent)
            chain.append(record)
        return chain[::-1]

    def valid_descendants(self, code: str, limit: int = 200) -> list[CodeRecord]:
        """Valid codes under ``code`` (depth-first classification order), up to ``limit``."""
        prefix = format_code(code)
        rows = self.query(
            f"SELECT {_CODE_COLUMNS} FROM codes WHERE valid = 1 AND code >= ? AND code < ? "
            "ORDER BY id LIMIT ?",
            (prefix, prefix + "\uffff", limit),
        )
        return [_record(r) for r in rows]

    def with_prefix(self, prefix: str, limit: int = 50) -> list[CodeRecord]:
        """Codes starting with a canonical prefix, shortest first (type-ahead by code)."""
        prefix = format_code(prefix)
        rows = self.query(
            f"SELECT {_CODE_COLUMNS} FROM codes WHERE code >= ? AND code < ? "
            "AND kind NOT IN ('chapter', 'block') ORDER BY length(code), id LIMIT ?",
            (prefix, prefix + "\uffff", limit),
        )
        return [_record(r) for r in rows]

    def notes(self, code: str, inherited: bool = True) -> list[NoteRecord]:
        """Notes of a code, and (``inherited``) the ones its ancestors declare for all
        descendants (excludes, code first, ...), nearest first.

        Example: ``[n.text for n in store.notes("I21.4") if n.kind == "excludes2"]``
        """
        record = self.get(code)
        chain = [record.code] + ([a.code for a in self.ancestors(code)][::-1] if inherited else [])
        notes: list[NoteRecord] = []
        for i, node in enumerate(chain):
            for kind, text in self.query(
                "SELECT kind, text FROM notes WHERE code = ? ORDER BY seq", (node,)
            ):
                if i == 0 or kind in INHERITED_NOTE_KINDS:
                    notes.append(NoteRecord(kind, text, node))
        return notes

    def seventh_characters(self, code: str) -> dict[str, str]:
        """The 7th-character definitions that apply to ``code`` (empty if none).

        Example: ``store.seventh_characters("T81.31")["A"] == "initial encounter"``
        """
        return self.seventh_characters_of(self.get(code))

    def seventh_characters_of(self, record: CodeRecord) -> dict[str, str]:
        """:meth:`seventh_characters` of a record already fetched (one query, not two)."""
        if not record.seventh_from:
            return {}
        return dict(
            self.query(
                "SELECT char, meaning FROM seventh_chars WHERE code = ? ORDER BY char",
                (record.seventh_from,),
            )
        )

    def alias_matches(self, norm: str, sources: tuple[str, ...] | None) -> list[tuple[str, int]]:
        """``(code, count)`` of aliases whose normalised text equals ``norm``.

        Args:
            norm: a normalised mention (``app.search.normalize.normalize_text``).
            sources: alias sources to use; None means all.
        """
        sql = "SELECT code, sum(count) FROM aliases WHERE norm = ?"
        params: list = [norm]
        if sources is not None:
            sql += f" AND source IN ({','.join('?' * len(sources))})"
            params.extend(sources)
        sql += " GROUP BY code ORDER BY sum(count) DESC, code"
        return [(c, n) for c, n in self.query(sql, params)]

    def alias_norms(self, sources: tuple[str, ...] | None) -> set[str]:
        """Every normalised alias of the given sources (for seen/unseen splits)."""
        sql = "SELECT DISTINCT norm FROM aliases"
        params: tuple = ()
        if sources is not None:
            sql += f" WHERE source IN ({','.join('?' * len(sources))})"
            params = tuple(sources)
        return {r[0] for r in self.query(sql, params)}

    def chapter_of(self, code: str) -> str | None:
        """Chapter number of a code, or None when unknown. Example: ``chapter_of("I10") == "9"``"""
        record = self.find(code)
        return record.chapter if record else None

    def info(self) -> dict:
        """Edition, counts per kind and per source (from the build report) and file size."""
        return {
            "edition": self.edition,
            "path": str(self.path),
            "size_bytes": self.path.stat().st_size,
            **self.report,
        }


def _record(row: tuple) -> CodeRecord:
    values = list(row)
    values[8] = bool(values[8])
    return CodeRecord(*values)
