"""Cues of doubt mark the mentions they govern, with the negation module's scope rules."""

from __future__ import annotations

import pytest

from app.document.uncertainty import uncertain_cue, uncertainty_scopes


def _uncertain(text: str, word: str) -> str | None:
    start = text.index(word)
    return uncertain_cue(uncertainty_scopes(text), start, start + len(word))


@pytest.mark.parametrize(
    ("text", "word", "cue"),
    [
        ("Probable neumonía basal.", "neumonía", "Probable"),
        ("Neumonía probable.", "Neumonía", "probable"),  # a post cue at the clause's end
        ("Sospecha de tromboembolismo pulmonar.", "tromboembolismo", "Sospecha de"),
        ("Ingresa para descartar endocarditis.", "endocarditis", "para descartar"),
        ("No se descarta neoplasia de colon.", "neoplasia", "No se descarta"),
        ("Hallazgos compatibles con apendicitis aguda.", "apendicitis", "compatibles con"),
        ("Imagen sugestiva de metástasis hepáticas.", "metástasis", "sugestiva de"),
        ("Tuberculosis en estudio.", "Tuberculosis", "en estudio"),
    ],
)
def test_cue_makes_the_mention_uncertain(text: str, word: str, cue: str) -> None:
    assert _uncertain(text, word) == cue


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Presenta neumonía basal.", "neumonía"),
        ("Se descarta fractura de pelvis.", "fractura"),  # negated, not uncertain
        ("Probable neumonía. Antecedente de hipertensión arterial.", "hipertensión"),
        ("Sin duda se trata de una apendicitis.", "apendicitis"),
        ("Neumonía probable, con fiebre alta.", "fiebre"),
    ],
)
def test_affirmed_or_negated_mentions_are_not_uncertain(text: str, word: str) -> None:
    assert _uncertain(text, word) is None


def test_the_analyser_marks_uncertain_mentions(analyzer) -> None:
    note = "Probable neumonía. Antecedente de hipertensión arterial."
    found = {m.text.casefold(): m for m in analyzer.find_mentions(note)}
    assert found["neumonía"].uncertain and found["neumonía"].uncertainty_cue == "Probable"
    assert not found["hipertensión arterial"].uncertain


def test_uncertain_mentions_are_exported_with_their_status() -> None:
    from app.document.types import CodedMention, Mention
    from app.ui.document import CSV_COLUMNS, MentionRow, export_rows

    note = "Probable neumonía. Hipertensión arterial."
    doubtful = Mention(9, 17, "neumonía", uncertain=True, uncertainty_cue="Probable")
    sure = Mention(19, 40, "Hipertensión arterial")
    rows = [MentionRow(CodedMention(m, ()), code=code, known=True, accepted=True)
            for m, code in ((doubtful, "J18.9"), (sure, "I10"))]
    assert note[doubtful.start:doubtful.end] == doubtful.text
    records = export_rows(rows)
    assert CSV_COLUMNS[-1] == "uncertain"
    assert [(r[2], r[-1]) for r in records] == [("neumonía", "1"), ("Hipertensión arterial", "0")]
