"""The learned mention detector: BIO tags, the discontinuous-span rule, lexicon marks,
fusion with the lexicon spotter, and a tiny CRF trained on six CodiEsp train cases run on a
note through the app's analyser."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.document.detector import (
    MentionDetector,
    ScoredSpan,
    bio_spans,
    default_model_path,
    fuse,
    lexicon_marks,
    marginal_spans,
)
from app.document.segment import Span, tokens
from app.document.spotter import SpotterConfig
from app.search.abbreviations import AbbreviationTable
from training.codiesp_documents import Document, GoldMention, read_documents
from training.mention_detector import (
    alias_lexicon,
    bio_tags,
    document_sequences,
    gold_word_spans,
    span_scores,
    train,
)

CODIESP = Path(__file__).resolve().parents[1] / "data" / "codiesp"
SAMPLE_NOTE = Path(__file__).resolve().parents[2] / "packaging" / "screenshots" / "nota-ejemplo.txt"


def _doc(text: str, *fragments: tuple[tuple[int, int], ...]) -> Document:
    return Document("d", text, tuple(GoldMention("x", f) for f in fragments))


def _at(text: str, word: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    return start, start + len(word)


def test_bio_tags_take_the_longest_span_and_skip_overlaps() -> None:
    assert bio_tags(5, [(0, 2), (1, 3), (3, 5)]) == ["B", "I", "O", "B", "I"]
    assert bio_tags(4, [(1, 2), (0, 3)]) == ["B", "I", "I", "O"]


def test_close_discontinuous_fragments_are_one_span_far_ones_are_two() -> None:
    text = "Dilatación de la vía pielocalicial. Masa en el abdomen. La masa es retroperitoneal."
    toks = tokens(text)
    close = _doc(text, (_at(text, "Dilatación"), _at(text, "pielocalicial")))
    # 3 words between ("de la vía"): one span covering them
    assert gold_word_spans(close, toks) == [(0, 5)]
    far = _doc(text, (_at(text, "Masa"), _at(text, "retroperitoneal")))
    spans = gold_word_spans(far, toks)
    assert sorted(spans) == [(5, 6), (12, 13)]  # each fragment on its own
    assert bio_tags(len(toks), spans)[5] == "B" and bio_tags(len(toks), spans)[12] == "B"


def test_lexicon_marks_and_bio_spans() -> None:
    text = "Dolor torácico y fiebre alta"
    toks = tokens(text)
    norms = [t.norm for t in toks]
    marks = lexicon_marks(norms, {("dolor", "toracico"), ("fiebre",)}, {"dolor": 2, "fiebre": 1})
    assert marks == ["B", "I", "O", "B", "O"]
    spans = bio_spans(toks, ["B", "I", "O", "I", "I"], [0.9, 0.7, 1.0, 0.6, 0.8])
    assert [(text[s.start:s.end], round(s.confidence, 2)) for s in spans] == [
        ("Dolor torácico", 0.8), ("fiebre alta", 0.7)]


def test_fuse_is_a_union_that_never_overlaps() -> None:
    detected = [ScoredSpan(0, 5, 0.9), ScoredSpan(20, 25, 0.3)]
    spotted = [Span(3, 8), Span(10, 14)]
    both = fuse(detected, spotted)
    assert [(s.start, s.end) for s in both] == [(0, 5), (10, 14), (20, 25)]
    lexical = fuse(detected, spotted, min_confidence=0.5, prefer="lexicon")
    assert [(s.start, s.end) for s in lexical] == [(3, 8), (10, 14)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, store) -> Path:
    """A CRF trained on the six bundled train cases (seconds)."""
    pytest.importorskip("sklearn_crfsuite")
    from app.document.lexicon import Lexicon

    docs = read_documents(CODIESP, "train")
    assert len(docs) == 6 and sum(len(d.gold) for d in docs) >= 30
    titles = Lexicon.from_store(store, aliases=False)
    path = tmp_path_factory.mktemp("crf") / "mentions.crfsuite"
    return train(docs, titles, AbbreviationTable.default(), path, 0.05, 0.05, 50)


def test_training_data_are_bio_tagged_per_sentence() -> None:
    docs = read_documents(CODIESP, "train")
    feats, labels, toks = document_sequences(docs[0], alias_lexicon(docs[1:]),
                                             alias_lexicon([]), AbbreviationTable.default())
    assert len(feats) == len(labels) == len(toks)
    assert all(len(f) == len(y) for f, y in zip(feats, labels, strict=True))
    assert {t for y in labels for t in y} <= {"B", "I", "O"} and any("B" in y for y in labels)
    assert all(y[0] != "I" for y in labels)


def test_tiny_detector_finds_train_mentions_again(tiny_model: Path, store) -> None:
    docs = read_documents(CODIESP, "train")
    detector = MentionDetector.from_store(store, tiny_model, AbbreviationTable.default())
    spans = [[(s.start, s.end) for s in detector.spans(d.text)] for d in docs]
    scores = span_scores(docs, spans)
    assert scores["overlap_recall"] > 0.5 and scores["overlap_precision"] > 0.5
    assert all(0.0 <= s.confidence <= 1.0 for s in detector.spans(docs[0].text))


def test_extra_word_features_are_learned(store, tmp_path: Path) -> None:
    """A feature that marks every gold word (as a perfect stacked head would) is learned."""
    pytest.importorskip("sklearn_crfsuite")
    import pycrfsuite

    from app.document.lexicon import Lexicon

    docs = read_documents(CODIESP, "train")
    table = AbbreviationTable.default()
    titles, none = Lexicon.from_store(store, aliases=False), alias_lexicon([])
    labels = [document_sequences(d, none, titles, table)[1] for d in docs]
    extra = [[[{"gold_inside": float(tag != "O")} for tag in sentence] for sentence in doc]
             for doc in labels]
    path = train(docs, titles, table, tmp_path / "stacked.crfsuite", 0.05, 0.05, 50, extra=extra)
    weights = pycrfsuite.Tagger()
    weights.open(str(path))
    state = weights.info().state_features
    assert state[("gold_inside", "I")] > 0 and state[("gold_inside", "O")] < 0


@pytest.mark.parametrize("mode", ["crf", "crf+lexicon", "lexicon+crf"])
def test_the_analyser_runs_the_detector_on_a_note(
    tiny_model: Path, pipeline, case_note: str, mode: str
) -> None:
    from app.document.analyse import DocumentAnalyzer

    analyzer = DocumentAnalyzer(pipeline, config=SpotterConfig(detector=mode),
                                detector_model=tiny_model)
    assert analyzer.detector is not None
    mentions = analyzer.find_mentions(case_note)
    assert mentions and all(case_note[m.start:m.end] == m.text for m in mentions)
    starts = [m.start for m in mentions]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(mentions, mentions[1:], strict=False))
    if mode != "crf":  # the union keeps what the lexicon finds
        texts = {m.text.casefold() for m in mentions}
        assert any("hipertensión" in t for t in texts)


def test_without_a_model_the_analyser_spots_with_the_lexicon(
    pipeline, case_note: str, tmp_path: Path
) -> None:
    from app.document.analyse import DocumentAnalyzer

    analyzer = DocumentAnalyzer(pipeline, config=SpotterConfig(detector="crf"),
                                detector_model=tmp_path / "none.crfsuite")
    assert analyzer.detector is None and analyzer.find_mentions(case_note)


def test_fused_spans_say_who_found_them() -> None:
    both = fuse([ScoredSpan(0, 5, 0.9)], [Span(10, 14)])
    assert [s.source for s in both] == ["detector", "lexicon"]


def test_a_detector_only_mention_needs_a_confident_code_to_be_proposed() -> None:
    from app.document.analyse import is_proposed
    from app.document.types import Mention

    found = Mention(0, 4, "masa", source="detector")
    spotted = Mention(0, 4, "masa")
    assert not is_proposed(found, (0.3,), 0.5) and is_proposed(found, (0.7,), 0.5)
    assert not is_proposed(found, (None,), 0.5)  # no calibration: cannot be judged
    assert not is_proposed(found, (), 0.5)  # no code at all
    assert is_proposed(spotted, (0.1,), 0.5) and is_proposed(found, (0.1,), 0.0)
    # the floor for every mention; a result without a confidence is not judged by it
    assert not is_proposed(spotted, (0.2,), 0.5, 0.3) and is_proposed(spotted, (0.3,), 0.5, 0.3)
    assert is_proposed(spotted, (None,), 0.5, 0.3) and not is_proposed(found, (0.4,), 0.5, 0.3)


def test_marginal_spans_read_words_the_viterbi_path_leaves_out() -> None:
    text = "Dolor torácico y fiebre alta"
    toks = tokens(text)
    marginals = [(0.7, 0.0, 0.3), (0.1, 0.5, 0.4), (0.0, 0.1, 0.9), (0.3, 0.1, 0.6),
                 (0.6, 0.2, 0.2)]
    spans = marginal_spans(toks, marginals, 0.4)
    # "fiebre" (B + I = 0.4) is in; "alta" starts a new span (its B is above 0.5)
    assert [(text[s.start:s.end], round(s.confidence, 2)) for s in spans] == [
        ("Dolor torácico", 0.65), ("fiebre", 0.4), ("alta", 0.8)]
    assert [text[s.start:s.end] for s in marginal_spans(toks, marginals, 0.5)] == [
        "Dolor torácico", "alta"]
    assert marginal_spans(toks, marginals, 0.95) == []


def test_the_detector_reads_marginal_spans(tiny_model: Path, store) -> None:
    docs = read_documents(CODIESP, "train")
    detector = MentionDetector.from_store(store, tiny_model, AbbreviationTable.default())
    viterbi = detector.spans(docs[0].text)
    loose = detector.spans(docs[0].text, min_inside=0.05)
    strict = detector.spans(docs[0].text, min_inside=0.99)
    covered = {i for s in viterbi for i in range(s.start, s.end)}
    # a low threshold covers at least the words the Viterbi path tags, a high one fewer
    assert covered <= {i for s in loose for i in range(s.start, s.end)}
    assert len(strict) < len(loose)
    assert all(0.05 <= s.confidence <= 1.0 for s in loose)


def test_the_analyser_marks_detector_mentions(tiny_model: Path, pipeline, case_note: str) -> None:
    from app.document.analyse import DocumentAnalyzer

    analyzer = DocumentAnalyzer(pipeline, config=SpotterConfig(detector="crf"),
                                detector_model=tiny_model)
    mentions = analyzer.find_mentions(case_note)
    assert mentions and {m.source for m in mentions} == {"detector"}
    lexical = DocumentAnalyzer(pipeline, config=SpotterConfig(detector="off"))
    assert {m.source for m in lexical.find_mentions(case_note)} == {"lexicon"}


def test_the_bundled_detector_is_the_default(pipeline, case_note: str) -> None:
    from app.document.analyse import DocumentAnalyzer

    assert default_model_path().is_file()
    analyzer = DocumentAnalyzer(pipeline)
    assert analyzer.detector is not None and analyzer.spotter.config == SpotterConfig()
    # this pipeline (aliases + BM25) gives no calibrated confidence: a mention only the
    # detector found cannot be judged and is not coded; the lexicon's all are
    lexical = DocumentAnalyzer(pipeline, config=SpotterConfig(detector="off"))
    coded = analyzer.analyse(case_note, top_k=2).mentions
    assert [c.mention.text for c in coded] == [
        c.mention.text for c in lexical.analyse(case_note, top_k=2).mentions]


def test_the_bundled_detector_finds_what_the_lexicon_misses(store) -> None:
    # the README's sample note: its reason for admission is worded as train never worded it
    note = SAMPLE_NOTE.read_text(encoding="utf-8")
    fracture = note.index("fractura pertrocantérea")
    detector = MentionDetector.from_store(store, default_model_path(),
                                          AbbreviationTable.default())
    spans = detector.spans(note)
    assert any(s.start <= fracture < s.end for s in spans)
    assert all(0.0 <= s.confidence <= 1.0 and note[s.start:s.end].strip() for s in spans)


def test_an_unreadable_model_leaves_the_lexicon(pipeline, case_note: str, tmp_path: Path,
                                                caplog) -> None:
    from app.document.analyse import DocumentAnalyzer

    broken = tmp_path / "mentions.crfsuite"
    broken.write_bytes(b"not a crfsuite model")
    analyzer = DocumentAnalyzer(pipeline, detector_model=broken)
    assert analyzer.detector is None and analyzer.find_mentions(case_note)
    assert "mention detector unusable" in caplog.text
