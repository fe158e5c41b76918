"""What document mode returns: mentions with character spans, negation and proposed codes."""

from __future__ import annotations

from dataclasses import dataclass

from app.search.types import SearchResult


@dataclass(frozen=True)
class Mention:
    """A diagnostic mention found in a note.

    ``start``/``end`` are character offsets into the note (``text == note[start:end]``);
    ``negated`` is set when a negation cue (``cue``, e.g. "no", "sin", "descarta") governs it;
    ``uncertain`` when a cue of doubt (``uncertainty_cue``, e.g. "probable", "sospecha de",
    "a descartar") does (:mod:`app.document.uncertainty`). ``source`` says who found it:
    ``"lexicon"`` (the spotter) or ``"detector"`` (the learned detector alone).
    """

    start: int
    end: int
    text: str
    negated: bool = False
    cue: str | None = None
    uncertain: bool = False
    uncertainty_cue: str | None = None
    source: str = "lexicon"


@dataclass(frozen=True)
class CodedMention:
    """A mention with its proposed codes, best first (may be empty).

    ``proposed`` is False for a mention shown for review only: its best code is too
    uncertain (``app.document.spotter.SpotterConfig``: ``code_min_confidence``, and
    ``detector_min_code_confidence`` for a mention only the learned detector found), so its
    code is not part of the note's proposed code set and the mention does not start accepted.
    """

    mention: Mention
    results: tuple[SearchResult, ...]
    proposed: bool = True


@dataclass(frozen=True)
class DocumentAnalysis:
    """All mentions of one note, in text order.

    ``truncated`` is set when the note was longer than the analysis cap
    (``app.document.analyse.MAX_DOCUMENT_CHARS``): only ``text[:analysed_chars]`` was read
    (``analysed_chars`` None means the whole text).
    """

    text: str
    mentions: tuple[CodedMention, ...]
    truncated: bool = False
    analysed_chars: int | None = None
