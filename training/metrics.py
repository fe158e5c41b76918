"""Retrieval metrics for ICD-10-CM / CIE-10-ES coding: pure functions over ranked code lists.

Nothing here knows about models, indexes or databases: a retriever produces one
:class:`MentionResult` per gold mention and :func:`score` turns a sequence of them into a flat
``dict[str, float]``, so figures compare with the TietAI study on CodiEsp v4.

Definitions (one gold code per mention, as in the study)
---------------------------------------------------------
Codes are canonical dotted upper case (``S72.001A``, ``I10``, ``W19.XXXA``).

Resolutions
    ``exact``          the code itself. A mention whose gold code is not a valid ICD-10-CM code
                       (``gold_valid=False``, e.g. CodiEsp ``W19.XXX`` lacking its 7th character)
                       can never match: it is a miss, counted in ``{subset}_exact_unreachable``.
    ``exact_lenient``  as ``exact``, but when the gold code is invalid a prediction also matches
                       if it starts with the gold code (any 7th-character child counts: gold
                       ``W19.XXX`` matches ``W19.XXXA``). Valid gold codes get no leniency.
    ``category``       the first 3 characters (``S72.001A`` -> ``S72``).
    ``chapter``        ``chapter_of(code)``, a callable supplied by the caller. A code whose
                       chapter is ``None`` (unknown) never matches.

Ranks
    The ranked list is mapped to the resolution and DEDUPLICATED keeping the first occurrence
    (five codes of category S72 count as one item at category level). Unknown chapters
    (``None``) are not merged with each other: each keeps its own position. The *rank* ``r``
    of a mention is the 1-based position of the first matching item in that list, or absent.

Per-mention metrics, averaged over the mentions of a subset
    ``top1``    1 if ``r == 1`` else 0 (the study's F1: one prediction per query).
    ``map@10``  ``1 / r`` if ``r <= 10`` else 0 (with one relevant item, average precision
                is the reciprocal rank).
    ``r@k``     1 if ``r <= k`` else 0.
    ``p@k``     (relevant items among the top ``k`` of the deduplicated list) / ``k``. There is
                one relevant item, so this is ``r@k / k``: a perfect predictor scores
                ``p@k = 1 / k``. (Under ``exact_lenient`` several children may match; only
                the first counts, so precision stays ``r@k / k``.)

Subsets
    ``all``; ``seen`` (the normalised mention is in the alias set used); ``unseen`` (it is
    not). An empty subset reports ``{subset}_n = 0`` and 0.0 for every rate and latency, never
    NaN.

Other keys per subset
    ``{subset}_n`` (mentions), ``{subset}_empty_rate`` (fraction with no candidate at all),
    ``{subset}_latency_p50_ms`` / ``_p95_ms`` (linear-interpolated percentiles) /
    ``_mean_ms``, ``{subset}_exact_unreachable`` (mentions whose gold code is invalid).
    Counts are ``int`` values in the ``dict[str, float]``.

Key names are ``{subset}_{resolution}_{metric}``, e.g. ``unseen_category_map@10``,
``all_exact_top1``, ``seen_chapter_p@5``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

logger = logging.getLogger(__name__)

ChapterOf = Callable[[str], str | None]
"""Maps a canonical code to its chapter identifier (``None`` when unknown)."""

MAP_CUTOFF = 10
DEFAULT_KS: tuple[int, ...] = tuple(range(1, 11))
PRIMARY_METRIC = "unseen_exact_map@10"
"""The key that drives model selection: exact MAP@10 on mentions the aliases cannot answer."""


class Resolution(StrEnum):
    """Granularity at which a predicted code is compared with the gold code."""

    EXACT = "exact"
    EXACT_LENIENT = "exact_lenient"
    CATEGORY = "category"
    CHAPTER = "chapter"


class Subset(StrEnum):
    """Mention subsets reported separately (house rule 14)."""

    ALL = "all"
    UNSEEN = "unseen"
    SEEN = "seen"


class ErrorClass(StrEnum):
    """Why a top-1 prediction missed the gold code at exact level."""

    EMPTY = "empty"
    SPECIFICITY = "specificity"
    SIBLING = "sibling"
    OTHER_CATEGORY_SAME_CHAPTER = "other_category_same_chapter"
    OTHER_CHAPTER = "other_chapter"


@dataclass(frozen=True)
class MentionResult:
    """One gold mention and what a retriever returned for it.

    Attributes:
        mention: The mention text as queried.
        gold: The gold code, canonical dotted upper case.
        ranked: Predicted codes, best first (a list is converted to a tuple).
        seen: Whether the normalised mention is in the alias set used.
        latency_ms: Wall time of the retrieval for this mention.
        gold_valid: False when the gold code is not a valid ICD-10-CM code (``W19.XXX``).
    """

    mention: str
    gold: str
    ranked: tuple[str, ...]
    seen: bool
    latency_ms: float
    gold_valid: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.ranked, tuple):
            object.__setattr__(self, "ranked", tuple(self.ranked))


def category_of(code: str) -> str:
    """Return the 3-character category of a canonical code.

    Args:
        code: Canonical dotted code.

    Returns:
        The first three characters.

    Example:
        >>> category_of("S72.001A")
        'S72'
    """
    return code[:3]


def _dedupe(keys: Iterable[str | None]) -> list[str | None]:
    """Keep the first occurrence of each key; ``None`` (unknown) entries are all kept."""
    seen: set[str] = set()
    out: list[str | None] = []
    for key in keys:
        if key is None:
            out.append(None)
        elif key not in seen:
            seen.add(key)
            out.append(key)
    return out


def first_match_rank(
    result: MentionResult, resolution: Resolution | str, chapter_of: ChapterOf
) -> int | None:
    """Return the 1-based rank of the first match in the deduplicated ranked list.

    Args:
        result: The mention and its ranked predictions.
        resolution: One of :class:`Resolution` (or its string value).
        chapter_of: Maps a code to its chapter; used at ``chapter`` resolution.

    Returns:
        The rank, or ``None`` when no prediction matches (always ``None`` at ``exact`` for an
        invalid gold code).

    Raises:
        ValueError: If ``resolution`` is not a known resolution.

    Example:
        >>> first_match_rank(MentionResult("m", "I10", ("S72.001A", "S72.002A", "I10"), False, 1.0),
        ...                  "category", lambda c: None)
        2
    """
    resolution = Resolution(resolution)
    gold = result.gold
    keys: list[str | None]
    if resolution is Resolution.EXACT:
        if not result.gold_valid:
            return None
        keys = _dedupe(result.ranked)

        def matches(key: str) -> bool:
            return key == gold

    elif resolution is Resolution.EXACT_LENIENT:
        keys = _dedupe(result.ranked)
        lenient = not result.gold_valid

        def matches(key: str) -> bool:
            return key == gold or (lenient and key.startswith(gold))

    elif resolution is Resolution.CATEGORY:
        keys = _dedupe(category_of(code) for code in result.ranked)
        gold_category = category_of(gold)

        def matches(key: str) -> bool:
            return key == gold_category

    else:
        gold_chapter = chapter_of(gold)
        if gold_chapter is None:
            return None
        keys = _dedupe(chapter_of(code) for code in result.ranked)

        def matches(key: str) -> bool:
            return key == gold_chapter

    for rank, key in enumerate(keys, start=1):
        if key is not None and matches(key):
            return rank
    return None


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else 0.0


def _rank_metrics(prefix: str, ranks: np.ndarray, ks: Sequence[int]) -> dict[str, float]:
    """Metrics from first-match ranks (0 = no match) of one subset at one resolution."""
    found = ranks > 0
    reciprocal = np.where(found & (ranks <= MAP_CUTOFF), 1.0 / np.maximum(ranks, 1), 0.0)
    out: dict[str, float] = {
        f"{prefix}_top1": _mean((ranks == 1).astype(float)),
        f"{prefix}_map@{MAP_CUTOFF}": _mean(reciprocal),
    }
    for k in ks:
        recall = _mean((found & (ranks <= k)).astype(float))
        out[f"{prefix}_p@{k}"] = recall / k
        out[f"{prefix}_r@{k}"] = recall
    return out


def score(
    results: Sequence[MentionResult],
    chapter_of: ChapterOf,
    ks: Iterable[int] = DEFAULT_KS,
) -> dict[str, float]:
    """Score ranked predictions on all, unseen and seen mentions at every resolution.

    Args:
        results: One :class:`MentionResult` per gold mention.
        chapter_of: Maps a canonical code to its chapter (``None`` when unknown).
        ks: Cut-offs for ``p@k`` and ``r@k`` (``map@10`` is always at 10).

    Returns:
        A flat dict keyed ``{subset}_{resolution}_{metric}`` plus ``{subset}_n``,
        ``{subset}_empty_rate``, ``{subset}_latency_{p50,p95,mean}_ms`` and
        ``{subset}_exact_unreachable`` (see the module docstring).

    Raises:
        ValueError: If a cut-off in ``ks`` is smaller than 1.

    Example:
        >>> score([MentionResult("hta", "I10", ("I10",), True, 2.0)], lambda c: "9")["all_n"]
        1
    """
    cutoffs = sorted({int(k) for k in ks})
    if cutoffs and cutoffs[0] < 1:
        raise ValueError(f"cut-offs in ks must be >= 1, got {cutoffs[0]}")

    ranks = {
        resolution: np.array(
            [first_match_rank(r, resolution, chapter_of) or 0 for r in results], dtype=np.int64
        )
        for resolution in Resolution
    }
    seen = np.array([r.seen for r in results], dtype=bool)
    empty = np.array([not r.ranked for r in results], dtype=float)
    invalid = np.array([not r.gold_valid for r in results], dtype=bool)
    latency = np.array([r.latency_ms for r in results], dtype=float)
    masks = {
        Subset.ALL: np.ones(len(results), dtype=bool),
        Subset.UNSEEN: ~seen,
        Subset.SEEN: seen,
    }

    metrics: dict[str, float] = {}
    for subset, mask in masks.items():
        metrics[f"{subset}_n"] = int(mask.sum())
        metrics[f"{subset}_empty_rate"] = _mean(empty[mask])
        metrics[f"{subset}_exact_unreachable"] = int(invalid[mask].sum())
        metrics[f"{subset}_latency_p50_ms"] = _percentile(latency[mask], 50)
        metrics[f"{subset}_latency_p95_ms"] = _percentile(latency[mask], 95)
        metrics[f"{subset}_latency_mean_ms"] = _mean(latency[mask])
        for resolution in Resolution:
            metrics.update(
                _rank_metrics(f"{subset}_{resolution}", ranks[resolution][mask], cutoffs)
            )

    logger.info(
        "scored %d mentions (%d unseen): exact top-1 %.3f, unseen exact top-1 %.3f",
        metrics["all_n"],
        metrics["unseen_n"],
        metrics["all_exact_top1"],
        metrics["unseen_exact_top1"],
    )
    return metrics


def classify_miss(result: MentionResult, chapter_of: ChapterOf) -> ErrorClass | None:
    """Classify why the top-1 prediction misses the gold code at exact level.

    Checks run in order: ``empty`` (no candidate); ``specificity`` (one code is a prefix of the
    other, e.g. ``S72`` for ``S72.001A``, or ``W19.XXXA`` for the invalid gold ``W19.XXX``);
    ``sibling`` (same category, different code); ``other_category_same_chapter``;
    ``other_chapter`` (also when either chapter is unknown).

    Args:
        result: The mention and its ranked predictions.
        chapter_of: Maps a code to its chapter (``None`` when unknown).

    Returns:
        The error class, or ``None`` when the top-1 prediction is an exact hit.

    Example:
        >>> classify_miss(MentionResult("m", "S72.001A", ("S72.002A",), False, 1.0), lambda c: "19")
        <ErrorClass.SIBLING: 'sibling'>
    """
    if not result.ranked:
        return ErrorClass.EMPTY
    top, gold = result.ranked[0], result.gold
    if result.gold_valid and top == gold:
        return None
    if top.startswith(gold) or gold.startswith(top):
        return ErrorClass.SPECIFICITY
    if category_of(top) == category_of(gold):
        return ErrorClass.SIBLING
    gold_chapter = chapter_of(gold)
    if gold_chapter is not None and chapter_of(top) == gold_chapter:
        return ErrorClass.OTHER_CATEGORY_SAME_CHAPTER
    return ErrorClass.OTHER_CHAPTER


def error_breakdown(results: Sequence[MentionResult], chapter_of: ChapterOf) -> dict[str, int]:
    """Count top-1 misses at exact level by :class:`ErrorClass`.

    Mentions with an invalid gold code are misses at exact level (unreachable) and are
    classified like any other miss.

    Args:
        results: One :class:`MentionResult` per gold mention.
        chapter_of: Maps a code to its chapter (``None`` when unknown).

    Returns:
        A dict with every :class:`ErrorClass` value as a key (zero when absent) and its count.

    Example:
        >>> error_breakdown([MentionResult("m", "I10", (), False, 1.0)], lambda c: "9")["empty"]
        1
    """
    counts = Counter(classify_miss(r, chapter_of) for r in results)
    return {str(cls): counts.get(cls, 0) for cls in ErrorClass}


def reliability(stated: Sequence[float], right: Sequence[bool], bins: int = 10) -> dict:
    """Calibration of stated confidences: per bin, how often the claim was right, and the
    expected calibration error (bin-size-weighted mean gap).

    Example: ``reliability([0.9, 0.9], [True, False])["ece"] == 0.4``
    """
    stated_a, right_a = np.asarray(stated, dtype=float), np.asarray(right, dtype=float)
    table, ece = [], 0.0
    edges = np.linspace(0, 1, bins + 1)
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (stated_a >= low) & ((stated_a < high) | (high == 1.0))
        if not inside.any():
            continue
        gap = abs(stated_a[inside].mean() - right_a[inside].mean())
        ece += inside.mean() * gap
        table.append({"from": round(float(low), 2), "to": round(float(high), 2),
                      "n": int(inside.sum()), "stated": round(float(stated_a[inside].mean()), 3),
                      "right": round(float(right_a[inside].mean()), 3)})
    return {"ece": round(float(ece), 4), "bins": table}


def by_level(stated: Sequence[float], right: Sequence[bool]) -> list[dict]:
    """How often the claim is right at each confidence level the UI names."""
    from app.search.confidence import LEVELS, level_of

    tally = {name: [0, 0] for name, _ in LEVELS}
    for p, ok in zip(stated, right, strict=True):
        cell = tally[level_of(p)]
        cell[0] += 1
        cell[1] += int(ok)
    total = max(1, len(stated))
    return [
        {"level": name, "from": low, "n": n, "share": round(n / total, 3),
         "right": round(hits / n, 3) if n else None}
        for (name, low), (n, hits) in zip(LEVELS, tally.values(), strict=True)
    ]


def document_halves(docs: Sequence[str]) -> tuple[list[int], list[int]]:
    """Indices of the items in two halves split by document (every other document in sorted
    order), for cross-fitting: fit on one half, measure on the other.

    Example: ``document_halves(["a", "b", "a"]) == ([0, 2], [1])``
    """
    first = set(sorted(set(docs))[::2])
    return ([i for i, d in enumerate(docs) if d in first],
            [i for i, d in enumerate(docs) if d not in first])


def nll_with_null(logits: np.ndarray, null: float, gold: np.ndarray) -> float:
    """Mean negative log-likelihood of softmaxes over each row of ``logits`` (-inf where
    there is no candidate) plus a "none of these" logit; ``gold`` holds each row's right
    column, ``logits.shape[1]`` for none."""
    every = np.concatenate([logits, np.full((len(logits), 1), null)], axis=1)
    top = every.max(axis=1, keepdims=True)
    norm = top[:, 0] + np.log(np.exp(every - top).sum(axis=1))
    return float(np.mean(norm - every[np.arange(len(logits)), gold]))


def latency_summary(times_ms: Sequence[float]) -> dict[str, float]:
    """p50 and p95 (nearest rank) of per-query times in milliseconds."""
    return {
        f"p{q}_ms": round(float(np.percentile(times_ms, q, method="inverted_cdf")), 2)
        for q in (50, 95)
    }
