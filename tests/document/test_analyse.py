"""analyse_document: mentions in order, spans into the note, negation and codes."""

from __future__ import annotations

import logging
import time
import unicodedata

import pytest

from app.catalog.store import CatalogStore
from app.document.analyse import (
    MAX_DOCUMENT_CHARS,
    DocumentAnalyzer,
    analyse_document,
    analysed_length,
    analyzer_for,
)
from app.document.lexicon import SpotterStats
from app.document.spotter import SpotterConfig
from app.document.types import DocumentAnalysis
from app.search.pipeline import SearchPipeline


def _check_spans(analysis: DocumentAnalysis) -> None:
    starts = [c.mention.start for c in analysis.mentions]
    assert starts == sorted(starts)
    for coded in analysis.mentions:
        m = coded.mention
        assert analysis.text[m.start : m.end] == m.text
        assert m.text and m.text == m.text.strip()


def test_case_is_spotted_negated_and_coded(pipeline: SearchPipeline, case_note: str) -> None:
    analysis = analyse_document(case_note, pipeline, top_k=5)
    _check_spans(analysis)
    assert not analysis.truncated and analysis.analysed_chars == len(case_note)
    by_text = {c.mention.text: c for c in analysis.mentions}
    assert by_text["hipertensión arterial"].results[0].code == "I10"
    assert by_text["HTA"].results[0].code == "I10"
    assert by_text["fiebre"].results[0].code == "R50.9"
    assert by_text["diabetes mellitus tipo 2"].results[0].code.startswith("E11")
    assert all(len(c.results) <= 5 for c in analysis.mentions)
    negated = {c.mention.text: c.mention.cue for c in analysis.mentions if c.mention.negated}
    assert negated == {"disnea": "No", "neumonía": "Se descartó", "infección": "Sin"}
    assert not by_text["fiebre"].mention.negated


def test_analyzer_is_built_once_per_pipeline(pipeline: SearchPipeline, store: CatalogStore) -> None:
    assert analyzer_for(pipeline) is analyzer_for(pipeline)
    other = SearchPipeline(store)
    assert analyzer_for(other) is not analyzer_for(pipeline)


class _CountingPipeline(SearchPipeline):
    def __init__(self, store: CatalogStore):
        super().__init__(store)
        self.queries: list[str] = []

    def search(self, text: str, top_k: int = 10):  # type: ignore[override]
        self.queries.append(text)
        return super().search(text, top_k)


def test_identical_mentions_are_searched_once(store: CatalogStore) -> None:
    counting = _CountingPipeline(store)
    analyzer = DocumentAnalyzer(counting)
    analysis = analyzer.analyse("Fiebre. Fiebre alta. Tos y fiebre. Tos.", top_k=3)
    texts = [c.mention.text for c in analysis.mentions]
    assert texts.count("fiebre") + texts.count("Fiebre") >= 3
    assert len(counting.queries) == len(set(counting.queries)) == len(set(texts))
    # the analyser remembers its searches: the same note again searches nothing
    again = analyzer.analyse("Fiebre. Fiebre alta. Tos y fiebre. Tos.", top_k=3)
    assert again.mentions == analysis.mentions and len(counting.queries) == len(set(texts))
    analyzer.forget_searches()
    analyzer.analyse("Tos.", top_k=3)
    assert counting.queries[-1].lower() == "tos"


def test_remembered_searches_are_bounded(store: CatalogStore, monkeypatch) -> None:
    monkeypatch.setattr("app.document.analyse.SEARCH_CACHE_SIZE", 2)
    counting = _CountingPipeline(store)
    analyzer = DocumentAnalyzer(counting)
    for text in ("fiebre", "tos", "fiebre", "neumonía", "tos", "fiebre"):
        analyzer.search(text, top_k=1)
    # fiebre, tos, (fiebre remembered), neumonía drops tos, tos drops fiebre, fiebre again
    assert counting.queries == ["fiebre", "tos", "neumonía", "tos", "fiebre"]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t", "...", "12 345 6,7"])
def test_empty_or_meaningless_text(analyzer: DocumentAnalyzer, text: str) -> None:
    analysis = analyzer.analyse(text)
    assert analysis.mentions == () and analysis.text == text and not analysis.truncated


