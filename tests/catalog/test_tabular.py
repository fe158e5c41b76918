"""The bundled ICD-10-CM tabular parsed into entries (checked against the code list and
the simple-icd-10-cm library as independent oracles)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from app.catalog.entries import CatalogEntry
from app.catalog.tabular import block_code, parse_tabular
from app.codes import format_code
from app.errors import CatalogSourceError


@pytest.fixture(scope="module")
def entries() -> dict[str, CatalogEntry]:
    return {e.code: e for e in parse_tabular()}


def test_code_set_equals_official_code_list(entries: dict[str, CatalogEntry]) -> None:
    listing = resources.files("simple_icd_10_cm") / "data" / "code-list-April-2026.txt"
    official = {format_code(c) for c in listing.read_text().split()}
    ours = {e.code.split("-")[0] if e.kind == "block" and e.code.split("-")[0] ==
            e.code.split("-")[1] else e.code for e in entries.values()}
    assert ours == official


def test_counts_per_level(entries: dict[str, CatalogEntry]) -> None:
    kinds: dict[str, int] = {}
    for e in entries.values():
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    assert kinds["chapter"] == 22
    assert kinds["category"] == 1918
    assert sum(kinds.values()) == 98505


def test_validity_matches_library(entries: dict[str, CatalogEntry]) -> None:
    import simple_icd_10_cm as cm

    codes = [e.code for e in entries.values() if e.kind not in ("chapter", "block")]
    mismatched = [c for c in codes if entries[c].valid != cm.is_leaf(c)]
    assert mismatched == []


@pytest.mark.parametrize(
    ("code", "title", "parent", "valid"),
    [
        ("S72.001A", "Fracture of unspecified part of neck of right femur, initial encounter "
                     "for closed fracture", "S72.001", True),
        ("T81.31XA", "Disruption of external operation (surgical) wound, not elsewhere "
                     "classified, initial encounter", "T81.31", True),
        ("W19.XXXA", "Unspecified fall, initial encounter", "W19", True),
        ("I21.4", "Non-ST elevation (NSTEMI) myocardial infarction", "I21", True),
        ("T81.31", "Disruption of external operation (surgical) wound, not elsewhere "
                   "classified", "T81.3", False),
        ("I21", "Acute myocardial infarction", "I20-I25", False),
    ],
)
def test_known_codes(
    entries: dict[str, CatalogEntry], code: str, title: str, parent: str, valid: bool
) -> None:
    entry = entries[code]
    assert entry.title_en == title
    assert entry.parent == parent
    assert entry.valid is valid


def test_seventh_character_inheritance(entries: dict[str, CatalogEntry]) -> None:
    # S72 declares the 7th characters; every descendant inherits them.
    assert entries["S72"].seventh["A"] == "initial encounter for closed fracture"
    assert entries["S72.001"].seventh_from == "S72"
    assert not entries["S72.001"].valid
    children = {c for c in entries if c.startswith("S72.001") and len(c) == 8}
    assert children == {f"S72.001{ch}" for ch in entries["S72"].seventh}
    # placeholder X padding for short codes
    assert "T81.31XD" in entries and "W19.XXXS" in entries


def test_s06_exception_stated_in_prose(entries: dict[str, CatalogEntry]) -> None:
    assert "S06.347A" in entries
    assert "S06.347D" not in entries and "S06.348S" not in entries
    assert "S06.346D" in entries


def test_notes_and_blocks(entries: dict[str, CatalogEntry]) -> None:
    i21 = entries["I21"]
    assert any(n.kind == "excludes2" and "old myocardial infarction (I25.2)" in n.text
               for n in i21.notes)
    assert [n.text for n in entries["I21.4"].notes if n.kind == "inclusion_term"][0] == (
        "Acute subendocardial myocardial infarction"
    )
    assert block_code("B20") == "B20-B20"
    assert entries["B20"].parent == "B20-B20"
    assert entries["C00-C75"].parent == "C00-C96"
    assert entries["C00-C96"].parent == "2"


def test_bad_xml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<ICD10CM.tabular><chapter>")
    with pytest.raises(CatalogSourceError, match="cannot read"):
        list(parse_tabular(bad))
    empty = tmp_path / "empty.xml"
    empty.write_text("<root/>")
    with pytest.raises(CatalogSourceError, match="no <chapter>"):
        list(parse_tabular(empty))
