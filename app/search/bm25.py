"""Lexical retrieval with SQLite FTS5's BM25 over titles, inclusion terms and aliases.

User text never reaches ``MATCH`` as written: it is tokenised to ``[0-9a-z]+`` words and
each word is double-quoted, so FTS operators (``AND``, ``NOT``, ``-``, ``*``, ``"``,
``:``, parentheses) are plain text.
"""

from __future__ import annotations

import math

from app.catalog.store import CatalogStore
from app.search.normalize import tokenize
from app.search.query import content_tokens
from app.search.types import Candidate, Query

#: Relative trust in each kind of searchable text.
FIELD_WEIGHTS = {
    "title_es": 1.0,
    "title_es_inherited": 0.7,
    "title_en": 1.0,
    "inclusion": 0.9,
    "alias": 1.0,
}

#: Scores of a query's variants (``Query.variants``) relative to the query as typed.
VARIANT_WEIGHT = 0.9


def fts_expression(tokens: list[str], prefix_last: bool = False) -> str:
    """An FTS5 OR-expression of quoted tokens; the last one may be a prefix query.

    Example: ``fts_expression(["fractura", "fem"], prefix_last=True) == '"fractura" OR "fem"*'``
    """
    quoted = ['"' + t.replace('"', '""') + '"' for t in tokens]
    if prefix_last and quoted and len(tokens[-1]) >= 3:
        quoted[-1] += "*"
    return " OR ".join(quoted)


def _coverage(tokens: list[str], text: str, prefix_last: bool) -> float:
    words = set(tokenize(text))
    hits = sum(t in words for t in tokens[:-1])
    last = tokens[-1]
    if last in words or (prefix_last and any(w.startswith(last) for w in words)):
        hits += 1
    return hits / len(tokens)


class BM25Retriever:
    """BM25 over the catalog's search documents, aggregated per code (best document).

    Args:
        store: the catalog.
        alias_sources: alias sources whose documents are searchable; ``()`` searches titles
            and inclusion terms only, None searches every alias.
        prefix_last: treat the last word as a prefix (type-ahead).
        doc_limit: how many best documents to aggregate.

    Example: ``BM25Retriever(store).retrieve(analyze_query("fractura de fémur"), 10)``
    """

    name = "bm25"

    def __init__(
        self,
        store: CatalogStore,
        alias_sources: tuple[str, ...] | None = None,
        prefix_last: bool = False,
        doc_limit: int = 300,
    ):
        self.store = store
        self.alias_sources = alias_sources
        self.prefix_last = prefix_last
        self.doc_limit = doc_limit

    def _sql(self) -> tuple[str, list]:
        sql = (
            "SELECT d.code, d.field, d.count, d.text, bm25(search_fts) AS s FROM search_fts "
            "JOIN search_docs d ON d.id = search_fts.rowid WHERE search_fts MATCH ?"
        )
        params: list = []
        if self.alias_sources is not None:
            if self.alias_sources:
                marks = ",".join("?" * len(self.alias_sources))
                sql += f" AND (d.field != 'alias' OR d.source IN ({marks}))"
                params.extend(self.alias_sources)
            else:
                sql += " AND d.field != 'alias'"
        return sql + " ORDER BY s LIMIT ?", params

    def retrieve(self, query: Query, k: int) -> list[Candidate]:
        """Best codes for the query's content words (empty when it has none).

        The query's variants (corrected spelling, lay terms in clinical words) are searched
        as well, each on its own, and a code keeps its best score; a variant's scores are
        weighed by :data:`VARIANT_WEIGHT` so that, all else equal, what was typed leads.
        """
        sql, params = self._sql()
        best: dict[str, tuple[float, str]] = {}
        for number, form in enumerate(dict.fromkeys((query.expanded, *query.variants))):
            tokens = content_tokens(form)
            if not tokens:
                continue
            weight = 1.0 if number == 0 else VARIANT_WEIGHT
            rows = self.store.query(
                sql, [fts_expression(tokens, self.prefix_last), *params, self.doc_limit]
            )
            for code, field, count, text, bm25 in rows:
                # BM25 over OR-ed words lets a short document sharing one word win; weigh
                # by the share of query words the document covers so full matches lead.
                coverage = _coverage(tokens, text, self.prefix_last)
                score = -bm25 * FIELD_WEIGHTS.get(field, 1.0) * coverage**2 * weight
                if field == "alias":
                    score *= 1.0 + 0.1 * math.log(count)
                if code not in best or score > best[code][0]:
                    best[code] = (score, text)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
        return [Candidate(code, s, self.name, (text,)) for code, (s, text) in ranked]
