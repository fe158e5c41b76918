"""The built default catalog, read back through the store."""

from __future__ import annotations

import pytest

from app.catalog.store import CatalogStore
from app.errors import CodeNotFound


def test_build_report_counts(store: CatalogStore) -> None:
    report = store.report
    assert report["codes_by_kind"]["category"] == 1918
    assert report["valid_codes"] == 74719
    assert report["aliases_by_source"] == {"codiesp-train": report["aliases_by_source"][
        "codiesp-train"]}
    assert report["alias_mentions_by_source"]["codiesp-train"] == 7209
    assert sum(report["spanish_by_source"].values()) == 98505


def test_get_any_form(store: CatalogStore) -> None:
    record = store.get("s72001a")
    assert record.code == "S72.001A" and record.valid and record.chapter == "19"
    assert record.category == "S72" and record.block == "S70-S79"
    with pytest.raises(CodeNotFound, match="Z99.999"):
        store.get("Z99.999")


def test_ancestors_and_children(store: CatalogStore) -> None:
    path = [a.code for a in store.ancestors("S72.001A")]
    assert path == ["19", "S70-S79", "S72", "S72.0", "S72.00", "S72.001"]
    assert [c.code for c in store.children("T81.31")][:2] == ["T81.31XA", "T81.31XD"]


def test_inherited_notes_i21_4(store: CatalogStore) -> None:
    notes = store.notes("I21.4")
    own = [n.text for n in notes if n.from_code == "I21.4"]
    assert "Acute subendocardial myocardial infarction" in own
    excludes2 = [(n.text, n.from_code) for n in notes if n.kind == "excludes2"]
    assert ("old myocardial infarction (I25.2)", "I21") in excludes2
    # inclusion terms are not inherited (they belong to their own code)
    assert not any(n.kind == "inclusion_term" and n.from_code != "I21.4" for n in notes)


def test_seventh_characters(store: CatalogStore) -> None:
    assert store.seventh_characters("T81.31")["A"] == "initial encounter"
    assert store.seventh_characters("I10") == {}


def test_alias_counts_keep_conflicts(store: CatalogStore) -> None:
    rows = store.query(
        "SELECT norm, count(DISTINCT code) FROM aliases GROUP BY norm HAVING count(DISTINCT code)"
        " > 1 LIMIT 1"
    )
    assert rows, "CodiEsp train has mentions coded with several codes"
    norm = rows[0][0]
    matches = store.alias_matches(norm, ("codiesp-train",))
    assert len(matches) >= 2
    assert [n for _, n in matches] == sorted((n for _, n in matches), reverse=True)
    assert store.alias_matches(norm, ("codiesp-dev",)) == []


def test_prefix_lookup(store: CatalogStore) -> None:
    codes = [r.code for r in store.with_prefix("S72.0", limit=5)]
    assert codes[0] == "S72.0" and all(c.startswith("S72.0") for c in codes)


def test_spanish_titles_attach_only_where_meanings_agree(store: CatalogStore) -> None:
    # WHO N44 is "Torsión del testículo", CM N44 is noninflammatory disorders of testis.
    n44 = store.get("N44")
    assert n44.title_es is None or "Torsión" not in n44.title_es
    # WHO E11 "no insulinodependiente" would mislead for CM's type 2 diabetes.
    assert store.get("E11").title_es_source != "who"
    own = store.get("S72.0")
    assert (own.title_es, own.title_es_source) == ("Fractura del cuello de fémur", "who")
    inherited = store.get("S72.001A")
    assert (inherited.title_es, inherited.title_es_source, inherited.title_es_from) == (
        "Fractura del cuello de fémur", "who_ancestor", "S72.0")
    assert store.get("I21.4").title_es_source == "who"
    # block titles are never inherited as a code's title
    assert all(
        r.title_es_from is None or store.get(r.title_es_from).kind not in ("chapter", "block")
        for r in store.children("N44")
    )


def test_build_is_deterministic(tmp_path) -> None:
    import hashlib
    import sqlite3

    from app.catalog.default import build_default_catalog

    digests = []
    for name in ("a.db", "b.db"):
        build_default_catalog(tmp_path / name, alias_splits=("train",))
        conn = sqlite3.connect(tmp_path / name)
        digest = hashlib.sha256()
        for table in ("codes", "notes", "seventh_chars", "aliases", "search_docs", "meta"):
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                digest.update(repr(row).encode())
        conn.close()
        digests.append(digest.hexdigest())
    assert digests[0] == digests[1]
