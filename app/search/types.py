"""The contracts of the search pipeline: query, candidates, retrievers, rerankers, results.

BM25, the exact-alias matcher, the dense index and their fusion all implement
:class:`Retriever`; a :class:`Reranker` (the cross-encoder) is an optional second stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from app.catalog.spanish import SOURCE_ANCESTOR
from app.search.abbreviations import Expansion
from app.search.confidence import level_of

if TYPE_CHECKING:  # they import this module's Query
    from app.search.completion import Completion
    from app.search.explain import Explanation
    from app.search.lay_terms import LayMatch
    from app.search.spelling import Correction


@dataclass(frozen=True)
class Query:
    """A query after understanding: normalised, typed code detected, abbreviations expanded.

    ``text`` is what the user typed (capped at ``MAX_QUERY_CHARS``); ``expanded`` is the
    normalised text with abbreviations replaced by their first expansion; ``tokens`` are the
    content words of ``expanded`` and of ``normalized`` (expansion first, no stop words);
    ``qualifiers`` the concepts they state (:mod:`app.search.qualifiers`).

    Slips and everyday words (:mod:`app.search.spelling`, :mod:`app.search.lay_terms`):
    ``corrections`` are the words the catalog's vocabulary did not know, each with the word
    it suggests, and ``corrected`` the text as typed with them applied (None without any: the
    "¿Quería decir…?" line); ``lay_terms`` are the lay terms found ("culebrilla"); ``variants``
    are further normalised, abbreviation-expanded forms that the lexical retrievers search
    *as well as* ``expanded`` (the corrected query, lay terms replaced by clinical terms);
    ``translated`` is the (corrected) expanded query with its Spanish words in the English of
    the titles (:mod:`app.search.translation`), searched by BM25 as well (None when no word
    has a translation).
    """

    text: str
    normalized: str
    expanded: str
    code: str | None = None
    expansions: tuple[Expansion, ...] = ()
    truncated: bool = False
    tokens: tuple[str, ...] = ()
    qualifiers: frozenset[str] = frozenset()
    corrections: tuple[Correction, ...] = ()
    corrected: str | None = None
    lay_terms: tuple[LayMatch, ...] = ()
    variants: tuple[str, ...] = ()
    translated: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A code proposed by a retriever, with its score (higher is better).

    ``confidence`` is the reranker's calibrated probability that the code is right (None
    before reranking or beyond the reranked head).
    """

    code: str
    score: float
    retriever: str
    matched: tuple[str, ...] = field(default=(), compare=False)
    confidence: float | None = field(default=None, compare=False)


@runtime_checkable
class Retriever(Protocol):
    """First stage: propose up to ``k`` candidate codes for a query, best first."""

    name: str

    def retrieve(self, query: Query, k: int) -> list[Candidate]:
        """Return at most ``k`` candidates sorted by descending score."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Second stage: reorder (and rescore) first-stage candidates."""

    name: str

    def rerank(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        """Return the candidates reordered by descending new score."""
        ...


@dataclass(frozen=True)
class SearchResult:
    """One ranked code with what a coder needs to judge it."""

    code: str
    title_es: str | None
    title_en: str
    title_es_source: str | None
    title_es_from: str | None
    kind: str
    chapter: str | None
    block: str | None
    category: str | None
    valid: bool
    score: float
    retrievers: tuple[str, ...] = ()
    matched_terms: tuple[str, ...] = ()
    confidence: float | None = None
    explanation: Explanation | None = field(default=None, compare=False)
    completion: Completion | None = field(default=None, compare=False)

    @property
    def confidence_level(self) -> str | None:
        """``"alta"``, ``"media"`` or ``"baja"`` (None without a reranker's confidence)."""
        return None if self.confidence is None else level_of(self.confidence)

    @property
    def title_es_inherited(self) -> bool:
        """True when the Spanish title is an ancestor's ("título de la categoría")."""
        return self.title_es_source == SOURCE_ANCESTOR

    def to_dict(self) -> dict:
        """JSON-ready form (stable keys)."""
        return {
            "code": self.code,
            "title_es": self.title_es,
            "title_en": self.title_en,
            "title_es_source": self.title_es_source,
            "title_es_from": self.title_es_from,
            "kind": self.kind,
            "chapter": self.chapter,
            "block": self.block,
            "category": self.category,
            "valid": self.valid,
            "score": round(self.score, 6),
            "retrievers": list(self.retrievers),
            "matched_terms": list(self.matched_terms),
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "confidence_level": self.confidence_level,
            "explanation": self.explanation.to_dict() if self.explanation else None,
            "completion": self.completion.to_dict() if self.completion else None,
        }
