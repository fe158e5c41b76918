"""Document-mode metrics on a tiny hand-made gold (every figure worked out by hand)."""

from __future__ import annotations

import pytest

from training.codiesp_documents import GoldMention, parse_offsets
from training.document_metrics import (
    DocumentResult,
    PredictedMention,
    average_precision,
    code_set_scores,
    gold_code_losses,
    gold_spans,
    latency,
    lenient_code_set_scores,
    mean_average_precision,
    paired_bootstrap,
    ranked_codes,
    score_documents,
    span_scores,
    top1_on_overlaps,
)

GOLD = (
    GoldMention("I10", ((0, 10),)),
    GoldMention("R50.9", ((20, 26),)),
    GoldMention("J18.9", ((30, 38),)),
    GoldMention("N39.0", ((50, 55), (60, 65))),  # discontinuous
    GoldMention("I12.0", ((0, 10),)),  # the same span coded twice
)
PREDICTED = (
    PredictedMention(0, 10, False, ("I10", "I12.0")),  # exact span, right code
    PredictedMention(20, 30, False, ("R50.0",)),  # overlaps, right category only
    PredictedMention(40, 45, False, ("K35.80",)),  # spurious
    PredictedMention(60, 63, True, ("N39.0",)),  # negated, overlaps a fragment
)
DOC = DocumentResult("doc-1", GOLD, PREDICTED, seconds=0.2)


def test_parse_offsets() -> None:
    assert parse_offsets("540 583") == ((540, 583),)
    assert parse_offsets("955 964;556 575") == ((556, 575), (955, 964))
    assert parse_offsets("752 767;1320 1320;1320 1335") == ((752, 767), (1320, 1335))
    for bad in ("", "1", "5 2", "a b", "3 3"):
        with pytest.raises(ValueError):
            parse_offsets(bad)


def test_gold_spans_are_distinct() -> None:
    assert len(gold_spans(GOLD)) == 4


def test_span_scores_with_negated_kept() -> None:
    s = span_scores([DOC])
    assert (s["predicted"], s["gold"]) == (4, 4)
    assert s["exact_precision"] == pytest.approx(1 / 4)
    assert s["exact_recall"] == pytest.approx(1 / 4)
    assert s["exact_f1"] == pytest.approx(1 / 4)
    assert s["overlap_precision"] == pytest.approx(3 / 4)
    assert s["overlap_recall"] == pytest.approx(3 / 4)


def test_span_scores_with_negated_dropped() -> None:
    s = span_scores([DOC], keep_negated=False)
    assert s["predicted"] == 3
    assert s["exact_precision"] == pytest.approx(1 / 3)
    assert s["overlap_precision"] == pytest.approx(2 / 3)
    assert s["overlap_recall"] == pytest.approx(2 / 4)


def test_code_sets() -> None:
    exact = code_set_scores([DOC], "exact")
    assert (exact["precision"], exact["recall"]) == pytest.approx((2 / 4, 2 / 5))
    assert exact["f1"] == pytest.approx(2 * 0.5 * 0.4 / 0.9)
    category = code_set_scores([DOC], "category")
    assert (category["precision"], category["recall"]) == pytest.approx((3 / 4, 3 / 5))
    dropped = code_set_scores([DOC], "exact", keep_negated=False)
    assert (dropped["precision"], dropped["recall"]) == pytest.approx((1 / 3, 1 / 5))


def test_lenient_code_sets_let_a_child_match_a_gold_code_of_an_older_edition() -> None:
    gold = (GoldMention("R51", ((0, 7),)), GoldMention("T14.8", ((10, 18),)),
            GoldMention("I10", ((20, 30),)))
    predicted = (PredictedMention(0, 7, False, ("R51.9",)),
                 PredictedMention(10, 18, False, ("T14.8XXA",)),
                 PredictedMention(20, 30, False, ("I10.9",)),  # I10 is valid: no leniency
                 PredictedMention(40, 45, False, ("R51.8",)))
    doc = DocumentResult("doc-3", gold, predicted)
    assert code_set_scores([doc], "exact")["f1"] == 0.0
    lenient = lenient_code_set_scores([doc], {"R51", "T14.8"})
    # R51.9, T14.8XXA and R51.8 match a gold code; R51 and T14.8 are matched, I10 is not
    assert (lenient["precision"], lenient["recall"]) == pytest.approx((3 / 4, 2 / 3))
    # with every gold code valid it is the exact figure
    assert lenient_code_set_scores([DOC], set()) == code_set_scores([DOC], "exact")
    scores = score_documents([doc], invalid_gold={"R51", "T14.8"})
    assert scores["kept_code_exact_lenient_recall"] == pytest.approx(2 / 3)
    assert "kept_code_exact_lenient_f1" not in score_documents([doc])


