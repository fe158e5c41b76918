from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog.aliases import Mention, build_aliases, read_codiesp_mentions, resolve_code
from app.errors import CatalogSourceError


def _m(code: str, text: str) -> Mention:
    return Mention("doc", code, text, "0 1", 1)


def test_conflicting_aliases_keep_counts() -> None:
    mentions = [_m("I10", "HTA"), _m("I10", "hta"), _m("I11.9", "Hta"), _m("E11.9", "DM2")]
    aliases, dropped = build_aliases(mentions, "test", {"I10", "I11.9", "E11.9"})
    assert dropped == 0
    hta = {(a.code, a.count) for a in aliases if a.norm == "hta"}
    assert hta == {("I10", 2), ("I11.9", 1)}
    assert {a.text for a in aliases if a.code == "I10"} == {"HTA"}  # tie: alphabetical


def test_resolution_of_corpus_codes() -> None:
    known = {"W19", "W19.XXXA", "S72.0", "S72"}
    assert resolve_code("W19.XXX", known) == "W19"
    assert resolve_code("S72.09", known) == "S72.0"
    assert resolve_code("Z99.9", known) is None


def test_reader_skips_procedures_and_checks_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    path.write_text(
        "d1\tDIAGNOSTICO\tn44.8\tteste aumentado\t1 2\n"
        "d1\tPROCEDIMIENTO\tbw03zzz\tRx tórax\t3 4\n",
        encoding="utf-8",
    )
    mentions = list(read_codiesp_mentions(path))
    assert [(m.code, m.text) for m in mentions] == [("N44.8", "teste aumentado")]
    path.write_text("d1\tDIAGNOSTICO\n", encoding="utf-8")
    with pytest.raises(CatalogSourceError, match=":1: expected"):
        list(read_codiesp_mentions(path))
    path.write_bytes(b"d1\tDIAGNOSTICO\tn44\tf\xe9mur\t1\n")
    with pytest.raises(CatalogSourceError, match="not UTF-8"):
        list(read_codiesp_mentions(path))
