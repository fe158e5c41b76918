"""Document-mode metrics: pure functions over gold and predicted mentions per document.

Definitions (CodiEsp diagnosis gold, one code per gold row)
-----------------------------------------------------------
Gold spans
    The distinct fragment tuples of a document's gold mentions (a span coded twice counts
    once). A discontinuous gold mention is compared by its outer bounds for exact matching
    (so in practice a contiguous prediction cannot match it exactly) and by any fragment
    for overlap.

Span precision / recall / F1 (micro over documents)
    ``exact``: a predicted span with the same start and end as a gold span.
    ``overlap``: a predicted span sharing at least one character with a gold fragment.
    Precision counts matching predictions; recall counts gold spans matched by any
    prediction.

Shown and proposed mentions
    Span figures count every mention document mode shows; code sets, MAP and top-1 count
    only the *proposed* ones (``PredictedMention.proposed``: a mention whose best code is too
    uncertain is shown for review, its code not proposed; ``app.document.analyse``).

Code sets (micro over documents)
    Predicted: the top-1 codes of a document's proposed mentions; gold: its gold codes; at ``exact``
    (the code) and ``category`` (first 3 characters) resolution.
    ``exact_lenient`` (when the caller says which gold codes are not valid in the catalog's
    edition): as ``exact``, but a gold code that cannot be submitted in that edition (CodiEsp
    codes with CIE-10-ES 2018: ``R51``, ``M54.5``, ``T14.8`` lacking the 7th character) is
    also matched by a predicted code that extends it (``R51.9``, ``M54.50``, ``T14.8XXA``),
    as ``exact_lenient`` in ``training.metrics``. Precision counts predicted codes that match
    a gold code, recall gold codes matched by a predicted one.

MAP (CodiEsp-D style)
    Per document, the codes of all mentions' ranked lists merged into one ranking (best rank
    first, then more mentions at that rank, then earlier in the text), mapped to the
    resolution and de-duplicated; average precision = sum of precision@i at each relevant
    position i / number of gold codes; MAP is the mean over documents with gold codes.

Top-1 on overlapping spans
    Over predicted spans that overlap a gold span: the share whose top-1 code is one of the
    overlapping gold mentions' codes (exact and category).

Where the gold codes go
    Each gold (document, code) pair is ``found`` (the code is in the predicted set) or lost
    for the first reason of :data:`LOSS_REASONS` that applies: its code is not valid in the
    catalog's edition, no predicted mention overlaps its spans, none of the overlapping
    mentions is proposed, the code is in an overlapping proposed mention's top 5 but not
    first, a code of its category is first, or another code is first.

Negation
    Every set-based figure is computed with negated mentions kept (``kept_*``) and dropped
    (``dropped_*``); CodiEsp annotates negated findings, so dropping them trades recall for
    precision.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from training.codiesp_documents import GoldMention
from training.metrics import category_of

RESOLUTIONS: dict[str, Callable[[str], str]] = {
    "exact": lambda code: code,
    "category": category_of,
}


@dataclass(frozen=True)
class PredictedMention:
    """A predicted mention: its span, negation flag, ranked codes (best first) and whether
    its code is proposed for the document's code set (False: shown for review only)."""

    start: int
    end: int
    negated: bool = False
    ranked: tuple[str, ...] = ()
    proposed: bool = True


@dataclass(frozen=True)
class DocumentResult:
    """Gold and predictions of one document, and how long the analysis took."""

    doc_id: str
    gold: tuple[GoldMention, ...]
    predicted: tuple[PredictedMention, ...]
    seconds: float = 0.0

    def kept(self, keep_negated: bool) -> tuple[PredictedMention, ...]:
        """The predictions, without negated ones unless ``keep_negated``."""
        return self.predicted if keep_negated else tuple(p for p in self.predicted if not p.negated)

    def coded(self, keep_negated: bool) -> tuple[PredictedMention, ...]:
        """The proposed predictions (those whose codes count), without negated ones unless
        ``keep_negated``."""
        return tuple(p for p in self.kept(keep_negated) if p.proposed)