def test_huge_text_is_capped(analyzer: DocumentAnalyzer) -> None:
    sentence = "Paciente con fiebre y dolor abdominal. "
    text = sentence * (MAX_DOCUMENT_CHARS // len(sentence) + 500)
    start = time.perf_counter()
    analysis = analyzer.analyse(text, top_k=1)
    elapsed = time.perf_counter() - start
    assert analysis.truncated and analysis.text == text
    assert analysis.analysed_chars is not None
    assert MAX_DOCUMENT_CHARS - 200 <= analysis.analysed_chars <= MAX_DOCUMENT_CHARS
    assert all(c.mention.end <= analysis.analysed_chars for c in analysis.mentions)
    assert len(analysis.mentions) > 2000
    _check_spans(analysis)
    assert elapsed < 60


def test_thousands_of_cues_stay_fast(analyzer: DocumentAnalyzer) -> None:
    text = "no fiebre " * 9000
    start = time.perf_counter()
    mentions = analyzer.find_mentions(text)
    assert len(mentions) == 9000 and all(m.negated for m in mentions)
    assert time.perf_counter() - start < 30  # ~2 s; quadratic scope look-up took minutes


def test_cut_lands_on_a_blank() -> None:
    assert analysed_length("abc def", max_chars=100) == 7
    assert analysed_length("abcd efgh", max_chars=6) == 4
    assert analysed_length("a" * 1000, max_chars=10) == 10


@pytest.mark.parametrize(
    "text",
    [
        "Fiebre 🤒 y tos 😷. Neumonía.",
        unicodedata.normalize("NFD", "Neumonía y hipertensión arterial."),
        "Fie\u200bbre. Neumonía\u00a0bilateral.",
        "\x00Neumonía\x00",
        "Neumonía \ud800 lone surrogate",
        "مريض مصاب بالحمى. Neumonía. 肺炎",
        "NEUMONÍA\r\nFIEBRE",
        "ﬁebre (ligature) and Ⅳ neumonía",
    ],
)
def test_odd_unicode(analyzer: DocumentAnalyzer, text: str) -> None:
    analysis = analyzer.analyse(text, top_k=2)
    _check_spans(analysis)
    normal = unicodedata.normalize("NFC", " ".join(c.mention.text for c in analysis.mentions))
    assert "eumon" in normal.casefold()


def test_note_text_is_never_logged(
    store: CatalogStore, caplog: pytest.LogCaptureFixture
) -> None:
    note = "Paciente Zarzaparrilla con neumonía y fiebre."
    with caplog.at_level(logging.DEBUG):
        analysis = DocumentAnalyzer(SearchPipeline(store)).analyse(note)
    assert analysis.mentions
    assert "Zarzaparrilla" not in caplog.text and "neumon" not in caplog.text


def test_missing_statistics_fall_back_to_the_lexicon(
    pipeline: SearchPipeline, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("CIELO_RESOURCES", str(tmp_path))
    analyzer = DocumentAnalyzer(pipeline)
    assert analyzer.spotter.stats.phrases == {}
    assert analyzer.find_mentions("Neumonía.")[0].text == "Neumonía"


def test_alias_sources_follow_the_pipeline(store: CatalogStore) -> None:
    from app.search.pipeline import PipelineConfig

    none = SearchPipeline(store, config=PipelineConfig(alias_sources=("no-such-source",)))
    analyzer = DocumentAnalyzer(none, config=SpotterConfig(titles=False, detector="off"),
                                stats=SpotterStats())
    assert analyzer.find_mentions("Fiebre y hipertensión arterial.") == []


def test_mentions_train_says_are_seldom_diagnoses_are_dropped(store: CatalogStore) -> None:
    from app.document.analyse import fused_spans
    from app.document.detector import ScoredSpan
    from app.document.lexicon import Counts, Lexicon, SpotterStats
    from app.document.segment import Span
    from app.document.spotter import Spotter, SpotterConfig

    text = "Dolor en pierna derecha y fiebre."
    stats = SpotterStats(phrases={"fiebre": Counts(10, 8, 9)},
                         words={"pierna": Counts(30, 1, 3), "dolor": Counts(50, 20, 40)})
    spotter = Spotter(Lexicon.from_store(store), stats, SpotterConfig(mention_min_precision=0.5))
    spotted = [Span(0, 5), Span(26, 32)]  # "Dolor", "fiebre"
    detected = [ScoredSpan(9, 15, 0.9), ScoredSpan(16, 23, 0.8)]  # "pierna", "derecha"
    kept = fused_spans(text, spotted, detected, spotter)
    # "pierna" overlapped a mention in 3 of its 30 train occurrences: dropped; "derecha" has
    # no statistics and stays, as do the spotter's spans (rates 0.8 and 0.9)
    assert [text[s.start:s.end] for s in kept] == ["Dolor", "derecha", "fiebre"]
    assert [s.source for s in kept] == ["lexicon", "detector", "lexicon"]
    spotter.config = SpotterConfig(mention_min_precision=0.0)  # off
    assert len(fused_spans(text, spotted, detected, spotter)) == 4
    spotter.config = SpotterConfig(mention_min_precision=0.85)  # the spotter's spans too
    assert [text[s.start:s.end] for s in fused_spans(text, spotted, None, spotter)] == [
        "fiebre"]
