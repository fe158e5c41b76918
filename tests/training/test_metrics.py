"""Hand-written gold/pred cases for training.metrics (pure functions, no models)."""

from __future__ import annotations

import math

import pytest

from training.metrics import (
    DEFAULT_KS,
    ErrorClass,
    MentionResult,
    Resolution,
    classify_miss,
    error_breakdown,
    first_match_rank,
    score,
)

CHAPTERS = {"S72": "19", "I10": "9", "I21": "9", "I50": "9", "W19": "20", "E11": "4"}
RESOLUTIONS = [str(r) for r in Resolution]
SUBSETS = ("all", "unseen", "seen")


def chapter_of(code: str) -> str | None:
    return CHAPTERS.get(code[:3])


def mention(
    gold: str,
    ranked: tuple[str, ...] | list[str] = (),
    *,
    seen: bool = False,
    latency_ms: float = 1.0,
    gold_valid: bool = True,
) -> MentionResult:
    return MentionResult(f"mention for {gold}", gold, tuple(ranked), seen, latency_ms, gold_valid)


GOLDS = ["S72.001A", "I10", "I21.9", "E11.9", "W19.XXXA"]


def copy_predictor(golds: list[str], seen: bool = False) -> list[MentionResult]:
    """Like xmen's CopyLinker: the gold code first, then distractors."""
    return [mention(g, (g, "I50.9", "E11.65"), seen=seen) for g in golds]


def null_predictor(golds: list[str]) -> list[MentionResult]:
    """Like xmen's NullLinker: no candidates at all."""
    return [mention(g) for g in golds]


def test_perfect_predictor_scores_one_everywhere():
    m = score(copy_predictor(GOLDS), chapter_of)
    for subset in ("all", "unseen"):
        for res in RESOLUTIONS:
            assert m[f"{subset}_{res}_top1"] == 1.0
            assert m[f"{subset}_{res}_map@10"] == 1.0
            for k in DEFAULT_KS:
                assert m[f"{subset}_{res}_r@{k}"] == 1.0
                assert m[f"{subset}_{res}_p@{k}"] == pytest.approx(1.0 / k)
    assert m["all_empty_rate"] == 0.0
    assert m["all_exact_unreachable"] == 0


def test_null_predictor_scores_zero_and_empty_rate_one():
    m = score(null_predictor(GOLDS), chapter_of)
    assert m["all_n"] == len(GOLDS)
    assert m["all_empty_rate"] == 1.0
    assert m["unseen_empty_rate"] == 1.0
    for res in RESOLUTIONS:
        assert m[f"all_{res}_top1"] == 0.0
        assert m[f"all_{res}_map@10"] == 0.0
        for k in DEFAULT_KS:
            assert m[f"all_{res}_p@{k}"] == 0.0
            assert m[f"all_{res}_r@{k}"] == 0.0


def test_correct_at_rank_two():
    m = score([mention("I10", ("I50.9", "I10", "E11.9"))], chapter_of)
    assert m["all_exact_top1"] == 0.0
    assert m["all_exact_map@10"] == 0.5
    assert m["all_exact_r@1"] == 0.0
    assert m["all_exact_r@2"] == 1.0
    assert m["all_exact_p@2"] == 0.5
    assert m["all_exact_p@3"] == pytest.approx(1 / 3)
    # I50 and I10 are both chapter 9: the chapter is right at rank 1.
    assert m["all_chapter_top1"] == 1.0


def test_category_dedup_counts_repeated_category_once():
    result = mention("I10", ("S72.001A", "S72.002A", "I10"))
    assert first_match_rank(result, Resolution.EXACT, chapter_of) == 3
    assert first_match_rank(result, "category", chapter_of) == 2
    m = score([result], chapter_of)
    assert m["all_exact_map@10"] == pytest.approx(1 / 3)
    assert m["all_category_map@10"] == 0.5
    assert m["all_category_r@1"] == 0.0
    assert m["all_category_r@2"] == 1.0
    assert m["all_category_p@2"] == 0.5
    assert m["all_exact_r@2"] == 0.0


