"""Features of each (query, candidate) pair, the learned ranker's input.

One row per pool entry (:mod:`app.search.candidates`), columns named by :data:`FEATURES`.
Groups (for ablations, :data:`GROUPS`): what each retriever said, the code prior from coded
corpora, how well the code's texts cover the query and the query its title, whether the
query's head word is found, qualifier agreement and conflict, validity and specificity, and
the votes of the candidates sharing its category.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.catalog.store import CatalogStore, CodeRecord
from app.codes import strip_dot
from app.search.candidates import CandidateSpace, PoolEntry, title_qualifiers
from app.search.explain import inclusion_terms, text_terms
from app.search.normalize import tokenize
from app.search.qualifiers import agreement
from app.search.query import STOP_WORDS, content_tokens
from app.search.types import Candidate, Query

#: Feature columns by group, in matrix order.
GROUPS: dict[str, tuple[str, ...]] = {
    "retrievers": (
        "fused_score", "fused_rank", "own_retrieved", "n_members",
        "alias_share", "alias_rank", "bm25_score", "bm25_rel", "bm25_rank",
        "dense_score", "dense_gap", "dense_rank", "neighbour_score", "neighbour_rank",
    ),
    "prior": ("prior_code", "prior_category", "prior_chapter", "alias_count"),
    "coverage": (
        "n_words", "cover_es", "cover_en", "cover_inclusion", "cover_alias", "cover_any",
        "title_es_covered", "title_en_covered", "cognate_en", "cognate_inclusion",
    ),
    "head": ("head_title", "head_any"),
    "qualifiers": (
        "q_agree", "q_conflict", "q_missing", "code_qualifiers", "without_conflict",
    ),
    "specificity": (
        "valid", "depth", "via_completion", "via_descendant", "via_variant", "unspecified",
        "other",
    ),
    "votes": ("category_votes", "category_score", "category_rank", "origin_rank"),
}
#: Features whose shortfall against the best candidate (of the pool, and of the candidate's
#: own category) is a feature too: trees compare a row with its neighbours only this way.
RELATIVE_TO_BEST = ("q_agree", "q_conflict", "cover_any", "cover_es", "cognate_en",
                    "prior_code")
GROUPS["relative"] = tuple(
    f"{name}_{scope}_gap" for scope in ("pool", "category") for name in RELATIVE_TO_BEST
)
FEATURES: tuple[str, ...] = tuple(f for group in GROUPS.values() for f in group)
_MISSING_RANK = math.log1p(101)
#: Features are rounded to this many decimals: values one float32 step apart (a gap computed
#: two ways) would put LightGBM's float64 split thresholds where onnxruntime's float32 ones
#: fall on the other side of the value; on a 1e-4 grid they never do.
DECIMALS = 4
_VOTE_DEPTH = 20


@dataclass(frozen=True)
class CodePrior:
    """How often coded corpora used each code, category and chapter (alias counts)."""

    codes: Counter
    categories: Counter
    chapters: Counter
    aliases: dict[str, tuple[str, ...]]

    @classmethod
    def from_store(cls, store: CatalogStore, sources: tuple[str, ...] | None) -> CodePrior:
        """Counts from the store's aliases of ``sources`` (None: all)."""
        sql = "SELECT a.code, a.text, a.count, c.chapter FROM aliases a JOIN codes c USING (code)"
        params: tuple = ()
        if sources is not None:
            sql += f" WHERE a.source IN ({','.join('?' * len(sources))})"
            params = tuple(sources)
        codes: Counter = Counter()
        categories: Counter = Counter()
        chapters: Counter = Counter()
        aliases: dict[str, list[str]] = defaultdict(list)
        for code, text, count, chapter in store.query(sql, params):
            codes[code] += count
            categories[code[:3]] += count
            chapters[chapter] += count
            aliases[code].append(text)
        return cls(codes, categories, chapters, {c: tuple(t) for c, t in aliases.items()})


def _rank_map(found: Sequence[Candidate]) -> dict[str, tuple[int, float]]:
    return {c.code: (rank, c.score) for rank, c in enumerate(found, 1)}


def _coverage(words: Sequence[str], texts: Sequence[str]) -> float:
    if not words or not texts:
        return 0.0
    terms = [text_terms(t) for t in texts]
    return sum(any(t.find(w) for t in terms) for w in words) / len(words)


