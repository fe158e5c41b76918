"""Uncertainty (hedging) for Spanish notes: "probable", "sospecha de", "a descartar".

The same scope rules as :mod:`app.document.negation` (a pre cue governs what follows it in
its sentence up to a terminator; a post cue the few words before it in its phrase), with
cues of doubt: "probable", "posible", "sospecha de", "compatible con", "sugestivo de",
"no se descarta", "a descartar", "descartar", "diagnóstico diferencial" before the finding,
and "probable", "dudoso", "a descartar", "en estudio", "por confirmar" after it. A mention
can be both negated and uncertain ("no parece probable" is rare; the flags are independent).
Matching is on folded tokens, so accents and case do not matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.document.negation import CueTables, NegationScope, _cues, governing_scope
from app.document.negation import negation_scopes as _scopes
from app.document.segment import Span

_PRE_CUES = """
probable | probables | probablemente | posible | posibles | posiblemente
sospecha | sospecha de | sospechas de | se sospecha | sospechoso de | sospechosa de
sospechosos de | sospechosas de | ante la sospecha de | con sospecha de | bajo sospecha de
sugestivo de | sugestiva de | sugestivos de | sugestivas de | sugerente de | sugerentes de
sugiere | sugieren | compatible con | compatibles con | impresiona de | parece | parecen
presunto | presunta | presuntos | presuntas | presumible | presumiblemente
dudoso | dudosa | dudosos | dudosas | no se descarta | no se descartan | no se puede descartar
no se pudo descartar | no descarta | no descartan | sin descartar | sin poder descartar
a descartar | para descartar | descartar | diagnostico diferencial | diagnostico diferencial con
diagnostico diferencial entre | valorar | a valorar | a estudio de | en estudio por | orientado como
orientada como | probable diagnostico de | impresion diagnostica de | posibilidad de
"""
_POST_CUES = """
probable | probables | dudoso | dudosa | dudosos | dudosas | a descartar | por descartar
en estudio | por confirmar | sin confirmar | a confirmar | no confirmado | no confirmada
de probable | de posible
"""
_PSEUDO_CUES = """
sin duda | no es probable | poco probable | improbable | se descarto | se descarta
se descartan | se descartaron | fue descartado | fue descartada | probablemente no
"""

UNCERTAINTY_CUES = CueTables(_cues(_PRE_CUES), _cues(_POST_CUES), _cues(_PSEUDO_CUES))


def uncertainty_scopes(text: str, spans: Iterable[Span] | None = None) -> list[NegationScope]:
    """Every uncertainty scope of a note, sorted by the start of the governed text.

    Example: ``uncertainty_scopes("Probable neumonía basal.")[0].cue == "Probable"``
    """
    return _scopes(text, spans, UNCERTAINTY_CUES)


def uncertain_cue(scopes: Sequence[NegationScope], start: int, end: int) -> str | None:
    """The cue that makes a mention ``[start, end)`` uncertain (``scopes`` from
    :func:`uncertainty_scopes`), or None."""
    scope = governing_scope(scopes, start, end)
    return scope.cue if scope is not None else None
