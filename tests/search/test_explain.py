"""Result explanations on the real default catalog: matched words and sibling differences."""

from __future__ import annotations

import json

import pytest

from app.catalog.store import CatalogStore
from app.search.abbreviations import AbbreviationTable
from app.search.explain import (
    ASPECTS,
    FIELDS,
    Explanation,
    difference,
    explain,
    siblings,
    word_forms,
)
from app.search.query import analyze_query

FEMUR_QUERY = "fractura de cuello de fémur derecho"


@pytest.fixture(scope="module")
def table() -> AbbreviationTable:
    return AbbreviationTable.default()


def _match(explanation: Explanation, word: str, field: str):
    found = [m for m in explanation.matches if m.word == word and m.field == field]
    assert len(found) <= 1, "at most one match per word and field"
    return found[0] if found else None


def test_right_and_left_femur_differ_by_laterality(store: CatalogStore) -> None:
    right, left = store.get("S72.001A"), store.get("S72.002A")
    assert "right" in right.title_en and "left" in left.title_en
    first, second = explain(store, analyze_query(FEMUR_QUERY), [(right.code, ()), (left.code, ())])
    assert first.difference is not None and second.difference is not None
    assert first.difference.aspect == "laterality"
    assert (first.difference.this, first.difference.other) == (("right",), ("left",))
    assert first.difference.other_code == "S72.002A"
    # the Spanish title is the category's, so the English titles are compared
    assert first.difference.language == "en"
    assert (second.difference.this, second.difference.other) == (("left",), ("right",))
    assert second.difference.other_code == "S72.001A"


def test_spanish_laterality_word_matches_the_english_title(store: CatalogStore) -> None:
    right, left = explain(store, analyze_query(FEMUR_QUERY), [("S72.001A", ()), ("S72.002A", ())])
    match = _match(right, "derecho", "title_en")
    assert match is not None and match.term == "right"
    assert "derecho" in left.unmatched and "derecho" not in left.words
    assert {"fractura", "cuello", "femur"} <= set(left.words)


@pytest.mark.parametrize(
    ("a", "b", "aspect", "language"),
    [
        ("S72.001A", "S72.001D", "episode", "en"),  # initial vs subsequent encounter
        ("I50.21", "I50.22", "acuity", "en"),  # acute vs chronic
        ("E11.9", "E11.21", "complication", "en"),  # without complications vs with ...
        ("F32.0", "F32.1", "severity", "es"),  # leve vs moderado (own Spanish titles)
        ("N18.1", "N18.2", "severity", "en"),  # stage 1 vs stage 2
        ("I21.4", "I21.9", "other", "es"),  # "sin otra especificación" is no complication
    ],
)
def test_sibling_aspects(store: CatalogStore, a: str, b: str, aspect: str, language: str) -> None:
    first, second = store.get(a), store.get(b)
    assert siblings(first, second)
    diff = difference(first, second)
    assert diff is not None
    assert (diff.aspect, diff.language) == (aspect, language)
    assert diff.aspects[0] == aspect and set(diff.aspects) <= set(ASPECTS)
    assert diff.this or diff.other


def test_severity_words_come_from_the_spanish_titles(store: CatalogStore) -> None:
    diff = difference(store.get("F32.0"), store.get("F32.1"))
    assert diff is not None and (diff.this, diff.other) == (("leve",), ("moderado",))


def test_with_and_without_are_phrases_of_the_difference(store: CatalogStore) -> None:
    diff = difference(store.get("E11.9"), store.get("E11.21"))
    assert diff is not None
    assert diff.this == ("without complications",)
    assert diff.other == ("with diabetic nephropathy",)


@pytest.mark.parametrize(
    ("codes", "why"),
    [
        (("I10", "S72.001A"), "unrelated"),
        (("S72.001", "S72.001A"), "ancestor and descendant"),
    ],
)
def test_non_siblings_have_no_difference(
    store: CatalogStore, codes: tuple[str, str], why: str
) -> None:
    records = [store.get(c) for c in codes]
    assert not siblings(*records), why
    explanations = explain(store, analyze_query("fractura"), [(c, ()) for c in codes])
    assert [e.difference for e in explanations] == [None, None]


def test_only_the_two_best_results_get_a_difference(store: CatalogStore) -> None:
    codes = ["S72.001A", "S72.002A", "S72.009A"]
    explanations = explain(store, analyze_query(FEMUR_QUERY), [(c, ()) for c in codes])
    assert explanations[0].difference and explanations[1].difference
    assert explanations[2].difference is None


def test_word_found_only_in_an_inclusion_term(store: CatalogStore) -> None:
    record = store.get("I21.4")
    inclusions = [n.text for n in store.notes("I21.4") if n.kind == "inclusion_term"]
    assert "Nontransmural myocardial infarction NOS" in inclusions
    assert "nontransmural" not in f"{record.title_es} {record.title_en}".lower()
    (explanation,) = explain(store, analyze_query("infarto nontransmural"), [("I21.4", ())])
    match = _match(explanation, "nontransmural", "inclusion")
    assert match is not None
    assert (match.text, match.term) == ("Nontransmural myocardial infarction NOS", "Nontransmural")
    assert _match(explanation, "infarto", "title_es") is not None
    assert explanation.unmatched == ()


