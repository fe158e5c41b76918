"""Spelling correction against the session catalog's vocabulary (train aliases)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.catalog.store import CatalogStore
from app.search.abbreviations import AbbreviationTable
from app.search.alias import AliasRetriever, FuzzyAliases, fuzzy_aliases_for
from app.search.bm25 import BM25Retriever
from app.search.normalize import normalize_text, tokenize
from app.search.pipeline import PipelineConfig, SearchPipeline
from app.search.query import analyze_query
from app.search.spelling import (
    Vocabulary,
    apply_corrections,
    inflections,
    max_edits,
    vocabulary_for,
)

TRAIN = ("codiesp-train",)
FIXTURES = [HealthCheck.function_scoped_fixture]


@pytest.fixture(scope="module")
def vocabulary(store: CatalogStore) -> Vocabulary:
    return vocabulary_for(store, TRAIN)


@pytest.fixture(scope="module")
def table() -> AbbreviationTable:
    return AbbreviationTable.default()


@pytest.fixture(scope="module")
def pipeline(store: CatalogStore) -> SearchPipeline:
    return SearchPipeline(store, config=PipelineConfig(alias_sources=TRAIN, rerank=False))


@pytest.mark.parametrize(
    ("typed", "word", "suggestion"),
    [
        ("hipotiroidsmo", "hipotiroidsmo", "hipotiroidismo"),
        ("cefalea tensinal", "tensinal", "tensional"),
        ("Hipotiroidsmo", "Hipotiroidsmo", "Hipotiroidismo"),
        ("insuficiencia cardiaca congestva", "congestva", "congestiva"),
        ("NEUMONIA BILATERL", "BILATERL", "BILATERAL"),
        ("almoranas", "almoranas", "almorranas"),
    ],
)
def test_real_slips_are_corrected(
    vocabulary: Vocabulary, table: AbbreviationTable, typed: str, word: str, suggestion: str
) -> None:
    (correction,) = vocabulary.correct(typed, table)
    assert correction.word == word and typed[correction.start : correction.end] == word
    assert correction.suggestion == suggestion and correction.distance == 1


def test_suggestion_keeps_the_catalogs_accents(vocabulary: Vocabulary) -> None:
    (correction,) = vocabulary.correct("infarto cerebrl")
    assert correction.folded == "cerebral"
    (correction,) = vocabulary.correct("fractura de femr")
    assert correction.suggestion == "fémur"


def test_neighbouring_words_break_ties(vocabulary: Vocabulary) -> None:
    # "cutanes" is one edit from "cutánea" and from "cutáneas": the catalog writes
    # "lesiones cutáneas", so the plural wins next to "lesiones".
    (correction,) = vocabulary.correct("lesiones cutanes")
    assert correction.folded == "cutaneas"


@pytest.mark.parametrize(
    "text",
    [
        "colecistitis aguda litiasica",  # lost accents only: every word is known
        "ictus isquemico",
        "anemia ferropenica",
        "fractura pertrocantérea de cadera derecha",
        "hipertension arterial",
        "HIPERTENSIÓN ARTERIAL",
        "Insuficiencia Renal Crónica",
        "myocardial infarction",  # English words are known too
        "diabetes mellitus tipo 2 con nefropatía",
        "urgencia",  # the catalog has "urgencias": a plural is grammar, not a slip
    ],
)
def test_known_words_are_never_corrected(
    vocabulary: Vocabulary, table: AbbreviationTable, text: str
) -> None:
    assert vocabulary.correct(text, table) == ()


@pytest.mark.parametrize(
    "text",
    ["IAM", "EPOC reagudizado", "ACxFA", "DM2", "HTA", "IRC", "TEP", "ITUs", "dm2", "h1n1"],
)
def test_abbreviations_and_words_with_digits_are_never_corrected(
    vocabulary: Vocabulary, table: AbbreviationTable, text: str
) -> None:
    assert vocabulary.correct(text, table) == ()


@pytest.mark.parametrize("text", ["s72.0", "S7200", "t81.31xa", "T81.31XA", "E11.9", "W19.XXXA"])
def test_typed_codes_are_never_corrected(
    vocabulary: Vocabulary, table: AbbreviationTable, text: str
) -> None:
    query = analyze_query(text, table, vocabulary)
    assert query.code is not None
    assert query.corrections == () and query.corrected is None and query.variants == ()


def test_every_title_word_of_a_sample_is_known(store: CatalogStore, vocabulary: Vocabulary) -> None:
    rows = store.query(
        "SELECT title_es, title_en FROM codes WHERE title_es IS NOT NULL ORDER BY id LIMIT 400"
    )
    for title_es, title_en in rows:
        assert vocabulary.correct(title_es) == ()
        assert vocabulary.correct(title_en) == ()


def test_corrected_query_is_searched_as_well_as_the_original(
    vocabulary: Vocabulary, table: AbbreviationTable
) -> None:
    query = analyze_query("cefalea tensinal", table, vocabulary)
    assert query.expanded == "cefalea tensinal"  # the original stays what is searched first
    assert query.corrected == "cefalea tensional"
    assert query.variants == ("cefalea tensional",)


def test_correction_keeps_abbreviation_expansion(
    vocabulary: Vocabulary, table: AbbreviationTable
) -> None:
    query = analyze_query("HTA y hipotiroidsmo", table, vocabulary)
    assert query.corrected == "HTA y hipotiroidismo"
    assert query.variants[0] == "hipertension arterial y hipotiroidismo"


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ("hipotiroidsmo", "E03"),
        ("cefalea tensinal", "G44.2"),
        ("colecistitis aguda litiasica", "K80"),  # lost accents; lexical stages alone
        ("insuficiencia cardiaca congestva", "I50"),
    ],
)
def test_slips_find_their_codes(pipeline: SearchPipeline, text: str, prefix: str) -> None:
    codes = [r.code for r in pipeline.search(text, top_k=5)]
    assert any(c.startswith(prefix) for c in codes), codes


def test_bm25_searches_the_variants(store: CatalogStore, vocabulary: Vocabulary) -> None:
    retriever = BM25Retriever(store, alias_sources=TRAIN)
    plain = analyze_query("hipotiroidsmo")
    assert retriever.retrieve(plain, 5) == []
    corrected = analyze_query("hipotiroidsmo", vocabulary=vocabulary)
    assert retriever.retrieve(corrected, 5)[0].code.startswith("E03")


def test_alias_matches_a_variant_exactly(store: CatalogStore, vocabulary: Vocabulary) -> None:
    retriever = AliasRetriever(store, TRAIN, fuzzy=False)
    query = analyze_query("hipotiroidsmo", vocabulary=vocabulary)
    (first, *_) = retriever.retrieve(query, 5)
    assert first.code == "E03.9" and first.matched == ("hipotiroidismo",)


def test_fuzzy_aliases_go_word_by_word(store: CatalogStore) -> None:
    aliases = fuzzy_aliases_for(store, TRAIN)
    assert aliases.match("insuficiencia renal cronca")[0] == ("insuficiencia renal cronica", 1)
    assert aliases.match("fibrilacion auricualr")[0] == ("fibrilacion auricular", 1)
    # Known words are never bent to another alias: hyper- is not hypo-.
    assert aliases.match("hipertiroidismo") == []
    assert aliases.match("insuficiencia renal aguda") == []


def test_fuzzy_alias_budget_follows_word_length() -> None:
    vocabulary = Vocabulary({"dolor": 3}, {"dolor": 3})
    aliases = FuzzyAliases(["dolor toracico", "tos", "dolor lumbar"], vocabulary)
    assert aliases.match("dolor toracco") == [("dolor toracico", 1)]
    assert aliases.match("dolor torcico") == [("dolor toracico", 1)]
    assert aliases.match("tso") == []  # under four letters: no budget
    assert aliases.match("dolor lumbra") == [("dolor lumbar", 1)]  # a swap is one edit
    assert aliases.match("dolr lumbar") == [("dolor lumbar", 1)]  # "dolr" is unknown
    # "dolor" is known: it is never bent to "calor", whatever the other words allow.
    assert FuzzyAliases(["calor lumbar"], vocabulary).match("dolor lumbarr") == []


def test_alias_retriever_falls_back_to_fuzzy(store: CatalogStore) -> None:
    query = analyze_query("insuficiencia renal cronca")
    exact = AliasRetriever(store, TRAIN, fuzzy=False).retrieve(query, 5)
    fuzzy = AliasRetriever(store, TRAIN).retrieve(query, 5)
    assert exact == [] and fuzzy and fuzzy[0].matched == ("insuficiencia renal cronica",)
    assert fuzzy[0].code.startswith("N18")


def test_vocabulary_follows_alias_sources(store: CatalogStore) -> None:
    with_aliases = vocabulary_for(store, TRAIN)
    titles_only = vocabulary_for(store, ())
    assert vocabulary_for(store, TRAIN) is with_aliases  # built once
    assert set(titles_only.known) < set(with_aliases.known)
    # A word only CodiEsp mentions use (a slip coders made and coded) is known through aliases.
    assert "hipotirodismo" in with_aliases and "hipotirodismo" not in titles_only


def test_small_vocabulary_rules() -> None:
    vocabulary = Vocabulary(
        {"fracture": 50},
        {"fractura": 9, "factura": 1, "cadera": 5},
        surfaces={},
        pairs={("fractura", "cadera"): 4},
    )
    assert vocabulary.suggest("fratcura") == ("fractura", 1)
    assert vocabulary.suggest("fractur") == ("fractura", 1)  # Spanish target, not "fracture"
    assert vocabulary.suggest("zzzzzzzz") is None
    assert vocabulary.suggest("cdra") is None  # two edits in four letters: over budget
    assert "fracture" in vocabulary and vocabulary.correct("fracture") == ()
    assert [max_edits(n) for n in (3, 4, 7, 8, 20)] == [0, 1, 1, 2, 2]
    assert {"urgencias", "urgencio"} <= inflections("urgencia")


def test_apply_corrections_replaces_spans(vocabulary: Vocabulary) -> None:
    text = "Cefalea tensinal y hipotiroidsmo"
    corrections = vocabulary.correct(text)
    assert apply_corrections(text, corrections) == "Cefalea tensional y hipotiroidismo"
    assert [c.to_dict()["suggestion"] for c in corrections] == ["tensional", "hipotiroidismo"]


@settings(max_examples=200, deadline=None, suppress_health_check=FIXTURES)
@given(st.text(max_size=120))
def test_query_understanding_invariants(
    vocabulary: Vocabulary, table: AbbreviationTable, text: str
) -> None:
    query = analyze_query(text, table, vocabulary)
    for c in query.corrections:
        assert query.text[c.start : c.end] == c.word
        assert normalize_text(c.word) not in vocabulary.known
        assert tokenize(c.suggestion) == [c.folded]
    assert (query.corrected is None) == (not query.corrections)
    assert query.expanded not in query.variants
    assert len(query.variants) <= 4


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(
    st.lists(
        st.sampled_from(["hipotiroidsmo", "cefalea", "tensinal", "IAM", "de", "s72.0", "ñandú",
                         "almoranas", "culebrilla", "pie", "atleta", "fémur", "DM2", "x"]),
        max_size=6,
    ).map(" ".join)
)
def test_search_with_slips_never_fails(pipeline: SearchPipeline, text: str) -> None:
    assert isinstance(pipeline.search(text, top_k=5), list)
