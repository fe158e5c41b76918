"""The document evaluation and the statistics builder: end to end on a tiny corpus, and the
CodiEsp files when ../shared/data is present."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.document.lexicon import Lexicon, SpotterStats, default_stats_path
from app.document.spotter import SpotterConfig
from app.search.abbreviations import AbbreviationTable
from app.search.pipeline import PipelineConfig
from training import document_lexicon, evaluate_documents
from training.codiesp_documents import DEFAULT_CODIESP, read_documents
from training.evaluate import CONFIGS, RANKER_CONFIGS

TEXTS = {
    "case-1": "Mujer con hipertensión arterial. No presenta fiebre.",
    "case-2": "Dolor abdominal y neumonía. Sin signos de infección.",
}
GOLD = [
    ("case-1", "DIAGNOSTICO", "i10", "hipertensión arterial", "10 31"),
    ("case-1", "DIAGNOSTICO", "r50.9", "fiebre", "45 51"),
    ("case-1", "PROCEDIMIENTO", "bt41zzz", "ecografía", "0 5"),
    ("case-2", "DIAGNOSTICO", "r10.9", "Dolor abdominal", "0 15"),
    ("case-2", "DIAGNOSTICO", "j18.9", "neumonía", "18 26"),
    ("case-2", "DIAGNOSTICO", "b99.9", "signos infección", "32 38;42 51"),
]


def _corpus(root: Path, split: str) -> Path:
    folder = root / split / "text_files"
    folder.mkdir(parents=True)
    for doc_id, text in TEXTS.items():
        (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    rows = ["\t".join(row) for row in GOLD]
    (root / split / f"{split}X.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def test_tiny_corpus_reads_with_offsets(tmp_path: Path) -> None:
    docs = read_documents(_corpus(tmp_path, "dev"), "dev")
    assert [d.doc_id for d in docs] == ["case-1", "case-2"]
    assert [g.code for g in docs[0].gold] == ["I10", "R50.9"]
    rows = [r for r in GOLD if r[1] == "DIAGNOSTICO"]
    pairs = [(d, g) for d in docs for g in d.gold]
    assert len(pairs) == len(rows)
    for (doc, g), row in zip(pairs, rows, strict=True):
        if g.contiguous:
            assert doc.text[g.start : g.end] == row[3]
    assert not docs[1].gold[2].contiguous


def test_evaluation_end_to_end(tmp_path: Path, catalog_path: Path) -> None:
    root = _corpus(tmp_path / "codiesp", "dev")
    out = tmp_path / "out"
    out.mkdir()
    chosen = {"detector_min_inside": 0.4, "mention_min_precision": 0.5,
              "overlap_precision": 0.86, "overlap_recall": 0.83, "overlap_f1": 0.845}
    (out / evaluate_documents.THRESHOLDS_FILE).write_text(json.dumps(
        {"rule": "best F1", "folds": 5, "documents": 500, "chosen": chosen,
         "grid": [chosen, {**chosen, "detector_min_inside": None, "overlap_f1": 0.83}]}),
        "utf-8")
    code = evaluate_documents.main(
        ["--codiesp", str(root), "--out", str(out), "--catalog", str(catalog_path),
         "--retriever", "bm25+aliases", "--top-k", "3"]
    )
    assert code == 0
    payload = json.loads((out / "metrics.json").read_text("utf-8"))
    with_detector = payload["config"]["detector_model"] is not None  # bundled or trained
    assert payload["chosen"] == (evaluate_documents.DEFAULT_VARIANT if with_detector
                                 else evaluate_documents.LEXICON_VARIANT)
    lexical = {n for n, c in evaluate_documents.VARIANTS.items() if c.detector == "off"}
    assert set(payload["variants"]) == (
        set(evaluate_documents.VARIANTS) if with_detector else lexical)
    assert payload["negation_testset"]["sentences"] >= 150
    metrics = payload["variants"]["lexicon+filter+extend"]["metrics"]
    assert metrics["documents"] == 2 and metrics["kept_span_gold"] == 5
    # every contiguous gold mention of this tiny case is in the train alias lexicon
    assert metrics["kept_span_exact_recall"] == pytest.approx(4 / 5)
    assert metrics["kept_code_exact_recall"] >= 0.8
    assert metrics["negated"] == 2
    assert metrics["dropped_span_exact_recall"] < metrics["kept_span_exact_recall"]
    # every gold code of the tiny corpus is valid in the catalog: lenient is exact
    assert payload["data"]["invalid_gold_codes"] == 0
    assert metrics["kept_code_exact_lenient_f1"] == metrics["kept_code_exact_f1"]
    assert payload["config"]["second_stage"] == "none"  # bm25+aliases: no second stage
    if with_detector:
        # without a calibrated confidence no detector-only mention is kept: the default
        # codes what the lexicon spotter finds
        default = payload["variants"][evaluate_documents.DEFAULT_VARIANT]["metrics"]
        assert default["kept_code_exact_f1"] == metrics["kept_code_exact_f1"]
        assert payload["config"]["lexicon_cpu_alone"]["p50_s"] > 0
        boot = payload["default_vs_lexicon"]["codes exact F1"]
        assert boot["difference"] == 0.0 and boot["low"] <= 0.0 <= boot["high"]
    assert set(payload["code_set_policies"]) == set(evaluate_documents.CODE_SET_POLICIES)
    # every gold pair is found or lost for one reason; coding the gold spans themselves
    # finds at least what any spotter's mentions find
    losses = payload["gold_code_losses"]
    assert sum(losses.values()) == payload["data"]["gold_codes"]
    assert losses["found"] / sum(losses.values()) == pytest.approx(
        payload["variants"][payload["chosen"]]["metrics"]["kept_code_exact_recall"])
    perfect = payload["gold_spans"]["gold spans"]
    assert perfect["mentions"] == 5 and perfect["kept_code_exact_recall"] >= 0.8
    report = (out / "report.md").read_text("utf-8")
    assert "## Where the gold codes go" in report and "| gold spans |" in report
    assert "# Document mode on CodiEsp dev" in report and "p50" in report
    assert "## Negation and uncertainty test set" in report
    if with_detector:  # the thresholds chosen on train are reported
        assert payload["detector_thresholds"]["chosen"] == chosen
        assert "min_inside 0.4, min_precision 0.5" in report and "| Viterbi | 0.5 |" in report
        assert "| **0.4** | 0.5 |" in report
        assert payload["default_vs_previous"] is not None


def test_the_default_pipeline_is_the_apps() -> None:
    # the app opens PipelineConfig() (hybrid, aliases, second stage); the evaluation the same
    # with train-only aliases, and the learned ranker when the bundle has it
    config = CONFIGS[evaluate_documents.DEFAULT_RETRIEVER](("codiesp-train",))
    assert replace(config, alias_sources=None) == PipelineConfig()
    assert evaluate_documents.DEFAULT_RETRIEVER in RANKER_CONFIGS


def test_the_timed_variant_is_the_app_default() -> None:
    assert evaluate_documents.VARIANTS[evaluate_documents.DEFAULT_VARIANT] == SpotterConfig()
    assert set(evaluate_documents.VARIANT_NOTES) == set(evaluate_documents.VARIANTS)


def test_statistics_builder_refuses_dev() -> None:
    with pytest.raises(SystemExit):
        document_lexicon.main(["--split", "dev"])


def test_statistics_builder_on_a_tiny_corpus(tmp_path: Path, catalog_path: Path) -> None:
    root = _corpus(tmp_path / "codiesp", "train")
    out = tmp_path / "stats.tsv"
    assert document_lexicon.main(
        ["--codiesp", str(root), "--catalog", str(catalog_path), "--out", str(out)]
    ) == 0
    stats = SpotterStats.read(out)
    fiebre = stats.phrases["fiebre"]
    assert (fiebre.seen, fiebre.exact, fiebre.covered) == (1, 1, 1)
    assert stats.words["hipertension"].exact == 1
    assert stats.words["arterial"].covered == 1 and stats.words["arterial"].exact == 0
    assert stats.following["arterial"].covered == 1  # goes on with "hipertensión"


shared = pytest.mark.skipif(
    not (DEFAULT_CODIESP / "dev" / "devX.tsv").exists(), reason="no ../shared/data/codiesp"
)


@pytest.mark.shared
@shared
def test_codiesp_dev_offsets_index_the_texts() -> None:
    docs = read_documents(DEFAULT_CODIESP, "dev")
    assert len(docs) == 250
    gold = [(d, g) for d in docs for g in d.gold if g.contiguous]
    assert all(0 <= g.start < g.end <= len(d.text) for d, g in gold)


@pytest.mark.shared
@shared
def test_bundled_statistics_are_reproducible_from_train(store) -> None:
    docs = read_documents(DEFAULT_CODIESP, "train")
    stats = document_lexicon.learn_stats(docs, Lexicon.from_store(store),
                                         AbbreviationTable.default())
    assert stats == SpotterStats.read(default_stats_path())