_COGNATE_RULES = (("ph", "f"), ("th", "t"), ("y", "i"), ("k", "c"), ("qu", "c"), ("z", "c"),
                  ("ll", "l"), ("ss", "s"), ("rr", "r"), ("mm", "m"), ("nn", "n"), ("tt", "t"))


@lru_cache(maxsize=65536)
def cognate(word: str) -> str | None:
    """A key that Spanish and English medical cognates share: spelling rules folded
    (ph/f, th/t, y/i, k/c, initial pn/ps), then the first 5 letters of a word of up to 7, the
    first 6 of a longer one; None for words under 5 letters.

    Example: ``cognate("nefropatia") == cognate("nephropathy") == "nefrop"``
    """
    if len(word) < 5 or word.isdigit():
        return None
    for old, new in _COGNATE_RULES:
        word = word.replace(old, new)
    if word.startswith(("pn", "ps")):
        word = word[1:]
    return word[:5] if len(word) <= 7 else word[:6]


@lru_cache(maxsize=65536)
def _cognates(text: str) -> frozenset[str]:
    return frozenset(k for w in tokenize(text) if (k := cognate(w)))


def _cognate_coverage(words: Sequence[str], texts: Sequence[str]) -> float:
    keys = [k for w in words if (k := cognate(w))]
    if not keys or not texts:
        return 0.0
    found = frozenset().union(*(_cognates(t) for t in texts))
    return sum(k in found for k in keys) / len(keys)


def _covered(title: str | None, words: Sequence[str]) -> float:
    """Share of a title's content words that the query has (by form or concept)."""
    if not title:
        return 0.0
    own = [w for w in content_tokens(title) if w not in STOP_WORDS]
    if not own:
        return 0.0
    query_terms = text_terms(" ".join(words))
    return sum(bool(query_terms.find(w)) for w in own) / len(own)


