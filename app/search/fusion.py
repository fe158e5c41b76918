"""Combine retrievers with weighted reciprocal-rank fusion (RRF)."""

from __future__ import annotations

from collections.abc import Sequence

from app.search.candidates import fuse
from app.search.types import Candidate, Query, Retriever


class FusionRetriever:
    """Weighted RRF: ``score(code) = sum_i w_i / (rrf_k + rank_i(code))``.

    A heavy weight lets a precise retriever (exact aliases) lead while others fill in.

    Args:
        members: ``(retriever, weight)`` pairs.
        rrf_k: the RRF damping constant.
        depth: how many candidates to ask each member for (at least the requested k).

    Example: ``FusionRetriever([(AliasRetriever(store), 3.0), (BM25Retriever(store), 1.0)])``
    """

    name = "fusion"

    def __init__(
        self, members: Sequence[tuple[Retriever, float]], rrf_k: int = 60, depth: int = 100
    ):
        self.members = list(members)
        self.rrf_k = rrf_k
        self.depth = depth

    def retrieve(self, query: Query, k: int) -> list[Candidate]:
        """Fused candidates, best first; ties keep the first member's order."""
        found = [
            (retriever.name, weight, retriever.retrieve(query, max(k, self.depth)))
            for retriever, weight in self.members
        ]
        return fuse(found, self.rrf_k)[:k]
