"""Sentences, phrases and word tokens of a clinical note, with character offsets.

Every span indexes the original string (``text[span.start:span.end]``), so mentions found on
tokens map straight back onto the note. Tokens are folded as :mod:`app.search.normalize`
folds queries and aliases (case, accents; ``ñ`` -> ``n``), so a run of token norms joined by
spaces equals ``normalize_text`` of the same stretch of text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.search.normalize import tokenize

#: A word: letters and digits, with any combining marks (a note pasted in NFD keeps ``n`` +
#: U+0303 in one word).
_WORD_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff])+")

#: The word just before a position (for abbreviation checks).
_LAST_WORD_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+$")

#: A sentence ends at ., ! or ? followed by blanks, or at a line break.
_SENTENCE_END_RE = re.compile(r"[.!?]+(?=\s)|\n")

#: Words a full stop does not end a sentence after (folded): titles and Latin/medical
#: abbreviations.
_NO_BREAK_WORDS = (
    "dr dra dres sr sra srta aprox approx pag fig figs ej vs num nro cap col art "
    "mg ml kg cm mm ud uds sig tto dcha dcho izda izdo ant post"
)
_NO_BREAK_AFTER = frozenset(_NO_BREAK_WORDS.split())

#: Phrase boundaries inside a sentence: clause punctuation and brackets.
_PHRASE_BREAK_RE = re.compile(r"[,;:()\[\]{}\"«»“”]| - | – | — ")


@dataclass(frozen=True)
class Span:
    """A stretch of the note: ``text[start:end]``."""

    start: int
    end: int


@dataclass(frozen=True)
class Token:
    """A word of the note and its folded form (``norm``, as ``app.search.normalize``).

    A word that folds to several tokens (rare: ``½``) yields one :class:`Token` per folded
    token, all with the word's span.
    """

    start: int
    end: int
    norm: str


def tokens(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """The word tokens of ``text[start:end]`` with offsets into ``text``.

    Words that fold to nothing (symbols, scripts other than Latin) are skipped.

    Example: ``[t.norm for t in tokens("Fiebre y DOLOR torácico")]`` is
    ``["fiebre", "y", "dolor", "toracico"]``
    """
    stop = len(text) if end is None else end
    out: list[Token] = []
    for match in _WORD_RE.finditer(text, start, stop):
        for norm in tokenize(match.group()):
            out.append(Token(match.start(), match.end(), norm))
    return out


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if start < end else None


def _breaks_sentence(text: str, match: re.Match[str]) -> bool:
    """False for a full stop after a title, an abbreviation or an initial ("J. García")."""
    if match.group() != ".":
        return True
    word = _LAST_WORD_RE.search(text, max(0, match.start() - 20), match.start())
    if word is None:
        return True
    written = word.group()
    folded = "".join(tokenize(written))
    return not (folded in _NO_BREAK_AFTER or (len(written) == 1 and written.isupper()))


def sentences(text: str) -> list[Span]:
    """The sentences of a note, trimmed of surrounding blanks, in order.

    A sentence ends at ``.``, ``!`` or ``?`` followed by a blank (not after a title or a
    common abbreviation such as ``Dr.`` or ``aprox.``), or at a line break.

    Example: ``[text[s.start:s.end] for s in sentences("Fiebre. Tos.\\nDisnea")]`` is
    ``["Fiebre.", "Tos.", "Disnea"]``
    """
    spans: list[Span] = []
    position = 0
    for match in _SENTENCE_END_RE.finditer(text):
        if not _breaks_sentence(text, match):
            continue
        span = _trim(text, position, match.end())
        if span is not None:
            spans.append(span)
        position = match.end()
    span = _trim(text, position, len(text))
    if span is not None:
        spans.append(span)
    return spans


def phrases(text: str, sentence: Span) -> list[Span]:
    """A sentence cut at commas, semicolons, colons, brackets, quotes and dashes.

    Mentions never cross a phrase boundary; negation scope may (see ``negation``).

    Example: ``phrases("Fiebre, tos (seca)", Span(0, 18))`` gives spans for
    ``"Fiebre"``, ``"tos"`` and ``"seca"``
    """
    spans: list[Span] = []
    position = sentence.start
    for match in _PHRASE_BREAK_RE.finditer(text, sentence.start, sentence.end):
        span = _trim(text, position, match.start())
        if span is not None:
            spans.append(span)
        position = match.end()
    span = _trim(text, position, sentence.end)
    if span is not None:
        spans.append(span)
    return spans