class FeatureExtractor:
    """Rows of :data:`FEATURES` for a :class:`CandidateSpace`.

    Args:
        store: the catalog.
        prior: alias counts (built from ``store`` with all sources when None).
    """

    def __init__(self, store: CatalogStore, prior: CodePrior | None = None):
        self.store = store
        self.prior = prior if prior is not None else CodePrior.from_store(store, None)

    def matrix(self, query: Query, space: CandidateSpace) -> np.ndarray:
        """One row per pool entry, in pool order (float32, rounded to :data:`DECIMALS`)."""
        pool = space.pool
        rows = np.zeros((len(pool), len(FEATURES)), dtype=np.float64)
        if not pool:
            return rows.astype(np.float32)
        words = content_tokens(query.expanded)
        query_words = frozenset(tokenize(query.expanded))
        head = words[0] if words else None
        fused = _rank_map(space.fused)
        members = {name: _rank_map(found) for name, found in space.members.items()}
        best = {
            name: max((c.score for c in found), default=0.0)
            for name, found in space.members.items()
        }
        inclusions = inclusion_terms(self.store, [e.code for e in pool])
        votes, category_score = Counter(), Counter()
        for cand in space.fused[:_VOTE_DEPTH]:
            votes[cand.code[:3]] += 1
            category_score[cand.code[:3]] += cand.score * 60
        category_order = {c: i for i, (c, _) in enumerate(category_score.most_common(), 1)}
        for i, entry in enumerate(pool):
            rows[i] = self._row(
                query, entry, words, query_words, head, fused, members, best,
                inclusions.get(entry.code, []),
                votes, category_score, category_order,
            )
        _fill_gaps(rows, [entry.code[:3] for entry in pool])
        return np.round(rows, DECIMALS).astype(np.float32)

    def _row(
        self, query: Query, entry: PoolEntry, words: list[str], query_words: frozenset[str],
        head: str | None,
        fused: dict, members: dict, best: dict, inclusions: list[str],
        votes: Counter, category_score: Counter, category_order: dict,
    ) -> list[float]:
        record: CodeRecord = entry.record
        code = entry.code
        key = code if code in fused else entry.origin
        values = dict.fromkeys(FEATURES, 0.0)
        rank, score = fused.get(key, (None, 0.0))
        values["fused_score"] = score * 60
        values["fused_rank"] = math.log1p(rank) if rank else _MISSING_RANK
        values["origin_rank"] = values["fused_rank"]
        values["own_retrieved"] = float(code in fused)
        found_by = [name for name, ranks in members.items() if key in ranks]
        values["n_members"] = len(found_by)
        alias = members.get("alias", {}).get(key)
        values["alias_share"] = alias[1] if alias else 0.0
        values["alias_rank"] = math.log1p(alias[0]) if alias else _MISSING_RANK
        bm25 = members.get("bm25", {}).get(key)
        values["bm25_score"] = bm25[1] if bm25 else 0.0
        values["bm25_rel"] = bm25[1] / best["bm25"] if bm25 and best.get("bm25") else 0.0
        values["bm25_rank"] = math.log1p(bm25[0]) if bm25 else _MISSING_RANK
        dense = members.get("dense", {}).get(key)
        values["dense_score"] = dense[1] if dense else 0.0
        values["dense_gap"] = best["dense"] - dense[1] if dense else 1.0
        values["dense_rank"] = math.log1p(dense[0]) if dense else _MISSING_RANK
        neighbour = members.get("neighbour", {}).get(key)
        values["neighbour_score"] = neighbour[1] if neighbour else 0.0
        values["neighbour_rank"] = math.log1p(neighbour[0]) if neighbour else _MISSING_RANK

        prior = self.prior
        values["prior_code"] = math.log1p(prior.codes.get(code, 0))
        values["prior_category"] = math.log1p(prior.categories.get(code[:3], 0))
        values["prior_chapter"] = math.log1p(prior.chapters.get(record.chapter, 0))
        aliases = prior.aliases.get(code, ())
        values["alias_count"] = math.log1p(len(aliases))

        titles = [t for t in (record.title_es, record.title_en) if t]
        values["n_words"] = len(words)
        values["cover_es"] = _coverage(words, [record.title_es] if record.title_es else [])
        values["cover_en"] = _coverage(words, [record.title_en])
        values["cover_inclusion"] = _coverage(words, inclusions)
        values["cover_alias"] = _coverage(words, aliases[:20])
        values["cover_any"] = _coverage(words, [*titles, *inclusions, *aliases[:20]])
        values["title_es_covered"] = _covered(record.title_es, words)
        values["title_en_covered"] = _covered(record.title_en, words)
        values["cognate_en"] = _cognate_coverage(words, [record.title_en])
        values["cognate_inclusion"] = _cognate_coverage(words, inclusions)
        if head:
            values["head_title"] = _coverage([head], [*titles, *inclusions])
            values["head_any"] = max(values["head_title"], _coverage([head], aliases[:20]))

        code_concepts = title_qualifiers(record.title_en)
        agree, conflict, missing = agreement(query.qualifiers, code_concepts)
        values["q_agree"], values["q_conflict"], values["q_missing"] = agree, conflict, missing
        values["code_qualifiers"] = len(code_concepts)
        # "DM2 con nefropatía" is not "... without complications"
        values["without_conflict"] = float(
            "con" in query_words and "without complication" in record.title_en.lower()
        )

        title = record.title_en.lower()
        values["valid"] = float(record.valid)
        values["depth"] = len(strip_dot(code))
        values["via_completion"] = float(entry.via == "completion")
        values["via_descendant"] = float(entry.via == "descendant")
        values["via_variant"] = float(entry.via == "variant")
        values["unspecified"] = float("unspecified" in title)
        values["other"] = float(title.startswith("other") or " other " in title)

        category = code[:3]
        values["category_votes"] = votes.get(category, 0)
        values["category_score"] = category_score.get(category, 0.0)
        values["category_rank"] = math.log1p(category_order.get(category, 50))
        return [values[f] for f in FEATURES]


_SOURCES = [FEATURES.index(name) for name in RELATIVE_TO_BEST]
_POOL_GAPS = [FEATURES.index(f"{name}_pool_gap") for name in RELATIVE_TO_BEST]
_CATEGORY_GAPS = [FEATURES.index(f"{name}_category_gap") for name in RELATIVE_TO_BEST]


def _fill_gaps(rows: np.ndarray, categories: Sequence[str]) -> None:
    """Set the ``relative`` columns: best value in the pool (and in the row's category)
    minus the row's own."""
    values = rows[:, _SOURCES]
    rows[:, _POOL_GAPS] = values.max(axis=0) - values
    members: dict[str, list[int]] = defaultdict(list)
    for i, category in enumerate(categories):
        members[category].append(i)
    for indices in members.values():
        block = values[indices]
        rows[np.ix_(indices, _CATEGORY_GAPS)] = block.max(axis=0) - block
