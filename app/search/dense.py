"""Dense retrieval: encode the query, search the vector index."""

from __future__ import annotations

from app.search.encoder import TextEncoder
from app.search.query import content_tokens
from app.search.types import Candidate, Query
from app.search.vector_index import DenseIndex


def dense_query_text(query: Query) -> str:
    """The text the encoder sees: what the user typed (case and accents kept), with each
    abbreviation replaced by its first expansion (the encoder knows "infarto agudo de
    miocardio" better than "IAM").

    Example: ``dense_query_text(analyze_query("IAM inferior", table))`` is
    ``"infarto agudo de miocardio inferior"``
    """
    parts: list[str] = []
    position = 0
    for found in query.expansions:
        parts.append(query.text[position : found.start])
        parts.append(found.expansions[0])
        position = found.end
    parts.append(query.text[position:])
    return "".join(parts)


class DenseRetriever:
    """Bi-encoder retrieval over a :class:`DenseIndex`; scores are cosine similarities.

    Queries without a content word (empty, only stop words or punctuation) give no
    candidates, as with BM25.

    Args:
        encoder: the query encoder; its dimension must equal the index's.
        index: the vector index of the active catalog.

    Raises:
        ValueError: the encoder and index dimensions differ.

    Example: ``DenseRetriever(encoder, index).retrieve(analyze_query("IAM inferior"), 10)``
    """

    name = "dense"

    def __init__(self, encoder: TextEncoder, index: DenseIndex):
        if encoder.dim != index.dim:
            raise ValueError(f"encoder gives {encoder.dim} dims, the index holds {index.dim}")
        self.encoder = encoder
        self.index = index

    def retrieve(self, query: Query, k: int) -> list[Candidate]:
        """At most ``k`` codes nearest to the query, best first.

        A query with lay terms is also searched by its first variant (``Query.variants``:
        its corrected spelling, or its lay terms in clinical words), in the same encoder
        call; a code keeps its best similarity. (Slips alone cost the encoder little; lay
        words it does not know.)
        """
        if k <= 0 or not content_tokens(query.expanded):
            return []
        texts = [dense_query_text(query), *(query.variants[:1] if query.lay_terms else ())]
        if len(texts) == 1:
            vector = self.encoder.encode(texts, "query")[0]
            return [Candidate(c, s, self.name) for c, s in self.index.search(vector, k)]
        best: dict[str, float] = {}
        for vector in self.encoder.encode(texts, "query"):
            for code, score in self.index.search(vector, k):
                if score > best.get(code, -2.0):
                    best[code] = score
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [Candidate(code, score, self.name) for code, score in ranked]
