"""Sentences, phrases and tokens keep offsets into the original note."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from app.document.segment import Span, phrases, sentences, tokens
from app.search.normalize import normalize_text


def _texts(text: str, spans: list[Span]) -> list[str]:
    return [text[s.start : s.end] for s in spans]


def test_sentences_split_at_stops_and_line_breaks() -> None:
    text = "Fiebre de 38.5 ºC. Tos seca!\nDolor torácico? Sí"
    assert _texts(text, sentences(text)) == [
        "Fiebre de 38.5 ºC.",
        "Tos seca!",
        "Dolor torácico?",
        "Sí",
    ]


def test_sentences_do_not_split_after_titles_abbreviations_or_initials() -> None:
    text = "Visto por el Dr. Pérez y J. García, aprox. a las 8. Alta."
    assert _texts(text, sentences(text)) == [
        "Visto por el Dr. Pérez y J. García, aprox. a las 8.",
        "Alta.",
    ]


def test_phrases_split_at_clause_punctuation_and_brackets() -> None:
    text = "Fiebre, tos (seca); disnea: leve"
    [sentence] = sentences(text)
    assert _texts(text, phrases(text, sentence)) == ["Fiebre", "tos", "seca", "disnea", "leve"]


def test_tokens_fold_like_the_search_normaliser() -> None:
    text = "Neumonía  BILATERAL, niño"
    toks = tokens(text)
    assert [t.norm for t in toks] == ["neumonia", "bilateral", "nino"]
    assert [text[t.start : t.end] for t in toks] == ["Neumonía", "BILATERAL", "niño"]
    assert " ".join(t.norm for t in toks) == normalize_text(text)


def test_decomposed_accents_stay_inside_one_token() -> None:
    text = unicodedata.normalize("NFD", "neumonía del niño")
    toks = tokens(text)
    assert [t.norm for t in toks] == ["neumonia", "del", "nino"]
    assert text[toks[0].start : toks[0].end] == unicodedata.normalize("NFD", "neumonía")


def test_crlf_and_blank_lines() -> None:
    text = "Fiebre.\r\n\r\n  Tos.\r\n"
    assert _texts(text, sentences(text)) == ["Fiebre.", "Tos."]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_offsets_round_trip_on_any_text(text: str) -> None:
    previous_end = 0
    for sentence in sentences(text):
        assert previous_end <= sentence.start < sentence.end <= len(text)
        chunk = text[sentence.start : sentence.end]
        assert chunk == chunk.strip()
        previous_end = sentence.end
        for phrase in phrases(text, sentence):
            assert sentence.start <= phrase.start < phrase.end <= sentence.end
    for tok in tokens(text):
        assert tok.norm in normalize_text(text[tok.start : tok.end]).split()
