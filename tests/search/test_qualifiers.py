"""The one qualifier vocabulary, as queries and titles use it."""

from __future__ import annotations

import pytest

from app.search.abbreviations import AbbreviationTable
from app.search.qualifiers import agreement, aspect_of, concept_of, read_qualifiers
from app.search.query import analyze_query


@pytest.mark.parametrize(
    ("word", "concept"),
    [("derecha", "right"), ("right", "right"), ("izquierdos", "left"), ("dcha", "right"),
     ("reagudizado", "exacerbation"), ("cronica", "chronic"), ("sucesivo", "subsequent"),
     ("fractura", None), ("de", None)],
)
def test_concept_of_reads_spanish_english_and_shorthand(word: str, concept: str | None) -> None:
    assert concept_of(word) == concept


def test_query_carries_its_qualifiers_after_abbreviation_expansion() -> None:
    table = AbbreviationTable.default()
    assert analyze_query("EPOC reagudizado", table).qualifiers == {"chronic", "exacerbation"}
    assert "type2" in analyze_query("DM2 con nefropatía", table).qualifiers
    assert analyze_query("fractura de cadera dcha", table).qualifiers == {"right"}
    assert analyze_query("hta", table).tokens[-1] == "hta"


def test_diabetes_type_reads_the_number_after_tipo_or_type() -> None:
    assert read_qualifiers(["diabetes", "mellitus", "tipo", "1"]) == {"type1"}
    assert read_qualifiers(["type", "2", "diabetes"]) == {"type2"}
    assert aspect_of("type1") == "diabetes_type"


def test_agreement_counts_agree_conflict_and_missing() -> None:
    query = frozenset({"right", "exacerbation"})
    assert agreement(query, frozenset({"right", "chronic", "exacerbation"})) == (2, 0, 0)
    assert agreement(query, frozenset({"left"})) == (0, 1, 1)
    assert agreement(query, frozenset()) == (0, 0, 2)