def test_chapter_resolution_uses_chapter_of_and_dedups():
    # S72 (19), S72 (19), I10 (9): chapter list deduplicates to [19, 9].
    result = mention("I21.9", ("S72.001A", "S72.002A", "I10"))
    assert first_match_rank(result, "category", chapter_of) is None
    assert first_match_rank(result, "chapter", chapter_of) == 2
    m = score([result], chapter_of)
    assert m["all_category_top1"] == 0.0
    assert m["all_chapter_top1"] == 0.0
    assert m["all_chapter_map@10"] == 0.5


def test_unknown_chapter_never_matches_and_is_not_merged():
    # Z99 and Y01 have no chapter: each keeps its own position, so I10 is third.
    result = mention("I21.9", ("Z99.0", "Y01", "I10"))
    assert first_match_rank(result, "chapter", chapter_of) == 3
    assert first_match_rank(mention("Z99.0", ("Z99.0",)), "chapter", chapter_of) is None


def test_lenient_seventh_character():
    invalid = mention("W19.XXX", ("W19.XXXD", "W19.XXXA"), gold_valid=False)
    exact_copy = mention("W19.XXX", ("W19.XXX",), gold_valid=False)
    m = score([invalid, exact_copy], chapter_of)
    assert m["all_exact_unreachable"] == 2
    assert m["all_exact_top1"] == 0.0
    assert m["all_exact_r@10"] == 0.0
    assert m["all_exact_lenient_top1"] == 1.0
    assert m["all_exact_lenient_map@10"] == 1.0
    # Two matching children, one relevant item: precision stays r@k / k.
    assert m["all_exact_lenient_p@2"] == 0.5
    assert m["all_category_top1"] == 1.0
    assert m["all_chapter_top1"] == 1.0


def test_lenient_gives_no_leniency_to_valid_gold():
    result = mention("S72.001", ("S72.001A",))  # treated as valid: must match exactly
    assert first_match_rank(result, "exact_lenient", chapter_of) is None
    assert first_match_rank(result, "category", chapter_of) == 1


def test_seen_unseen_split_counts_and_subset_scores():
    results = [
        mention("I10", ("I10",), seen=True),
        mention("E11.9", ("E11.9",), seen=True),
        mention("S72.001A", ("S72.001A",), seen=True),
        mention("I21.9", ("I10",), seen=False),
        mention("W19.XXX", (), seen=False, gold_valid=False),
    ]
    m = score(results, chapter_of)
    assert (m["all_n"], m["seen_n"], m["unseen_n"]) == (5, 3, 2)
    assert m["seen_exact_top1"] == 1.0
    assert m["unseen_exact_top1"] == 0.0
    assert m["unseen_chapter_top1"] == 0.5
    assert m["all_exact_top1"] == pytest.approx(3 / 5)
    assert m["unseen_empty_rate"] == 0.5
    assert m["seen_empty_rate"] == 0.0
    assert (m["all_exact_unreachable"], m["unseen_exact_unreachable"]) == (1, 1)
    assert m["seen_exact_unreachable"] == 0


def test_empty_subset_is_zero_not_nan():
    m = score(copy_predictor(["I10", "E11.9"], seen=True), chapter_of)
    assert m["unseen_n"] == 0
    assert m["unseen_exact_top1"] == 0.0
    assert m["unseen_latency_p95_ms"] == 0.0
    assert all(math.isfinite(v) for v in m.values())
    assert all(math.isfinite(v) for v in score([], chapter_of).values())


