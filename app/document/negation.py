"""NegEx-style negation for Spanish notes: cues, pseudo-cues and a scope per cue.

A *pre* cue ("no", "sin", "niega", "descarta", "se descartó", "negativo para", "ausencia
de", ...) negates what follows it in its sentence, up to :data:`PRE_WINDOW` words or a
terminator ("pero", "aunque", "salvo", ...; ";" or ":"; a verb such as "presenta" or
"es", or the word "con", once the scope holds a content word; after a comma, such a verb or
a gerund). A *post* cue ("negativo", "descartada",
"ausentes") negates up to :data:`POST_WINDOW` words before it in its phrase. Pseudo-cues
("no se descarta", "sin embargo", "para descartar") are read first and negate nothing.
Matching is on folded tokens (:mod:`app.document.segment`), so accents and case do not
matter. CodiEsp annotates negated findings too, so callers decide what a negation means.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.document.segment import Span, phrases, sentences, tokens
from app.search.query import STOP_WORDS

#: Words after a pre cue that it may govern.
PRE_WINDOW = 12
#: Words before a post cue that it may govern (within the phrase).
POST_WINDOW = 4

_PRE_CUES = """
no | ni | sin | nunca | tampoco
niega | niegan | negaba | negaban | nego | negaron | negando
descarta | descartan | descartaba | descartandose | descartandolo | descartandola
se descarta | se descartan | se descarto | se descartaron | se descartaba | se ha descartado
se han descartado | fue descartado | fue descartada | quedo descartado | quedo descartada
negativo para | negativa para | negativos para | negativas para | negatividad para
ausencia de | libre de | libres de | exento de | exenta de | exentos de | exentas de
"""
_POST_CUES = """
negativo | negativa | negativos | negativas
descartado | descartada | descartados | descartadas
ausente | ausentes
"""
_PSEUDO_CUES = """
no se descarta | no se descartan | no se descarto | no se puede descartar
no se pudo descartar | no se podia descartar | no descarta | no descartan | no descartandose
sin descartar | sin poder descartar | para descartar | a descartar | descartar
sin embargo | no obstante | no solo | no solamente | no siempre | no mas de | no menos de
sin duda | no claro | no concluyente | no filiado | no filiada | no filiados | no filiadas
no mo | no m0 | no mx | coagulasa negativo | coagulasa negativa | coagulasa negativos
coagulasa negativas | gram negativo | gram negativa | gram negativos | gram negativas
no insulinodependiente | no insulinodependientes | no insulino dependiente | no hodgkin
no hodgkiniano | no microcitico | no microcitica
"""
def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Words that end a pre cue's scope wherever they stand.
_TERMINATORS = _words(
    "pero aunque sino salvo excepto mientras embargo obstante posteriormente despues "
    "luego finalmente actualmente tras porque"
)
#: Words that end a pre cue's scope once the scope holds a content word (not a stop word).
_LATE_TERMINATORS = _words(
    "con presenta presentaba presento presentando refiere referia refirio muestra mostraba "
    "mostro destaca destacaba aparece aparecio desarrolla desarrollo inicia inicio "
    "ingresa ingreso acude acudio consulta consulto es era son eran fue fueron esta estaba "
    "estan estaban se ha han habia habian tiene tenia tenian"
)
#: Gerund endings: after a comma, a gerund starts a new clause ("..., calificando su dolor").
_GERUND = ("ando", "iendo", "yendo")
#: Punctuation between two words that ends a pre cue's scope.
_CLAUSE_BREAKS = frozenset(";:")


def _cues(block: str) -> dict[tuple[str, ...], None]:
    return {tuple(p.split()): None for p in block.replace("\n", "|").split("|") if p.strip()}


PRE_CUES = _cues(_PRE_CUES)
POST_CUES = _cues(_POST_CUES)
PSEUDO_CUES = _cues(_PSEUDO_CUES)
_MAX_CUE = max(len(c) for c in (*PRE_CUES, *POST_CUES, *PSEUDO_CUES))


@dataclass(frozen=True)
class NegationScope:
    """A negation cue and the stretch of text it governs.

    Attributes:
        cue: the cue as written in the note (e.g. ``"Se descartó"``).
        cue_start, cue_end: the cue's offsets.
        start, end: the governed text's offsets (before the cue for a post cue).
        kind: ``"pre"`` or ``"post"``.
    """

    cue: str
    cue_start: int
    cue_end: int
    start: int
    end: int
    kind: str

    def governs(self, start: int, end: int) -> bool:
        """True when a mention ``[start, end)`` begins inside the scope, off the cue."""
        on_cue = start < self.cue_end and self.cue_start < end
        return self.start <= start < self.end and not on_cue


@dataclass(frozen=True)
class CueTables:
    """The cues of one kind of scope (negation; :mod:`app.document.uncertainty` has its own),
    each a folded token tuple: pseudo cues are read first and govern nothing."""

    pre: dict[tuple[str, ...], None]
    post: dict[tuple[str, ...], None]
    pseudo: dict[tuple[str, ...], None]

    @property
    def longest(self) -> int:
        """The most tokens in one cue."""
        return max(len(c) for c in (*self.pre, *self.post, *self.pseudo))


NEGATION_CUES = CueTables(PRE_CUES, POST_CUES, PSEUDO_CUES)


def _match_at(norms: Sequence[str], i: int, cues: CueTables = NEGATION_CUES) -> tuple[str, int]:
    """The longest cue starting at token ``i``: ``(kind, length)``, kind ``""`` if none."""
    longest = _MAX_CUE if cues is NEGATION_CUES else cues.longest
    for length in range(min(longest, len(norms) - i), 0, -1):
        key = tuple(norms[i : i + length])
        if key in cues.pseudo:
            return "pseudo", length
        if key in cues.pre:
            # "negativo para" is a pre cue; "negativo" alone a post cue
            return "pre", length
        if key in cues.post:
            return "post", length
    return "", 0


def _sentence_scopes(
    text: str, sentence: Span, cues: CueTables = NEGATION_CUES
) -> list[NegationScope]:
    toks = tokens(text, sentence.start, sentence.end)
    norms = [t.norm for t in toks]
    cut = sorted(p.start for p in phrases(text, sentence))
    scopes: list[NegationScope] = []
    i = 0
    while i < len(toks):
        kind, length = _match_at(norms, i, cues)
        if not kind:
            i += 1
            continue
        cue_start, cue_end = toks[i].start, toks[i + length - 1].end
        if (
            kind == "pre"
            and tuple(norms[i : i + length]) in cues.post
            and (i + length == len(toks) or set(",;:").intersection(
                text[cue_end : toks[i + length].start]))
        ):
            kind = "post"  # a cue that is both ("probable") and ends its clause looks back
        if kind == "pre":
            last = None
            content = False
            for j in range(i + length, min(len(toks), i + length + PRE_WINDOW)):
                word = norms[j]
                gap = text[toks[j - 1].end : toks[j].start]
                if (
                    word in _TERMINATORS
                    or _CLAUSE_BREAKS.intersection(gap)
                    or (content and word in _LATE_TERMINATORS)
                    or ("," in gap and (word in _LATE_TERMINATORS or word.endswith(_GERUND)))
                ):
                    break
                if word not in STOP_WORDS:
                    last, content = j, True
                elif last is None:
                    last = j
            if last is not None:
                scopes.append(
                    NegationScope(text[cue_start:cue_end], cue_start, cue_end,
                                  toks[i + length].start, toks[last].end, kind)
                )
        elif kind == "post":
            phrase_start = max((c for c in cut if c <= cue_start), default=sentence.start)
            first = None
            for j in range(i - 1, max(-1, i - 1 - POST_WINDOW), -1):
                if toks[j].start < phrase_start or norms[j] in _TERMINATORS:
                    break
                first = j
            if first is not None:
                scopes.append(
                    NegationScope(text[cue_start:cue_end], cue_start, cue_end,
                                  toks[first].start, toks[i - 1].end, kind)
                )
        i += length
    return scopes


def negation_scopes(
    text: str, spans: Iterable[Span] | None = None, cues: CueTables = NEGATION_CUES
) -> list[NegationScope]:
    """Every negation scope of a note, sorted by the start of the governed text.

    Args:
        text: the note.
        spans: its sentences (default: :func:`app.document.segment.sentences`).
        cues: the cue tables (default: negation; the same scope rules serve uncertainty).

    Example: ``negation_scopes("No presenta fiebre.")[0].cue == "No"``
    """
    out: list[NegationScope] = []
    for sentence in spans if spans is not None else sentences(text):
        out.extend(_sentence_scopes(text, sentence, cues))
    return sorted(out, key=lambda scope: (scope.start, scope.cue_start))


#: At most this many scopes can cover one position (each cue governs a bounded window).
_MAX_COVERING = 2 * (PRE_WINDOW + POST_WINDOW + 1)


def governing_scope(
    scopes: Sequence[NegationScope], start: int, end: int
) -> NegationScope | None:
    """The scope that negates a mention ``[start, end)``: the nearest cue governing it.

    ``scopes`` must be sorted by ``start`` (as :func:`negation_scopes` returns them); only
    the scopes starting shortly before the mention are looked at, so a note with thousands
    of cues stays fast.

    Example: ``governing_scope(negation_scopes(note), 12, 18)``
    """
    position = bisect.bisect_right(scopes, start, key=lambda scope: scope.start)
    best: NegationScope | None = None
    for scope in scopes[max(0, position - _MAX_COVERING) : position]:
        if scope.governs(start, end) and (
            best is None or abs(scope.cue_start - start) < abs(best.cue_start - start)
        ):
            best = scope
    return best