def test_gold_code_losses_give_each_pair_one_reason() -> None:
    gold = (
        GoldMention("I10", ((0, 10),)),  # found
        GoldMention("R51", ((12, 18),)),  # not valid in the edition
        GoldMention("J18.9", ((20, 28),)),  # no mention near it
        GoldMention("E11.9", ((30, 40),)),  # its mention is not proposed
        GoldMention("N39.0", ((42, 50),)),  # second in its mention's list
        GoldMention("K35.80", ((52, 60),)),  # K35.89 first: its category
        GoldMention("M54.50", ((62, 70), (80, 85))),  # another code first (second fragment)
    )
    predicted = (
        PredictedMention(0, 10, False, ("I10",)),
        PredictedMention(12, 18, False, ("R51.9",)),
        PredictedMention(30, 40, False, ("E11.9",), proposed=False),
        PredictedMention(42, 50, False, ("R30.0", "N39.0")),
        PredictedMention(52, 60, True, ("K35.89",)),  # negated mentions count
        PredictedMention(81, 84, False, ("G89.29",)),
    )
    losses = gold_code_losses([DocumentResult("doc-4", gold, predicted)], {"R51"})
    assert list(losses.values()) == [1, 1, 1, 1, 1, 1, 1]
    assert sum(gold_code_losses([DOC]).values()) == len({g.code for g in GOLD})


def test_ranked_codes_put_top1_codes_first() -> None:
    assert ranked_codes(PREDICTED) == ["I10", "R50.0", "K35.80", "N39.0", "I12.0"]
    # at equal best rank, a code more mentions agree on comes first
    two = (PredictedMention(0, 1, ranked=("A", "B")), PredictedMention(5, 6, ranked=("B", "A")),
           PredictedMention(9, 10, ranked=("B",)))
    assert ranked_codes(two) == ["B", "A"]


def test_average_precision_and_map() -> None:
    assert average_precision(["a", "x", "b"], {"a", "b"}) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(["x"], {"a"}) == 0.0
    assert average_precision(["a"], set()) == 0.0
    assert mean_average_precision([DOC], "exact") == pytest.approx((1 + 2 / 4 + 3 / 5) / 5)
    # category: I10, R50, K35, N39, I12 against {I10, R50, J18, N39, I12}
    expected = (1 + 2 / 2 + 3 / 4 + 4 / 5) / 5
    assert mean_average_precision([DOC], "category") == pytest.approx(expected)
    no_gold = DocumentResult("empty", (), PREDICTED)
    assert mean_average_precision([DOC, no_gold], "exact") == mean_average_precision([DOC])


def test_top1_on_overlapping_spans() -> None:
    t = top1_on_overlaps([DOC])
    assert t["n"] == 3
    assert t["exact_top1"] == pytest.approx(2 / 3)
    assert t["category_top1"] == pytest.approx(1.0)


def test_score_documents_and_latency() -> None:
    other = DocumentResult("doc-2", (GoldMention("I10", ((0, 3),)),), (), seconds=0.4)
    scores = score_documents([DOC, other])
    assert scores["documents"] == 2 and scores["mentions"] == 4 and scores["negated"] == 1
    assert scores["kept_span_gold"] == 5
    assert scores["dropped_span_predicted"] == 3
    assert scores["kept_map_exact"] == pytest.approx(((1 + 2 / 4 + 3 / 5) / 5 + 0) / 2)
    assert scores["latency_p50_s"] == pytest.approx(0.3)
    assert latency([]) == {"p50_s": 0.0, "p95_s": 0.0, "mean_s": 0.0}
    empty = score_documents([])
    assert empty["kept_span_exact_f1"] == 0.0 and empty["kept_map_exact"] == 0.0


def test_paired_bootstrap_brackets_the_difference() -> None:
    worse = DocumentResult("doc-1", GOLD, PREDICTED[2:])
    other = DocumentResult("doc-2", (GoldMention("I10", ((0, 3),)),),
                           (PredictedMention(0, 3, False, ("I10",)),))
    before, after = [worse, other], [DOC, other]

    def f1(results):
        return code_set_scores(results)["f1"]

    boot = paired_bootstrap(before, after, f1, resamples=200)
    assert boot["difference"] == pytest.approx(f1(after) - f1(before))
    assert boot["low"] <= boot["difference"] <= boot["high"] and boot["resamples"] == 200
    assert paired_bootstrap(before, before, f1, resamples=50)["high"] == 0.0
    with pytest.raises(ValueError):
        paired_bootstrap([other], [DOC], f1)


def test_an_unproposed_mention_counts_for_spans_not_for_codes() -> None:
    shown = PredictedMention(40, 45, False, ("K35.80",), proposed=False)  # spurious, held back
    held = DocumentResult("doc-1", GOLD, (*PREDICTED[:2], shown, PREDICTED[3]))
    spans, codes = span_scores([held]), code_set_scores([held])
    assert spans == span_scores([DOC])  # the same spans are shown
    # the spurious K35.80 no longer counts: 2 of 3 predicted codes are right (I10, N39.0)
    assert codes["predicted"] == 3 and codes["precision"] == pytest.approx(2 / 3)
    assert code_set_scores([DOC])["precision"] == pytest.approx(2 / 4)
    assert "K35.80" not in ranked_codes(held.coded(True))
    assert top1_on_overlaps([held]) == top1_on_overlaps([DOC])  # it overlapped no gold
    assert score_documents([held])["proposed"] == 3
