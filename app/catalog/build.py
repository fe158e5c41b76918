"""Build a catalog database from parsed entries, Spanish titles and aliases.

The build is deterministic (same inputs, same rows in the same order, no timestamps) and
returns a :class:`BuildReport` with counts per level and per source.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlite_utils

from app.catalog.aliases import Alias
from app.catalog.entries import KINDS, CatalogEntry
from app.catalog.schema import SCHEMA_VERSION, create_schema
from app.codes import category_of
from app.search.fingerprint import fingerprint_meta

log = logging.getLogger(__name__)

#: ``progress(stage, done, total)``; the CLI draws bars with it, the UI emits signals.
Progress = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    """What a build did: counts per level, per Spanish-title source and per alias source."""

    edition: str
    codes_by_kind: dict[str, int] = field(default_factory=dict)
    valid_codes: int = 0
    spanish_by_source: dict[str, int] = field(default_factory=dict)
    notes_by_kind: dict[str, int] = field(default_factory=dict)
    aliases_by_source: dict[str, int] = field(default_factory=dict)
    alias_mentions_by_source: dict[str, int] = field(default_factory=dict)
    alias_dropped_by_source: dict[str, int] = field(default_factory=dict)
    search_docs_by_field: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-serialisable)."""
        return asdict(self)


def _code_row(entry: CatalogEntry) -> dict:
    return {
        "code": entry.code,
        "kind": entry.kind,
        "parent": entry.parent,
        "chapter": entry.chapter,
        "block": entry.block,
        "category": category_of(entry.code) if entry.kind not in ("chapter", "block") else None,
        "depth": KINDS.index(entry.kind),
        "valid": int(entry.valid),
        "title_en": entry.title_en,
        "title_es": entry.title_es,
        "title_es_source": entry.title_es_source,
        "title_es_from": entry.title_es_from,
        "seventh_from": entry.seventh_from,
    }


def _search_docs(entries: Sequence[CatalogEntry], aliases: Sequence[Alias]) -> list[dict]:
    docs: list[dict] = []
    for entry in entries:
        if entry.kind in ("chapter", "block"):
            continue
        if entry.title_es and entry.title_es_from == entry.code:
            docs.append(_doc(entry.code, "title_es", entry.title_es_source or "", entry.title_es))
        elif entry.title_es and entry.kind == "subcategory":
            # a subcategory without a Spanish title of its own is still found, below its
            # ancestor, by the ancestor's Spanish title
            docs.append(_doc(entry.code, "title_es_inherited", entry.title_es_source or "",
                             entry.title_es))
        if entry.title_en:
            docs.append(_doc(entry.code, "title_en", "tabular", entry.title_en))
        for note in entry.notes:
            if note.kind == "inclusion_term":
                docs.append(_doc(entry.code, "inclusion", "tabular", note.text))
    for alias in aliases:
        docs.append(_doc(alias.code, "alias", alias.source, alias.text, alias.count))
    return docs


def _doc(code: str, field_: str, source: str, text: str, count: int = 1) -> dict:
    return {"code": code, "field": field_, "source": source, "count": count, "text": text}


_BATCH = 5000


def _counted(entries: Sequence[CatalogEntry], notify: Progress) -> Iterator[dict]:
    """The code rows of ``entries``, reporting ``("codes", done, total)`` every batch."""
    total = len(entries)
    notify("codes", 0, total)
    for done, entry in enumerate(entries, 1):
        yield _code_row(entry)
        if done % _BATCH == 0 or done == total:
            notify("codes", done, total)


def write_catalog(
    path: Path,
    entries: Sequence[CatalogEntry],
    aliases: Sequence[Alias],
    report: BuildReport,
    progress: Progress | None = None,
) -> BuildReport:
    """Write a new catalog database at ``path`` (which must not exist) and fill ``report``.

    Args:
        path: destination file; the caller builds aside and swaps (see ``editions``).
        entries: every catalog node in classification order, parents before children.
        aliases: alias rows, already resolved to catalog codes.
        report: a report carrying the edition name and sources; counts are filled in.
        progress: optional ``(stage, done, total)`` callback.

    Example: ``write_catalog(tmp / "c.db", entries, aliases, BuildReport("test"))``
    """
    if path.exists():
        raise FileExistsError(f"{path} exists; a build never overwrites a catalog in place")
    notify = progress or (lambda stage, done, total: None)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        create_schema(conn)
        db = sqlite_utils.Database(conn)
        with conn:
            db["codes"].insert_all(_counted(entries, notify), batch_size=_BATCH)
            db["notes"].insert_all(
                (
                    {"code": e.code, "kind": n.kind, "seq": i, "text": n.text}
                    for e in entries
                    for i, n in enumerate(e.notes)
                ),
                batch_size=5000,
            )
            db["seventh_chars"].insert_all(
                (
                    {"code": e.code, "char": c, "meaning": m}
                    for e in entries
                    for c, m in e.seventh.items()
                ),
                batch_size=5000,
            )
            db["aliases"].insert_all(
                (
                    {
                        "code": a.code,
                        "text": a.text,
                        "norm": a.norm,
                        "source": a.source,
                        "count": a.count,
                        "source_code": a.source_code,
                    }
                    for a in aliases
                ),
                batch_size=5000,
            )
            docs = _search_docs(entries, aliases)
            db["search_docs"].insert_all(docs, batch_size=5000)
            notify("search index", 0, 1)
            conn.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
            conn.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
            notify("search index", 1, 1)
            _fill_report(report, entries, aliases, docs)
            meta = {
                "schema_version": str(SCHEMA_VERSION),
                "edition": report.edition,
                "report": json.dumps(report.to_dict(), sort_keys=True, ensure_ascii=False),
                # ties vector indexes to the embedded texts (app.search.fingerprint)
                **fingerprint_meta(entries),
            }
            db["meta"].insert_all({"key": k, "value": v} for k, v in sorted(meta.items()))
        conn.execute("VACUUM")
    finally:
        conn.close()
    log.info("built catalog %s: %d entries", report.edition, len(entries))
    return report


def _fill_report(
    report: BuildReport,
    entries: Sequence[CatalogEntry],
    aliases: Sequence[Alias],
    docs: Sequence[dict],
) -> None:
    report.codes_by_kind = dict(sorted(Counter(e.kind for e in entries).items()))
    report.valid_codes = sum(e.valid for e in entries)
    report.spanish_by_source = dict(
        sorted(Counter(e.title_es_source or "none" for e in entries).items())
    )
    report.notes_by_kind = dict(sorted(Counter(n.kind for e in entries for n in e.notes).items()))
    report.aliases_by_source = dict(sorted(Counter(a.source for a in aliases).items()))
    mentions: Counter[str] = Counter()
    for alias in aliases:
        mentions[alias.source] += alias.count
    report.alias_mentions_by_source = dict(sorted(mentions.items()))
    report.search_docs_by_field = dict(sorted(Counter(d["field"] for d in docs).items()))
