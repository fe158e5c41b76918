"""NegEx-style cues mark the mentions they govern and only those."""

from __future__ import annotations

import pytest

from app.document.negation import governing_scope, negation_scopes


def _negated(text: str, word: str) -> str | None:
    """The cue that negates ``word`` in ``text`` (None when it is affirmed)."""
    start = text.index(word)
    scope = governing_scope(negation_scopes(text), start, start + len(word))
    return scope.cue if scope else None


@pytest.mark.parametrize(
    ("text", "word", "cue"),
    [
        ("No presenta fiebre.", "fiebre", "No"),
        ("Paciente sin signos de infección.", "infección", "sin"),
        ("Se descartó neumonía por la radiografía.", "neumonía", "Se descartó"),
        ("Serología negativa para VIH.", "VIH", "negativa para"),
        ("Niega dolor torácico.", "dolor torácico", "Niega"),
        ("Se descarta tromboembolismo pulmonar.", "tromboembolismo pulmonar", "Se descarta"),
        ("Ausencia de adenopatías.", "adenopatías", "Ausencia de"),
        ("Anticuerpos anti-VHC negativos.", "VHC", "negativos"),
        ("Neumonía descartada.", "Neumonía", "descartada"),
        # a list under one cue, each item also under its own "ni"
        ("No antecedentes de nefrolitiasis ni hematuria ni infecciones urinarias.",
         "nefrolitiasis", "No"),
        ("No antecedentes de nefrolitiasis ni hematuria ni infecciones urinarias.",
         "infecciones urinarias", "ni"),
        ("NO PRESENTA FIEBRE", "FIEBRE", "NO"),
    ],
)
def test_cue_negates_the_mention(text: str, word: str, cue: str) -> None:
    assert _negated(text, word) == cue


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Paciente con neumonía.", "neumonía"),
        ("No presenta fiebre. Refiere disnea.", "disnea"),
        ("Sin fiebre, pero con tos productiva.", "tos productiva"),
        ("No se descarta neumonía.", "neumonía"),
        ("Se solicita TAC para descartar tromboembolismo.", "tromboembolismo"),
        ("Sin embargo presenta cefalea.", "cefalea"),
        ("Diabetes mellitus no insulinodependiente, hipertensión arterial.", "hipertensión"),
        ("Sin efectos secundarios, calificando su dolor en 4/10.", "dolor"),
        ("Hemocultivos negativos; fiebre persistente.", "fiebre"),
        ("Bacilos gram negativos en orina.", "Bacilos"),
        ("Sin alergias conocidas; hipertensión arterial.", "hipertensión"),
    ],
)
def test_mention_outside_any_scope_is_affirmed(text: str, word: str) -> None:
    assert _negated(text, word) is None


def test_scope_stops_at_the_window() -> None:
    far = "No " + " ".join(f"palabra{i}" for i in range(20)) + " neumonía."
    assert _negated(far, "neumonía") is None


def test_cue_itself_is_not_negated() -> None:
    text = "No presenta fiebre."
    [scope] = negation_scopes(text)
    assert not scope.governs(0, 2)
    assert text[scope.start : scope.end] == "presenta fiebre"
