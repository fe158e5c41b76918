"""Code syntax against the classification itself: every code of the bundled ICD-10-CM 2026
tabular (``simple_icd_10_cm``, read as an oracle independent of Cielo's parser) imports,
alphanumeric categories such as QA0 included, and garbage is still refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog.importer import code_list_entries, read_code_list
from app.catalog.tabular import parse_tabular
from app.codes import format_code, is_block, is_code_syntax, parse_typed_code, require_code
from app.errors import ImportValidationError, InvalidCode

cm = pytest.importorskip("simple_icd_10_cm")

GARBAGE = ["S7", "IAM", "HTA", "ABC", "S72..1", "S720.01", "S72.", "S72.00001A", "1A0",
           "S72.0-", "ÑA1", "S72 001", "QAA", "Q0", "12", "S7-2", "DM 2", "S72/001", "DM2",
           "XX1", "CA125"]


def _codes() -> list[str]:
    return [c for c in cm.get_all_codes(True) if not (cm.is_chapter(c) or cm.is_block(c))]


def test_every_code_of_the_tabular_has_code_syntax() -> None:
    codes = _codes()
    assert len(codes) > 98_000 and "QA0.0139" in codes
    assert [c for c in codes if not is_code_syntax(c)] == []
    assert [c for c in codes if not is_code_syntax(c.replace(".", "").lower())] == []
    assert [c for c in codes if format_code(c.replace(".", "")) != c] == []
    blocks = [c for c in cm.get_all_codes(True) if cm.is_block(c) and "-" in c]
    assert [b for b in blocks if not is_block(b)] == []  # Q00-QA0 too


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_is_not_a_code(garbage: str) -> None:
    assert not is_code_syntax(garbage)


def test_a_code_list_of_every_valid_code_imports(tmp_path: Path) -> None:
    valid = [c for c in _codes() if cm.is_leaf(c)]
    path = tmp_path / "all.tsv"
    path.write_text(
        "code\tspanish\n" + "".join(f"{c.replace('.', '')}\tTítulo {c}\n" for c in valid),
        encoding="utf-8",
    )
    rows = read_code_list(path)
    assert len(rows) == len(valid)
    entries = code_list_entries(rows, list(parse_tabular()))
    listed = {e.code for e in entries if e.title_es and e.title_es.startswith("Título")}
    assert listed == set(valid)
    assert {e.code for e in entries if e.valid} == set(valid)


def test_a_code_list_with_garbage_is_refused_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("QA0.0139\tTrastorno genético\n" + "".join(f"{g}\tx\n" for g in GARBAGE),
                    encoding="utf-8")
    with pytest.raises(ImportValidationError) as caught:
        read_code_list(path)
    assert [line for line, _ in caught.value.errors] == list(range(2, len(GARBAGE) + 2))
    qz9 = tmp_path / "qz9.tsv"  # code syntax, but no such category
    qz9.write_text("I10\tHipertensión\nQZ9\tNada\n", encoding="utf-8")
    with pytest.raises(ImportValidationError, match="line 2: QZ9: unknown parent"):
        code_list_entries(read_code_list(qz9), list(parse_tabular()))


def test_typed_and_required_codes() -> None:
    assert parse_typed_code("qa0.0139") == "QA0.0139"
    assert parse_typed_code("dm2") is None and parse_typed_code("ca125") is None
    assert require_code(" s72001a ") == "S72.001A" and require_code("q00-qa0") == "Q00-QA0"
    assert require_code("19") == "19"
    with pytest.raises(InvalidCode, match="a code is needed"):
        require_code(" ")
    with pytest.raises(InvalidCode, match="'HTA' is not a code"):
        require_code("HTA")
