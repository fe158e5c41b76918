"""The catalog fingerprint that ties a vector index to the catalog it was built from.

The fingerprint is the SHA-256 of the sorted ``code \\t passage_text`` lines of every embedded
entry (kinds category, subcategory and extended). It covers nothing else: aliases, notes
and the edition name do not change what is embedded, so a catalog rebuilt with other
aliases keeps its fingerprint and its index. The catalog build stores it in the ``meta``
table (``passages_sha256``) so start-up does not recompute it over ~98k rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from app.catalog.store import CatalogStore, CodeRecord
from app.search.passages import passage_text

#: Catalog kinds that get a vector (chapters and blocks are not codes one assigns).
EMBEDDED_KINDS = ("category", "subcategory", "extended")

#: ``meta`` keys written by the catalog build.
META_KEY = "passages_sha256"
META_FORMAT_KEY = "passages_format"

#: Bump when :func:`app.search.passages.passage_text` changes: stored fingerprints of another
#: format are recomputed instead of trusted.
PASSAGES_FORMAT = "1"


def passages_sha256(pairs: Iterable[tuple[str, str]]) -> str:
    """SHA-256 (hex) of sorted ``code \\t text`` lines, each ending in a newline.

    Example: ``passages_sha256([("I10", "a"), ("A00", "b")])`` (order does not matter)
    """
    digest = hashlib.sha256()
    for line in sorted(f"{code}\t{text}" for code, text in pairs):
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def embedded_codes(store: CatalogStore) -> list[str]:
    """Codes of every embedded entry, in classification order.

    Example: ``embedded_codes(store)[0] == "A00"``
    """
    marks = ",".join("?" * len(EMBEDDED_KINDS))
    rows = store.query(
        f"SELECT code FROM codes WHERE kind IN ({marks}) ORDER BY id", EMBEDDED_KINDS
    )
    return [r[0] for r in rows]


def embedded_records(store: CatalogStore, codes: Sequence[str] | None = None) -> list[CodeRecord]:
    """Records of ``codes`` (default: every embedded entry), in that order; unknown codes are
    skipped.

    Example: ``[r.code for r in embedded_records(store, ["I10"])] == ["I10"]``
    """
    wanted = list(codes) if codes is not None else embedded_codes(store)
    found = store.get_many(wanted)
    return [found[c] for c in dict.fromkeys(wanted) if c in found]


def catalog_fingerprint(store: CatalogStore) -> str:
    """The fingerprint of a catalog: from its ``meta`` table, else computed (older catalogs).

    Example: ``len(catalog_fingerprint(store)) == 64``
    """
    meta = dict(
        store.query("SELECT key, value FROM meta WHERE key IN (?, ?)", (META_KEY, META_FORMAT_KEY))
    )
    if meta.get(META_KEY) and meta.get(META_FORMAT_KEY) == PASSAGES_FORMAT:
        return meta[META_KEY]
    return passages_sha256((r.code, passage_text(r)) for r in embedded_records(store))


def fingerprint_meta(entries: Iterable) -> dict[str, str]:
    """The ``meta`` rows a catalog build stores for catalog entries (anything with ``code``,
    ``kind``, ``title_es`` and ``title_en``).

    Example: ``fingerprint_meta(entries)["passages_format"] == PASSAGES_FORMAT``
    """
    sha = passages_sha256((e.code, passage_text(e)) for e in entries if e.kind in EMBEDDED_KINDS)
    return {META_KEY: sha, META_FORMAT_KEY: PASSAGES_FORMAT}
