"""The learned Spanish -> English word lexicon and the translated query BM25 also searches."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from app.catalog.store import CatalogStore
from app.search.bm25 import BM25Retriever
from app.search.pipeline import PipelineConfig, SearchPipeline
from app.search.query import analyze_query
from app.search.spelling import vocabulary_for
from app.search.translation import DEFAULT_PATH, Cognates, Translator
from training import translation_lexicon as builder


def test_translator_replaces_known_words_only() -> None:
    translator = Translator(
        {"fractura": "fracture", "contacto": ("contact", "encounter"), "renal": "kidney"},
        keep={"renal"},
    )
    assert translator.translate(["fractura", "de", "contacto", "renal", "s72"]) == [
        "fracture", "de", "contact|encounter", "renal|kidney", "s72",
    ]
    assert translator.translate(["hip", "fracture"]) is None
    assert len(translator) == 3


def test_other_numbers_and_genders_read_as_the_known_word() -> None:
    translator = Translator(
        {"hombro": "shoulder", "psicotico": ("psychotic", "psychosis"), "lesion": "lesion",
         "renal": "kidney"},
        keep={"renal"},
    )
    assert translator.translate(["dolor", "hombros"]) == ["dolor", "shoulder"]
    assert translator.translate(["trastorno", "psicoticas"]) == [
        "trastorno", "psychotic|psychosis",
    ]
    assert translator.lookup("lesiones") == "lesion"
    assert translator.translate(["litiasis", "renales"]) == ["litiasis", "renal|kidney"]
    assert translator.lookup("hombre") is None  # not another form of "hombro"
    assert translator.lookup("fracture") is None


def test_cognates_are_exact_spelling_twins_only() -> None:
    cognates = Cognates({"thoracic": 5, "pyonephrosis": 1, "spondylodiscitis": 1,
                         "psychotic": 3, "created": 9, "ascites": 4, "anomalies": 2})
    assert cognates.find("toracicos") == "thoracic"
    assert cognates.find("pionefrosis") == "pyonephrosis"
    assert cognates.find("espondilodiscitis") == "spondylodiscitis"
    assert cognates.find("psicotica") == "psychotic"
    assert cognates.find("anomalias") == "anomalies"
    assert cognates.find("cerrada") is None  # near "created", but not a cognate
    assert cognates.find("aceites") is None  # near "ascites"


def test_a_word_the_catalog_lacks_reads_as_its_english_cognate() -> None:
    catalog = {"fracture": 900, "fractura": 40, "spondylodiscitis": 2, "pyonephrosis": 1}
    translator = Translator({"fractura": "fracture"}).with_catalog(catalog, {"fractura"})
    assert translator.translate(["espondilodiscitis", "l4"]) == ["spondylodiscitis", "l4"]
    # A word of the catalog is searched as it is, and English is not taken for Spanish.
    assert translator.translate(["pyonephrosis"]) is None
    assert translator.translate(["fracture"]) is None
    assert Translator({}).translate(["espondilodiscitis"]) is None  # no catalog, no cognate


def test_translator_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "lex.tsv"
    path.write_text("es\ten\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lex.tsv:1"):
        Translator.from_tsv(path)
    path.write_text("spanish\tenglish\tprobability\tcount\tkeep\tsource\nfractura\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match="lex.tsv:2"):
        Translator.from_tsv(path)


@pytest.mark.parametrize(
    ("spanish", "english"),
    [("fractura", "fracture"), ("derecho", "right"), ("izquierda", "left"), ("cadera", "hip"),
     ("rodilla", "knee"), ("sucesivo", "subsequent"), ("cronica", "chronic"),
     ("humero", "humerus"), ("tobillo", "ankle")],
)
def test_bundled_lexicon_knows_the_words_of_site_side_and_episode(
    spanish: str, english: str
) -> None:
    assert Translator.default().words[spanish][0] == english


def test_translated_query_reaches_english_titles(store: CatalogStore) -> None:
    vocabulary = vocabulary_for(store, ())
    query = analyze_query("fractura de húmero proximal derecho", vocabulary=vocabulary)
    # "proximal" is English too: kept beside its translations, as a group of alternatives.
    assert query.translated == "fracture de humerus proximal|upper|end right"
    assert query.expanded == "fractura de humero proximal derecho"  # searched first, as typed
    retriever = BM25Retriever(store, alias_sources=())
    plain = [c.code for c in retriever.retrieve(analyze_query(query.text), 10)]
    translated = [c.code for c in retriever.retrieve(query, 10)]
    # Only the English titles say the side: "... of upper end of right humerus".
    assert not any(c.startswith("S42.2") and c[6:7] == "1" for c in plain)
    assert translated[0] == "S42.201"
    knee = analyze_query("dolor de rodilla izquierda", vocabulary=vocabulary)
    assert retriever.retrieve(knee, 1)[0].code == "M25.562"  # Pain in left knee


def test_translation_keeps_codes_and_unknown_words(store: CatalogStore) -> None:
    vocabulary = vocabulary_for(store, ())
    assert analyze_query("S72.001A", vocabulary=vocabulary).translated is None
    assert analyze_query("myocardial infarction", vocabulary=vocabulary).translated is None


def test_episode_words_are_found_in_english(store: CatalogStore) -> None:
    pipeline = SearchPipeline(
        store, config=PipelineConfig(retriever="bm25", aliases=False, rerank=False)
    )
    query = pipeline.analyze("fractura de cadera derecha, contacto sucesivo")
    assert query.corrections == ()  # "sucesivo" is CIE-10-ES wording: known, not a slip
    assert "subsequent" in query.translated.replace("|", " ").split()


def test_bundled_lexicon_is_rebuilt_identically_from_train(
    catalog_path: Path, tmp_path: Path
) -> None:
    out, card = tmp_path / "lexicon.tsv", tmp_path / "card"
    args = ["--catalog", str(catalog_path), "--out", str(out), "--card", str(card)]
    assert builder.main(args) == 0
    assert out.read_bytes() == DEFAULT_PATH.read_bytes()
    facts = json.loads((card / "card.json").read_text(encoding="utf-8"))
    assert facts["held_back"]["precision"] >= 0.8 and facts["held_back"]["coverage"] >= 0.7
    assert "Precision on held-back title pairs" in (card / "card.md").read_text("utf-8")


def test_ibm1_learns_from_co_occurrence_and_selection_filters() -> None:
    pairs = [
        (["fractura", "cadera"], ["fracture", "hip"]),
        (["fractura", "rodilla"], ["fracture", "knee"]),
        (["luxacion", "rodilla"], ["dislocation", "knee"]),
        (["renal", "cronica"], ["chronic", "renal"]),
    ]
    table = builder.ibm1(pairs, iterations=10)
    assert max(table["fractura"], key=table["fractura"].get) == "fracture"
    assert max(table["rodilla"], key=table["rodilla"].get) == "knee"
    assert builder.ibm1(pairs, iterations=10) == table  # deterministic
    counts = {"fractura": 2, "rodilla": 2, "cadera": 1, "renal": 1, "cronica": 1}
    from collections import Counter

    rows = builder.select(table, Counter(counts), min_count=2, min_prob=0.3,
                          english={"fractura"})
    assert {(s, e, keep) for s, e, _p, _n, keep, _source in rows} == {
        ("fractura", "fracture", 1), ("rodilla", "knee", 0),
    }
    assert {r[5] for r in rows} == {"ibm1"}
    assert builder.precision(rows, [(["fractura", "rodilla"], ["fracture", "hip"])]) == {
        "held_back_pairs": 1, "spanish_words": 2, "translated": 2, "coverage": 1.0,
        "precision": 0.5, "cognate_only": 0, "cognate_precision": 0.0,
    }


def test_translation_modes(store: CatalogStore) -> None:
    vocabulary = vocabulary_for(store, ())
    query = analyze_query("dolor de rodilla izquierda", vocabulary=vocabulary)
    only = BM25Retriever(store, alias_sources=(), translation="only")
    assert only.name == "bm25_en" and only.retrieve(query, 1)[0].code == "M25.562"
    off = BM25Retriever(store, alias_sources=(), translation="off")
    assert off.retrieve(query, 5) == BM25Retriever(store, alias_sources=()).retrieve(
        analyze_query(query.text), 5
    )
    with pytest.raises(ValueError, match="translation"):
        BM25Retriever(store, translation="always")


def test_translation_is_skipped_when_the_spanish_found_every_word(store: CatalogStore) -> None:
    vocabulary = vocabulary_for(store, ())
    query = analyze_query("hipertensión esencial", vocabulary=vocabulary)
    assert query.translated is not None
    merged = BM25Retriever(store, alias_sources=()).retrieve(query, 10)
    assert merged == BM25Retriever(store, alias_sources=(), translation="off").retrieve(query, 10)


def test_cognate_rows_fill_in_beside_and_after_the_model() -> None:
    rows = [("toracico", "chest", 0.86, 10, 0, "ibm1")]
    words = Counter({"toracico": 10, "pionefrosis": 2, "cerrada": 50, "renal": 9})
    english = {"chest": 100, "thoracic": 50, "pyonephrosis": 1, "renal": 300}

    assert builder.cognate_rows(rows, words, english) == [
        ("pionefrosis", "pyonephrosis", 1.0, 2, 0, "cognate"),
        ("toracico", "thoracic", 1.0, 10, 0, "cognate"),
    ]


def test_bundled_lexicon_reads_cognates_and_inflections(store: CatalogStore) -> None:
    vocabulary = vocabulary_for(store, ())
    query = analyze_query("dolor de hombros", vocabulary=vocabulary)
    assert "shoulder" in query.translated.replace("|", " ").split()
    words = Translator.default().words
    assert "psychotic" in words["psicotico"] and "thoracic" in words["toracico"]


def test_bridge_mode_translates_unless_an_alias_holds_the_whole_query(
    store: CatalogStore,
) -> None:
    vocabulary = vocabulary_for(store, ())
    # A WHO Spanish title holds both words: "merge" leaves the translation out, "bridge"
    # (BM25 without a dense stage) still looks for the English titles, as strongly as the
    # Spanish, and finds codes the Spanish alone does not.
    query = analyze_query("hipertensión esencial", vocabulary=vocabulary)
    off = BM25Retriever(store, alias_sources=(), translation="off").retrieve(query, 20)
    bridged = BM25Retriever(store, alias_sources=(), translation="bridge").retrieve(query, 20)
    assert bridged != off
    assert {c.code for c in bridged} - {c.code for c in off}
    only = BM25Retriever(store, alias_sources=(), translation="only").retrieve(query, 20)
    from_english = {c.code: c.score for c in only}
    assert any(from_english.get(c.code) == pytest.approx(c.score) for c in bridged
               if c.code not in {o.code for o in off})  # weighed by BRIDGE_WEIGHT = 1
    # A coder's wording that an alias holds whole is not translated.
    sources = tuple(s for (s,) in store.query(
        "SELECT DISTINCT source FROM search_docs WHERE field = 'alias' ORDER BY source"))
    aliased = vocabulary_for(store, sources)
    texts = [t for (t,) in store.query(
        "SELECT text FROM search_docs WHERE field = 'alias' ORDER BY id LIMIT 200")]
    held = next(q for q in (analyze_query(t, vocabulary=aliased) for t in texts)
                if q.translated and len(q.expanded.split()) >= 2)
    with_aliases = BM25Retriever(store, alias_sources=sources, translation="bridge")
    assert with_aliases.retrieve(held, 10) == BM25Retriever(
        store, alias_sources=sources, translation="off").retrieve(held, 10)


def test_bm25_bridges_to_english_only_without_a_dense_stage(store: CatalogStore) -> None:
    from app.search.pipeline import first_stage_members

    def bm25_mode(config: PipelineConfig, dense: object | None = None) -> str:
        members = first_stage_members(store, config, dense)  # type: ignore[arg-type]
        return next(r for r, _w in members if isinstance(r, BM25Retriever)).translation

    assert bm25_mode(PipelineConfig(retriever="bm25", aliases=False)) == "bridge"
    assert bm25_mode(PipelineConfig(retriever="bm25"), dense=object()) == "bridge"
    assert bm25_mode(PipelineConfig(retriever="hybrid")) == "bridge"  # lexical only
    assert bm25_mode(PipelineConfig(retriever="hybrid"), dense=object()) == "merge"
    members = first_stage_members(store, PipelineConfig(retriever="hybrid"), object())  # type: ignore[arg-type]
    assert next(r for r, _w in members if isinstance(r, BM25Retriever)).doc_coverage == 0.0


def test_bm25_alone_weighs_how_much_of_each_document_the_query_holds(
    store: CatalogStore,
) -> None:
    from app.search.bm25 import _doc_coverage

    assert _doc_coverage({"nausea"}, ["nausea", "and", "vomiting"]) == 0.5
    assert _doc_coverage({"pain"}, []) == 1.0
    query = analyze_query("dolor dorso-lumbar", vocabulary=vocabulary_for(store, ()))
    plain = BM25Retriever(store, alias_sources=(), translation="bridge").retrieve(query, 10)
    weighted = BM25Retriever(store, alias_sources=(), translation="bridge",
                             doc_coverage=1.0).retrieve(query, 10)
    # "Pain in thoracic spine" says nothing the query does not; the lumbar disc titles do.
    assert "M54.6" in [c.code for c in weighted[:2]]
    assert "M54.6" not in [c.code for c in plain[:2]]
    before = {c.code: c.score for c in plain}
    assert all(c.score <= before[c.code] + 1e-9 for c in weighted if c.code in before)
    pipeline = SearchPipeline(
        store, config=PipelineConfig(retriever="bm25", aliases=False, rerank=False)
    )
    assert [r.code for r in pipeline.search("dolor dorso-lumbar", top_k=2)] == [
        c.code for c in weighted[:2]
    ]