def test_inclusion_term_the_retriever_matched_is_preferred(store: CatalogStore) -> None:
    query = analyze_query("myocardial infarction")
    chosen = "Type 1 non-ST elevation myocardial infarction"
    (plain,) = explain(store, query, [("I21.4", ())])
    (guided,) = explain(store, query, [("I21.4", (chosen,))])
    assert _match(plain, "myocardial", "inclusion").text != chosen  # catalog order otherwise
    assert _match(guided, "myocardial", "inclusion").text == chosen
    assert _match(guided, "myocardial", "alias") is None


def test_retriever_text_that_is_no_title_or_inclusion_is_an_alias(store: CatalogStore) -> None:
    (explanation,) = explain(store, analyze_query("hta"), [("I10", ("hta",))])
    match = _match(explanation, "hta", "alias")
    assert match is not None and match.text == "hta"


@pytest.mark.parametrize(
    ("text", "code", "word", "term"),
    [
        ("fracturas de cuello", "S72.001A", "fracturas", "Fractura"),  # plural
        ("hipertension primario", "I10", "primario", "primaria"),  # gender
    ],
)
def test_spanish_inflections_match(
    store: CatalogStore, text: str, code: str, word: str, term: str
) -> None:
    (explanation,) = explain(store, analyze_query(text), [(code, ())])
    match = _match(explanation, word, "title_es")
    assert match is not None and match.term == term


@pytest.mark.parametrize("text", ["HIPERTENSIÓN esencial", "hipertension esencial"])
def test_matching_ignores_case_and_accents(store: CatalogStore, text: str) -> None:
    assert store.get("I10").title_es == "Hipertensión esencial (primaria)"
    (explanation,) = explain(store, analyze_query(text), [("I10", ())])
    match = _match(explanation, "hipertension", "title_es")
    assert match is not None and match.term == "Hipertensión"
    assert explanation.words == ("hipertension", "esencial")


def test_abbreviation_reports_its_expansion_words(
    store: CatalogStore, table: AbbreviationTable
) -> None:
    query = analyze_query("IAM", table)
    assert query.expanded == "infarto agudo de miocardio"
    assert store.get("I21.9").title_es.startswith("Infarto agudo del miocardio")
    (explanation,) = explain(store, query, [("I21.9", ())])
    assert explanation.words == ("infarto", "agudo", "miocardio")
    assert {m.via for m in explanation.matches} == {"IAM"}
    assert "iam" not in explanation.unmatched and explanation.unmatched == ()


def test_typed_words_are_not_attributed_to_an_abbreviation(
    store: CatalogStore, table: AbbreviationTable
) -> None:
    (explanation,) = explain(store, analyze_query("IAM agudo", table), [("I21.9", ())])
    assert _match(explanation, "agudo", "title_es").via is None
    assert _match(explanation, "infarto", "title_es").via == "IAM"


def test_prefix_last_matches_the_word_being_typed(store: CatalogStore) -> None:
    query = analyze_query("fractura de cuello de fém")
    (typing,) = explain(store, query, [("S72.001A", ())], prefix_last=True)
    (whole,) = explain(store, query, [("S72.001A", ())])
    assert _match(typing, "fem", "title_es").term == "fémur"
    assert "fem" in whole.unmatched


def test_unknown_code_has_no_matches(store: CatalogStore) -> None:
    assert store.find("Z99.999") is None
    (explanation,) = explain(store, analyze_query("fractura"), [("Z99.999", ())])
    assert explanation.matches == () and explanation.unmatched == ("fractura",)


def test_one_query_per_result_set_when_records_are_given(
    store: CatalogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = ["S72.001A", "S72.002A", "I21.4", "I10"]
    records = store.get_many(codes)
    calls: list[str] = []
    real_query = store.query

    def counting(sql: str, params: tuple | list = ()) -> list[tuple]:
        calls.append(sql)
        return real_query(sql, params)

    monkeypatch.setattr(store, "query", counting)
    explain(store, analyze_query(FEMUR_QUERY), [(c, ()) for c in codes], records=records)
    assert len(calls) == 1


def test_to_dict_keys_are_stable_and_json_ready(store: CatalogStore) -> None:
    first, _ = explain(store, analyze_query(FEMUR_QUERY), [("S72.001A", ()), ("S72.002A", ())])
    data = first.to_dict()
    json.dumps(data)
    assert list(data) == ["code", "matches", "unmatched", "difference"]
    assert list(data["matches"][0]) == ["word", "field", "text", "term", "via"]
    assert list(data["difference"]) == [
        "aspect",
        "aspects",
        "this",
        "other",
        "other_code",
        "language",
    ]
    assert {m["field"] for m in data["matches"]} <= set(FIELDS)
    assert data["difference"]["this"] == ["right"]


def test_word_forms_light_stemming() -> None:
    assert word_forms("fracturas") == {"fracturas", "fractura", "fractur"}
    assert word_forms("fracture") & word_forms("fractura")
    assert word_forms("lesiones") & word_forms("lesion")
    assert word_forms("derecho") & word_forms("derecha")
    assert not word_forms("cono") & word_forms("con")  # short words keep their vowel
    assert not word_forms("caso") & word_forms("casa")
