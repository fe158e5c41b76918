"""Alias neighbours: coded mentions that read *like* the query, not only the same.

"fractura de cadera derecha" is no alias, but "fractura de cadera" and "dolor en cadera
derecha" are; a slip ("hipotiroidsmo") is one edit from an alias. Each alias is compared with
the query by rapidfuzz's weighted ratio over folded text (character-level, so typos and word
subsets both score), and its codes inherit the similarity, weighted by their share of the
alias's counts.
"""

from __future__ import annotations

from collections import defaultdict

from rapidfuzz import fuzz, process

from app.catalog.store import CatalogStore
from app.search.types import Candidate, Query

#: Similarity (0-100) below which an alias is no neighbour.
SCORE_CUTOFF = 70.0


class AliasNeighbourRetriever:
    """Codes of the aliases most similar to the query.

    Args:
        store: the catalog.
        sources: alias sources to use (None: all); evaluation on dev uses train only.
        neighbours: how many similar aliases are read.

    Example: ``AliasNeighbourRetriever(store).retrieve(analyze_query("hipotiroidsmo"), 5)``
    """

    name = "neighbour"

    def __init__(
        self, store: CatalogStore, sources: tuple[str, ...] | None = None, neighbours: int = 20
    ):
        sql = "SELECT norm, code, sum(count) FROM aliases"
        params: tuple = ()
        if sources is not None:
            sql += f" WHERE source IN ({','.join('?' * len(sources))})"
            params = tuple(sources)
        codes: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for norm, code, count in store.query(sql + " GROUP BY norm, code", params):
            codes[norm].append((code, count))
        self.norms = sorted(codes)
        self.codes = {norm: sorted(found, key=lambda cn: (-cn[1], cn[0]))
                      for norm, found in codes.items()}
        self.neighbours = neighbours

    def retrieve(self, query: Query, k: int) -> list[Candidate]:
        """Codes of similar aliases, best first (score: similarity 0-1 times count share)."""
        if not self.norms:
            return []
        similar: dict[str, float] = {}
        for text in dict.fromkeys(t for t in (query.normalized, query.expanded) if t):
            for norm, similarity, _ in process.extract(
                text, self.norms, scorer=fuzz.ratio, limit=self.neighbours,
                score_cutoff=SCORE_CUTOFF,
            ):
                similar[norm] = max(similar.get(norm, 0.0), similarity)
        best: dict[str, tuple[float, str]] = {}
        for norm, similarity in similar.items():
            found = self.codes[norm]
            total = sum(n for _, n in found)
            for code, count in found:
                score = similarity / 100 * count / total
                if code not in best or score > best[code][0]:
                    best[code] = (score, norm)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
        return [Candidate(code, score, self.name, (norm,)) for code, (score, norm) in ranked]
