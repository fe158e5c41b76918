"""Alias matching: a mention coders have already coded, recognised verbatim (after case,
accent and punctuation folding) or with a slip. The most frequent code comes first.

Fuzzy matching goes word by word: an alias matches when it has as many words as the query,
every word the vocabulary knows (:mod:`app.search.spelling`) is the same, and every other word
is within its edit budget (:func:`app.search.spelling.max_edits`: by word length, none for
words under four letters or with a digit). "hipotiroidsmo primario" finds the alias
"hipotiroidismo primario"; "hipotiroidismo primario" never finds "hipertiroidismo primario",
because "hipotiroidismo" is a known word.
"""

from __future__ import annotations

import threading
import weakref

from rapidfuzz import process
from rapidfuzz.distance import OSA

from app.catalog.store import CatalogStore
from app.search.spelling import Vocabulary, max_edits, vocabulary_for
from app.search.types import Candidate, Query

#: Scores of fuzzy alias hits relative to exact ones (they come only without exact hits).
FUZZY_WEIGHT = 0.8


class FuzzyAliases:
    """The normalised aliases of some sources, grouped by word count, for fuzzy look-up.

    Example: ``FuzzyAliases(["hipotiroidismo primario"], vocabulary).match("hipotiroidsmo
    primario") == [("hipotiroidismo primario", 1)]``
    """

    def __init__(self, norms: list[str], vocabulary: Vocabulary):
        self.vocabulary = vocabulary
        self.by_words: dict[int, list[str]] = {}
        for norm in sorted(norms):
            self.by_words.setdefault(len(norm.split()), []).append(norm)

    def _budget(self, word: str) -> int:
        if not word.isalpha() or word in self.vocabulary:
            return 0
        return max_edits(len(word))

    def match(self, norm: str, limit: int = 10) -> list[tuple[str, int]]:
        """Aliases within the word-by-word budget of ``norm``, nearest first, with their
        total distance (empty when every word is known)."""
        words = norm.split()
        budgets = [self._budget(w) for w in words]
        total = sum(budgets)
        pool = self.by_words.get(len(words))
        if total == 0 or not pool:
            return []
        found = []
        # The distance of two strings with as many words is at most the sum of the word
        # distances: a string-level search with the total budget misses nothing.
        for alias, _, _ in process.extract(
            norm, pool, scorer=OSA.distance, score_cutoff=total, limit=None
        ):
            distances = [
                OSA.distance(w, a, score_cutoff=b)
                for w, a, b in zip(words, alias.split(), budgets, strict=True)
            ]
            if all(d <= b for d, b in zip(distances, budgets, strict=True)):
                found.append((alias, sum(distances)))
        found.sort(key=lambda item: (item[1], item[0]))
        return found[:limit]


_cache: weakref.WeakKeyDictionary[CatalogStore, dict[tuple, FuzzyAliases]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def fuzzy_aliases_for(
    store: CatalogStore, sources: tuple[str, ...] | None = None
) -> FuzzyAliases:
    """The :class:`FuzzyAliases` of a store's aliases of ``sources``, built once.

    Example: ``fuzzy_aliases_for(store, ("codiesp-train",)).match("hipotiroidsmo")``
    """
    key = (None if sources is None else tuple(sources),)
    vocabulary = vocabulary_for(store, key[0])
    with _cache_lock:
        per_store = _cache.setdefault(store, {})
        aliases = per_store.get(key)
        if aliases is None:
            aliases = FuzzyAliases(sorted(store.alias_norms(key[0])), vocabulary)
            per_store[key] = aliases
    return aliases


class AliasRetriever:
    """Codes whose alias equals the normalised query, scored by their share of its counts;
    the query's variants (``Query.variants``: corrected spelling, lay terms) are tried next,
    then fuzzy matches (:class:`FuzzyAliases`) scored :data:`FUZZY_WEIGHT` lower.

    Args:
        store: the catalog.
        sources: alias sources to use (None: all). Evaluation on dev uses train only.
        fuzzy: also match aliases with slips.

    Example: ``AliasRetriever(store, ("codiesp-train",)).retrieve(analyze_query("hta"), 5)``
    """

    name = "alias"

    def __init__(
        self, store: CatalogStore, sources: tuple[str, ...] | None = None, fuzzy: bool = True
    ):
        self.store = store
        self.sources = sources
        self.fuzzy = fuzzy

    def retrieve(self, query: Query, k: int) -> list[Candidate]:
        """Exact alias hits (of the query, else of a variant), else fuzzy ones; most
        frequent code first."""
        matches: list[tuple[str, int]] = []
        matched = query.normalized
        weight = 1.0
        for form in dict.fromkeys((query.normalized, query.expanded, *query.variants)):
            if form:
                matches = self.store.alias_matches(form, self.sources)
            if matches:
                matched = form
                break
        if not matches and self.fuzzy and not query.code:
            matches, matched = self._fuzzy(query)
            weight = FUZZY_WEIGHT
        total = sum(n for _, n in matches) or 1
        return [
            Candidate(code, weight * n / total, self.name, (matched,))
            for code, n in matches[:k]
        ]

    def _fuzzy(self, query: Query) -> tuple[list[tuple[str, int]], str]:
        """The codes of the nearest aliases (all those at the smallest distance, their
        counts added) and the nearest alias."""
        index = fuzzy_aliases_for(self.store, self.sources)
        for form in dict.fromkeys((query.normalized, query.expanded)):
            found = index.match(form)
            nearest = [alias for alias, d in found if d == found[0][1]] if found else []
            counts: dict[str, int] = {}
            for alias in nearest:
                for code, n in self.store.alias_matches(alias, self.sources):
                    counts[code] = counts.get(code, 0) + n
            if counts:
                ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                return ranked, nearest[0]
        return [], query.normalized
