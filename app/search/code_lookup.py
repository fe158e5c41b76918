"""Typed codes (``s72.0``, ``S7200``, ``t81.31xa``) go straight to exact and prefix lookup."""

from __future__ import annotations

from app.catalog.store import CatalogStore
from app.search.types import Candidate, Query


class CodeLookupRetriever:
    """Exact code first, then codes that extend it, shortest first.

    Example: ``CodeLookupRetriever(store).retrieve(analyze_query("s72.0"), 10)[0].code == "S72.0"``
    """

    name = "code"

    def __init__(self, store: CatalogStore):
        self.store = store

    def retrieve(self, query: Query, k: int) -> list[Candidate]:
        """Candidates for a typed code; empty when the query is not a code."""
        if not query.code:
            return []
        records = self.store.with_prefix(query.code, limit=k)
        return [
            Candidate(r.code, 1.0 / (1 + i), self.name, (query.code,))
            for i, r in enumerate(records)
        ]