def test_p_and_r_at_k_by_hand():
    # Mention A: gold at rank 1; mention B: gold at rank 3; mention C: gold absent.
    results = [
        mention("I10", ("I10", "E11.9")),
        mention("E11.9", ("I10", "I50.9", "E11.9")),
        mention("S72.001A", ("I10",)),
    ]
    m = score(results, chapter_of, ks=(1, 2, 3, 10))
    assert m["all_exact_r@1"] == pytest.approx(1 / 3)
    assert m["all_exact_r@2"] == pytest.approx(1 / 3)
    assert m["all_exact_r@3"] == pytest.approx(2 / 3)
    assert m["all_exact_r@10"] == pytest.approx(2 / 3)
    assert m["all_exact_p@1"] == pytest.approx(1 / 3)
    assert m["all_exact_p@2"] == pytest.approx((1 / 2) / 3)
    assert m["all_exact_p@3"] == pytest.approx((1 / 3 + 1 / 3) / 3)
    assert m["all_exact_p@10"] == pytest.approx((0.1 + 0.1) / 3)
    assert m["all_exact_map@10"] == pytest.approx((1 + 1 / 3) / 3)
    assert "all_exact_p@4" not in m


def test_map_is_cut_at_ten():
    ranked = tuple(f"E11.{i}" for i in range(10)) + ("I10",)
    m = score([mention("I10", ranked)], chapter_of)
    assert m["all_exact_map@10"] == 0.0
    assert m["all_exact_r@10"] == 0.0


def test_key_names():
    m = score(copy_predictor(["I10"]), chapter_of, ks=(1, 5))
    expected = set()
    for subset in SUBSETS:
        expected |= {
            f"{subset}_{name}"
            for name in (
                "n",
                "empty_rate",
                "exact_unreachable",
                "latency_p50_ms",
                "latency_p95_ms",
                "latency_mean_ms",
            )
        }
        for res in RESOLUTIONS:
            expected |= {
                f"{subset}_{res}_{metric}"
                for metric in ("top1", "map@10", "p@1", "r@1", "p@5", "r@5")
            }
    assert set(m) == expected


def test_invalid_cutoff_raises():
    with pytest.raises(ValueError, match=">= 1"):
        score(copy_predictor(["I10"]), chapter_of, ks=(0, 1))


def test_latency_percentiles():
    results = [
        mention("I10", ("I10",), latency_ms=ms, seen=ms > 25) for ms in (10.0, 20.0, 30.0, 40.0)
    ]
    m = score(results, chapter_of)
    assert m["all_latency_p50_ms"] == pytest.approx(25.0)
    assert m["all_latency_p95_ms"] == pytest.approx(38.5)  # 10 + 0.95 * 3 * 10
    assert m["all_latency_mean_ms"] == pytest.approx(25.0)
    assert m["unseen_latency_p50_ms"] == pytest.approx(15.0)
    assert m["seen_latency_mean_ms"] == pytest.approx(35.0)


def test_ranked_list_is_coerced_to_tuple():
    result = MentionResult("hta", "I10", ["I10"], True, 1.0)  # type: ignore[arg-type]
    assert result.ranked == ("I10",)


def test_error_breakdown_categories():
    results = [
        mention("I10", ("I10",)),  # hit: not counted
        mention("I10", ()),  # empty
        mention("S72.001A", ("S72.002A",)),  # sibling
        mention("S72.001A", ("S72",)),  # specificity: category instead of full code
        mention("S72.0", ("S72.001A",)),  # specificity: more specific than gold
        mention("W19.XXX", ("W19.XXXA",), gold_valid=False),  # unreachable gold -> specificity
        mention("I10", ("I21.9",)),  # other category, same chapter
        mention("I10", ("S72.001A",)),  # other chapter
        mention("I10", ("Z99.0",)),  # unknown chapter -> other chapter
    ]
    counts = error_breakdown(results, chapter_of)
    assert counts == {
        "empty": 1,
        "specificity": 3,
        "sibling": 1,
        "other_category_same_chapter": 1,
        "other_chapter": 2,
    }
    assert classify_miss(results[0], chapter_of) is None
    assert classify_miss(results[2], chapter_of) is ErrorClass.SIBLING


def test_error_breakdown_has_every_class_when_all_hit():
    counts = error_breakdown(copy_predictor(GOLDS), chapter_of)
    assert set(counts) == {str(c) for c in ErrorClass}
    assert sum(counts.values()) == 0
