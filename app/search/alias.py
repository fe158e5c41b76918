"""Exact alias matching: a mention coders have already coded, recognised verbatim
(after case, accent and punctuation folding). The most frequent code comes first."""

from __future__ import annotations

from app.catalog.store import CatalogStore
from app.search.types import Candidate, Query


class AliasRetriever:
    """Codes whose alias equals the normalised query, scored by their share of its counts.

    Args:
        store: the catalog.
        sources: alias sources to use (None: all). Evaluation on dev uses train only.

    Example: ``AliasRetriever(store, ("codiesp-train",)).retrieve(analyze_query("hta"), 5)``
    """

    name = "alias"

    def __init__(self, store: CatalogStore, sources: tuple[str, ...] | None = None):
        self.store = store
        self.sources = sources

    def retrieve(self, query: Query, k: int) -> list[Candidate]:
        """Exact alias hits, most frequent code first."""
        matches: list[tuple[str, int]] = []
        for form in dict.fromkeys((query.normalized, query.expanded)):
            if form:
                matches = self.store.alias_matches(form, self.sources)
            if matches:
                break
        total = sum(n for _, n in matches) or 1
        return [
            Candidate(code, n / total, self.name, (query.normalized,))
            for code, n in matches[:k]
        ]
