"""The ranker's candidate space: codes a coder can submit, grown from the first stage.

The first stage's members (exact aliases, BM25, dense) each propose their best codes; their
weighted reciprocal-rank fusion orders them. The pool then holds, in fused order:

- every fused candidate itself;
- for a candidate that needs a 7th character, the completed full code the query's episode
  words point to (``via="completion"``), right after it;
- for the strongest non-valid candidates, the valid descendants the query supports best
  (its qualifiers, then the "unspecified" child) (``via="descendant"``);
- for the strongest candidates that contradict a qualifier of the query ("left" for
  "derecha"), the siblings that state it instead (``via="variant"``).

Each pool entry remembers the first-stage code it came from, whose retriever scores it
inherits (:mod:`app.search.features`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.catalog.store import CatalogStore, CodeRecord
from app.search.completion import complete_record
from app.search.normalize import tokenize
from app.search.qualifiers import agreement, read_qualifiers
from app.search.types import Candidate, Query, Retriever

#: What ICD-10-CM assumes when the query does not say: ``(aspect concepts, default)``.
_DEFAULTS = ((frozenset({"initial", "subsequent", "sequela"}), "initial"),
             (frozenset({"open", "closed"}), "closed"))


def wanted_qualifiers(query: Query) -> frozenset[str]:
    """The query's qualifiers plus ICD-10-CM's defaults for the aspects it leaves unsaid.

    Example: ``wanted_qualifiers(analyze_query("fractura de cadera derecha")) ==
    {"right", "initial", "closed"}``
    """
    found = set(query.qualifiers)
    for concepts, default in _DEFAULTS:
        if not found & concepts:
            found.add(default)
    return frozenset(found)


@dataclass(frozen=True)
class PoolEntry:
    """One code to rank.

    Attributes:
        record: the code's catalog record.
        origin: the first-stage code it comes from (itself when ``via == "retrieved"``).
        via: ``"retrieved"`` (a retrieved full code may already be completed from the
            query's episode words), ``"completion"``, ``"descendant"`` or ``"variant"``.
    """

    record: CodeRecord
    origin: str
    via: str

    @property
    def code(self) -> str:
        """The candidate code."""
        return self.record.code


@dataclass(frozen=True)
class CandidateSpace:
    """What the first stage found for one query and the pool built from it.

    Attributes:
        members: each member retriever's candidates, best first, by retriever name.
        fused: the fused first-stage order.
        pool: the codes to rank (fused order, expansions after their origin).
    """

    members: dict[str, list[Candidate]]
    fused: list[Candidate]
    pool: list[PoolEntry]


def fuse(
    members: Sequence[tuple[str, float, list[Candidate]]], rrf_k: int = 60
) -> list[Candidate]:
    """Weighted RRF of member lists ``(name, weight, candidates)``; ties keep first-seen order.

    Example: ``fuse([("bm25", 1.0, bm25_list), ("dense", 1.0, dense_list)])``
    """
    scores: dict[str, float] = {}
    origin: dict[str, list[str]] = {}
    matched: dict[str, tuple[str, ...]] = {}
    order: dict[str, int] = {}
    for name, weight, found in members:
        for rank, cand in enumerate(found, 1):
            scores[cand.code] = scores.get(cand.code, 0.0) + weight / (rrf_k + rank)
            origin.setdefault(cand.code, []).append(name)
            matched.setdefault(cand.code, cand.matched)
            order.setdefault(cand.code, len(order))
    ranked = sorted(scores, key=lambda c: (-scores[c], order[c]))
    return [Candidate(c, scores[c], "+".join(origin[c]), matched[c]) for c in ranked]


@lru_cache(maxsize=65536)
def title_qualifiers(title: str) -> frozenset[str]:
    """Qualifier concepts a title states (cached: titles repeat across queries)."""
    return read_qualifiers(tokenize(title))


def _descendant_key(query: frozenset[str], record: CodeRecord, index: int) -> tuple:
    agree, conflict, _ = agreement(query, title_qualifiers(record.title_en))
    unspecified = "unspecified" in record.title_en.lower()
    return (conflict, -agree, not unspecified, len(record.code), index)


class CandidateGenerator:
    """Build the :class:`CandidateSpace` of a query from the first stage's members.

    Args:
        store: the catalog.
        members: ``(retriever, weight)`` pairs, fused with weighted RRF.
        depth: how many candidates each member proposes.
        pool_size: how many fused candidates enter the pool.
        expand_top: how many of the best non-valid fused candidates are expanded into their
            valid descendants.
        per_expansion: how many descendants each expansion adds.
        vary_top: how many of the best fused candidates may bring qualifier variants.
    """

    def __init__(
        self,
        store: CatalogStore,
        members: Sequence[tuple[Retriever, float]],
        depth: int = 50,
        pool_size: int = 50,
        expand_top: int = 5,
        per_expansion: int = 4,
        vary_top: int = 15,
    ):
        self.store = store
        self.members = list(members)
        self.depth = depth
        self.pool_size = pool_size
        self.expand_top = expand_top
        self.per_expansion = per_expansion
        self.vary_top = vary_top

    def generate(self, query: Query) -> CandidateSpace:
        """The candidate space of ``query`` (empty when no member finds anything)."""
        found = {r.name: r.retrieve(query, self.depth) for r, _ in self.members}
        fused = fuse([(r.name, w, found[r.name]) for r, w in self.members])[: self.pool_size]
        records = self.store.get_many([c.code for c in fused])
        wanted = wanted_qualifiers(query)
        pool: dict[str, PoolEntry] = {}
        expanded = 0
        for position, cand in enumerate(fused):
            record = records.get(cand.code)
            if record is None:
                continue
            base = record
            if record.kind == "extended" and record.parent:
                # a retrieved full code stands for its 6-character parent: the 7th character
                # is the completion's to choose, from the query's episode words
                base = self.store.find(record.parent) or record
                full = self._completed(record.parent, query.text)
                if full is not None and full.code != record.code:
                    pool.setdefault(full.code, PoolEntry(full, record.code, "completion"))
                    record = full
            pool.setdefault(record.code, PoolEntry(record, cand.code, "retrieved"))
            if position < self.vary_top:
                for variant in self._variants(base, query):
                    pool.setdefault(variant.code, PoolEntry(variant, cand.code, "variant"))
            if record.valid:
                continue
            full = self._completed(record.code, query.text, record)
            if full is not None:
                pool.setdefault(full.code, PoolEntry(full, record.code, "completion"))
            elif expanded < self.expand_top:
                expanded += 1
                for child in self._descendants(record, wanted, query.text):
                    pool.setdefault(child.code, PoolEntry(child, record.code, "descendant"))
        return CandidateSpace(found, fused, list(pool.values()))

    def _variants(self, record: CodeRecord, query: Query) -> list[CodeRecord]:
        """Siblings that state what the query does where ``record`` contradicts it ("left"
        for "derecha"): the qualifier variants a coder would switch to, completed when they
        need a 7th character."""
        if not query.qualifiers or not record.parent:
            return []
        agree, conflict, _ = agreement(query.qualifiers, title_qualifiers(record.title_en))
        if not conflict:
            return []
        better = []
        for sibling in self.store.children(record.parent):
            a, c, _ = agreement(query.qualifiers, title_qualifiers(sibling.title_en))
            if sibling.code != record.code and c < conflict and a > agree:
                better.append((c, -a, sibling))
        out = []
        for _, _, sibling in sorted(better, key=lambda t: t[:2])[:2]:
            full = sibling if sibling.valid else self._completed(sibling.code, query.text, sibling)
            if full is not None:
                out.append(full)
        return out

    def _completed(
        self, code: str, text: str, record: CodeRecord | None = None
    ) -> CodeRecord | None:
        """The record of the valid full code that completes ``code`` for ``text`` (None
        when ``code`` is valid, unknown or not one 7th character away from a valid code)."""
        record = record or self.store.find(code)
        completion = complete_record(self.store, record, text) if record else None
        return self.store.find(completion.code) if completion else None

    def _descendants(
        self, record: CodeRecord, wanted: frozenset[str], text: str
    ) -> list[CodeRecord]:
        """The valid descendants the query supports best; 7th-character codes stand for
        their 6-character parent, completed from the query's episode words (one per parent:
        the 7th character is the completion's to choose, not the ranker's)."""
        children: list[CodeRecord] = []
        parents: set[str] = set()
        for child in self.store.valid_descendants(record.code, limit=600):
            if child.kind != "extended":
                children.append(child)
            elif child.parent and child.parent not in parents:
                parents.add(child.parent)
                children.append(child)
        ranked = sorted(
            range(len(children)), key=lambda i: _descendant_key(wanted, children[i], i)
        )
        out = []
        for i in ranked[: self.per_expansion]:
            child = children[i]
            if child.kind == "extended" and child.parent:
                child = self._completed(child.parent, text)
            if child is not None:
                out.append(child)
        return out