def _prf(tp_pred: int, n_pred: int, tp_gold: int, n_gold: int) -> tuple[float, float, float]:
    precision = tp_pred / n_pred if n_pred else 0.0
    recall = tp_gold / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def gold_spans(gold: Sequence[GoldMention]) -> list[tuple[tuple[int, int], ...]]:
    """Distinct fragment tuples of a document's gold mentions, in first-seen order."""
    return list(dict.fromkeys(g.fragments for g in gold))


def _overlaps(start: int, end: int, fragments: Sequence[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in fragments)


def span_scores(results: Sequence[DocumentResult], keep_negated: bool = True) -> dict[str, float]:
    """Exact and overlap span precision, recall and F1, micro over documents.

    Example: ``span_scores(results)["exact_f1"]``
    """
    n_pred = n_gold = 0
    tp = {"exact": [0, 0], "overlap": [0, 0]}  # [matching predictions, matched gold]
    for result in results:
        preds = result.kept(keep_negated)
        spans = gold_spans(result.gold)
        bounds = {(f[0][0], f[-1][1]) for f in spans}
        pred_bounds = {(p.start, p.end) for p in preds}
        n_pred += len(preds)
        n_gold += len(spans)
        tp["exact"][0] += sum((p.start, p.end) in bounds for p in preds)
        tp["exact"][1] += sum((f[0][0], f[-1][1]) in pred_bounds for f in spans)
        tp["overlap"][0] += sum(any(_overlaps(p.start, p.end, f) for f in spans) for p in preds)
        tp["overlap"][1] += sum(any(_overlaps(p.start, p.end, f) for p in preds) for f in spans)
    out: dict[str, float] = {"predicted": n_pred, "gold": n_gold}
    for kind, (tp_pred, tp_gold) in tp.items():
        p, r, f = _prf(tp_pred, n_pred, tp_gold, n_gold)
        out |= {f"{kind}_precision": p, f"{kind}_recall": r, f"{kind}_f1": f}
    return out


def code_set_scores(
    results: Sequence[DocumentResult], resolution: str = "exact", keep_negated: bool = True
) -> dict[str, float]:
    """Micro precision, recall and F1 of each document's set of top-1 codes.

    Example: ``code_set_scores(results, "category")["f1"]``
    """
    key = RESOLUTIONS[resolution]
    tp = n_pred = n_gold = 0
    for result in results:
        predicted = {key(p.ranked[0]) for p in result.coded(keep_negated) if p.ranked}
        gold = {key(g.code) for g in result.gold}
        tp += len(predicted & gold)
        n_pred += len(predicted)
        n_gold += len(gold)
    p, r, f = _prf(tp, n_pred, tp, n_gold)
    return {"precision": p, "recall": r, "f1": f, "predicted": n_pred, "gold": n_gold}


def lenient_code_set_scores(
    results: Sequence[DocumentResult], invalid_gold: Collection[str], keep_negated: bool = True
) -> dict[str, float]:
    """Micro precision, recall and F1 of each document's set of top-1 codes at
    ``exact_lenient`` resolution: a gold code in ``invalid_gold`` (not valid in the catalog's
    edition) is also matched by any predicted code that extends it.

    Example: ``lenient_code_set_scores(results, {"R51"})["f1"]`` counts ``R51.9`` for ``R51``
    """
    tp_pred = tp_gold = n_pred = n_gold = 0
    for result in results:
        predicted = {p.ranked[0] for p in result.coded(keep_negated) if p.ranked}
        gold = {g.code for g in result.gold}

        def match(code: str, g: str) -> bool:
            return code == g or (g in invalid_gold and code.startswith(g))

        tp_pred += sum(any(match(code, g) for g in gold) for code in predicted)
        tp_gold += sum(any(match(code, g) for code in predicted) for g in gold)
        n_pred += len(predicted)
        n_gold += len(gold)
    p, r, f = _prf(tp_pred, n_pred, tp_gold, n_gold)
    return {"precision": p, "recall": r, "f1": f, "predicted": n_pred, "gold": n_gold}


def ranked_codes(predicted: Sequence[PredictedMention]) -> list[str]:
    """One ranking of a document's codes from its mentions' ranked lists.

    Order: best (lowest) rank in any mention, then more mentions with the code at that rank,
    then the earliest mention.

    Example: ``ranked_codes([PredictedMention(0, 1, ranked=("A", "B")),
    PredictedMention(5, 6, ranked=("B",))]) == ["B", "A"]``
    """
    best: dict[str, list] = {}  # code -> [best rank, -mentions at it, first start]
    for mention in sorted(predicted, key=lambda m: (m.start, m.end)):
        for rank, code in enumerate(dict.fromkeys(mention.ranked), 1):
            entry = best.get(code)
            if entry is None:
                best[code] = [rank, -1, mention.start]
            elif rank < entry[0]:
                entry[0], entry[1] = rank, -1
            elif rank == entry[0]:
                entry[1] -= 1
    return sorted(best, key=lambda code: tuple(best[code]))


def average_precision(ranked: Sequence[str], gold: set[str]) -> float:
    """Average precision of a ranking against a gold set (0.0 when ``gold`` is empty).

    Example: ``average_precision(["a", "x", "b"], {"a", "b"}) == (1 + 2 / 3) / 2``
    """
    if not gold:
        return 0.0
    hits = 0
    total = 0.0
    for i, item in enumerate(dict.fromkeys(ranked), 1):
        if item in gold:
            hits += 1
            total += hits / i
    return total / len(gold)


def mean_average_precision(
    results: Sequence[DocumentResult], resolution: str = "exact", keep_negated: bool = True
) -> float:
    """CodiEsp-D style MAP over documents with gold codes (see the module docstring)."""
    key = RESOLUTIONS[resolution]
    values = []
    for result in results:
        gold = {key(g.code) for g in result.gold}
        if not gold:
            continue
        ranking = [key(code) for code in ranked_codes(result.coded(keep_negated))]
        values.append(average_precision(ranking, gold))
    return float(np.mean(values)) if values else 0.0


def top1_on_overlaps(results: Sequence[DocumentResult]) -> dict[str, float]:
    """Top-1 accuracy of proposed predicted spans that overlap a gold span (exact and
    category)."""
    n = 0
    correct = {name: 0 for name in RESOLUTIONS}
    for result in results:
        for pred in result.coded(True):
            codes = {g.code for g in result.gold if _overlaps(pred.start, pred.end, g.fragments)}
            if not codes:
                continue
            n += 1
            if not pred.ranked:
                continue
            for name, key in RESOLUTIONS.items():
                correct[name] += key(pred.ranked[0]) in {key(c) for c in codes}
    return {"n": n, **{f"{name}_top1": correct[name] / n if n else 0.0 for name in RESOLUTIONS}}


def paired_bootstrap(
    before: Sequence[DocumentResult],
    after: Sequence[DocumentResult],
    metric: Callable[[Sequence[DocumentResult]], float],
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """How much ``after`` changes a figure over ``before`` (the same documents, in the same
    order): the difference on all documents and its 95% interval over documents resampled
    with replacement (each resample drawn once for both).

    Example: ``paired_bootstrap(a, b, lambda r: code_set_scores(r)["f1"])["low"] > 0``
    """
    if [r.doc_id for r in before] != [r.doc_id for r in after]:
        raise ValueError("paired_bootstrap needs the same documents in the same order")
    n = len(before)
    if not n:
        return {"difference": 0.0, "low": 0.0, "high": 0.0, "resamples": 0}
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        diffs.append(metric([after[i] for i in idx]) - metric([before[i] for i in idx]))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {"difference": metric(after) - metric(before), "low": float(low),
            "high": float(high), "resamples": resamples}


def latency(results: Sequence[DocumentResult]) -> dict[str, float]:
    """Seconds per document: p50, p95 and mean (0.0 without documents)."""
    seconds = np.array([r.seconds for r in results], dtype=float)
    if not seconds.size:
        return {"p50_s": 0.0, "p95_s": 0.0, "mean_s": 0.0}
    return {
        "p50_s": float(np.percentile(seconds, 50)),
        "p95_s": float(np.percentile(seconds, 95)),
        "mean_s": float(seconds.mean()),
    }


#: Why a gold (document, code) pair is or is not in the code set, tested in this order.
LOSS_REASONS = (
    "found",
    "code not valid in the edition",
    "no mention overlaps it",
    "overlapping mentions not proposed",
    "in an overlapping mention's top 5, not first",
    "a code of its category first",
    "another code first",
)


def gold_code_losses(
    results: Sequence[DocumentResult], invalid_gold: Collection[str] = ()
) -> dict[str, int]:
    """How many gold (document, code) pairs are found, and how many are lost for each of
    :data:`LOSS_REASONS` (negated mentions kept).

    Example: ``gold_code_losses(results, {"R51"})["no mention overlaps it"]``
    """
    counts = dict.fromkeys(LOSS_REASONS, 0)
    for result in results:
        predicted = {p.ranked[0] for p in result.coded(True) if p.ranked}
        for code in dict.fromkeys(g.code for g in result.gold):
            fragments = [f for g in result.gold if g.code == code for f in g.fragments]
            near = [p for p in result.predicted if _overlaps(p.start, p.end, fragments)]
            proposed = [p for p in near if p.proposed and p.ranked]
            if code in predicted:
                reason = LOSS_REASONS[0]
            elif code in invalid_gold:
                reason = LOSS_REASONS[1]
            elif not near:
                reason = LOSS_REASONS[2]
            elif not proposed:
                reason = LOSS_REASONS[3]
            elif any(code in p.ranked[:5] for p in proposed):
                reason = LOSS_REASONS[4]
            elif any(category_of(p.ranked[0]) == category_of(code) for p in proposed):
                reason = LOSS_REASONS[5]
            else:
                reason = LOSS_REASONS[6]
            counts[reason] += 1
    return counts


def score_documents(
    results: Sequence[DocumentResult], invalid_gold: Collection[str] | None = None
) -> dict[str, float]:
    """Every document-mode figure as one flat dict (keys ``kept_*`` / ``dropped_*`` for the
    negation variants, ``top1_overlap_*``, ``negated``, ``documents``, ``latency_*``); with
    ``invalid_gold`` (gold codes not valid in the catalog's edition) also the
    ``{kept,dropped}_code_exact_lenient_*`` code-set figures.

    Example: ``score_documents(results)["kept_span_overlap_f1"]``
    """
    out: dict[str, float] = {
        "documents": len(results),
        "mentions": sum(len(r.predicted) for r in results),
        "negated": sum(p.negated for r in results for p in r.predicted),
        "proposed": sum(p.proposed for r in results for p in r.predicted),
    }
    for mode, keep in (("kept", True), ("dropped", False)):
        for name, value in span_scores(results, keep).items():
            out[f"{mode}_span_{name}"] = value
        for resolution in RESOLUTIONS:
            for name, value in code_set_scores(results, resolution, keep).items():
                out[f"{mode}_code_{resolution}_{name}"] = value
            out[f"{mode}_map_{resolution}"] = mean_average_precision(results, resolution, keep)
        if invalid_gold is not None:
            for name, value in lenient_code_set_scores(results, invalid_gold, keep).items():
                out[f"{mode}_code_exact_lenient_{name}"] = value
    for name, value in top1_on_overlaps(results).items():
        out[f"top1_overlap_{name}"] = value
    for name, value in latency(results).items():
        out[f"latency_{name}"] = value
    return out
