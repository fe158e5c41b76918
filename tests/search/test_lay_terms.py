"""The lay lexicon: its file, its targets in the catalog, and its use in query expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog.store import CatalogStore
from app.search.bm25 import BM25Retriever
from app.search.lay_terms import LayFileError, LayLexicon, LayTerm, content_words
from app.search.normalize import tokenize
from app.search.pipeline import PipelineConfig, SearchPipeline
from app.search.query import analyze_query
from app.search.spelling import vocabulary_for

TRAIN = ("codiesp-train",)
#: Searchable fields a clinical term may come from: titles (es/en), inclusion terms, aliases.
TARGET_FIELDS = ("title_es", "title_es_inherited", "title_en", "inclusion", "alias")


@pytest.fixture(scope="module")
def lexicon() -> LayLexicon:
    return LayLexicon.default()


def test_the_bundled_lexicon_is_large_and_well_formed(lexicon: LayLexicon) -> None:
    assert len(lexicon) >= 300
    for entry in lexicon:
        assert entry.clinical and all(c.strip() == c and c for c in entry.clinical)
        # A lay term never maps to itself: the clinical reading adds words to search.
        assert all(tokenize(c) != tokenize(entry.term) for c in entry.clinical)


def test_every_clinical_term_is_a_phrase_of_the_catalog(
    store: CatalogStore, lexicon: LayLexicon
) -> None:
    marks = ",".join("?" * len(TARGET_FIELDS))
    missing = []
    for entry in lexicon:
        for clinical in entry.clinical:
            phrase = '"' + " ".join(tokenize(clinical)) + '"'
            rows = store.query(
                "SELECT 1 FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid "
                f"WHERE search_fts MATCH ? AND d.field IN ({marks}) "
                "AND (d.field != 'alias' OR d.source IN (?)) LIMIT 1",
                [phrase, *TARGET_FIELDS, *TRAIN],
            )
            if not rows:
                missing.append(f"{entry.term} -> {clinical}")
    assert missing == []


def test_find_prefers_the_longest_term_and_skips_stop_words() -> None:
    lexicon = LayLexicon(
        [
            LayTerm("piedras en el riñón", ("cálculo del riñón",), ""),
            LayTerm("piedras", ("cálculos",), ""),
            LayTerm("dolor de cabeza", ("cefalea",), ""),
        ]
    )
    tokens = tokenize("Piedras en los riñones y piedras en el riñón, dolor cabeza")
    found = lexicon.find(tokens)
    assert [(m.text, m.clinical[0]) for m in found] == [
        ("piedras", "cálculos"),
        ("piedras en el rinon", "cálculo del riñón"),
        ("dolor cabeza", "cefalea"),
    ]
    assert all(tokens[m.start : m.end] == m.text.split() for m in found)
    assert content_words("Dolor de CABEZA") == ("dolor", "cabeza")
    assert lexicon.get("dolor  de  cabeza").clinical == ("cefalea",)


def test_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "lay.tsv"
    bad.write_text("term\tclinical\n", encoding="utf-8")
    with pytest.raises(LayFileError, match="lay.tsv:1"):
        LayLexicon.from_tsv(bad)
    bad.write_text(
        "lay_term\tclinical_terms\tnote\npie de atleta\ttiña del pie\t\npie atleta\ttiña\t\n",
        encoding="utf-8",
    )
    with pytest.raises(LayFileError, match="lay.tsv:3: duplicate"):
        LayLexicon.from_tsv(bad)
    bad.write_text("lay_term\tclinical_terms\tnote\nculebrilla\therpes||\t\n", encoding="utf-8")
    with pytest.raises(LayFileError, match="lay.tsv:2: empty clinical term"):
        LayLexicon.from_tsv(bad)
    bad.write_text("lay_term\tclinical_terms\tnote\nde la\tnada\t\n", encoding="utf-8")
    with pytest.raises(LayFileError, match="no content word"):
        LayLexicon.from_tsv(bad)


def test_lay_terms_become_query_variants(store: CatalogStore) -> None:
    vocabulary = vocabulary_for(store, TRAIN)
    query = analyze_query("piedras en el riñón derecho", vocabulary=vocabulary)
    assert [m.term.term for m in query.lay_terms] == ["piedras en el riñón"]
    assert query.variants == ("calculo del rinon derecho",)
    ambiguous = analyze_query("constipado", vocabulary=vocabulary)
    assert ambiguous.variants == ("resfriado comun", "estrenimiento")  # every reading
    # A slip in a lay term is corrected first, then the lay term is read.
    slipped = analyze_query("almoranas", vocabulary=vocabulary)
    assert slipped.corrected == "almorranas"
    assert slipped.variants == ("almorranas", "hemorroides")


def test_lay_words_are_known_to_the_speller(store: CatalogStore) -> None:
    vocabulary = vocabulary_for(store, TRAIN)
    assert vocabulary.correct("culebrilla") == ()
    assert vocabulary.correct("agujetas y retortijones") == ()


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ("culebrilla", "B02"),
        ("almorranas", "K64"),
        ("pie de atleta", "B35.3"),
        ("ardor de estómago", "R12"),
        ("piedras en el riñón", "N20"),
        ("sabañones", "T69.1"),
        ("paperas", "B26"),
        ("tosferina", "A37"),
        ("ojo vago", "H53.0"),
    ],
)
def test_lay_terms_find_their_codes_lexically(
    store: CatalogStore, text: str, prefix: str
) -> None:
    pipeline = SearchPipeline(
        store, config=PipelineConfig(retriever="bm25", alias_sources=TRAIN, rerank=False)
    )
    codes = [r.code for r in pipeline.search(text, top_k=5)]
    assert any(c.startswith(prefix) for c in codes), codes


def test_bm25_without_the_lexicon_finds_nothing_for_culebrilla(store: CatalogStore) -> None:
    assert BM25Retriever(store, alias_sources=TRAIN).retrieve(analyze_query("culebrilla"), 5) == []
