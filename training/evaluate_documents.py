"""Measure document mode on CodiEsp dev: spotting, negation, coding and time per note.

    python -m training.evaluate_documents [--codiesp ../shared/data/codiesp]
        [--out training/reports/codiesp-dev/documents] [--retriever hybrid+ranker]
        [--catalog DB] [--detector MODEL] [--limit N]

Every dev case text goes through ``app.document`` as the app runs it: the pipeline comes from
``app.search.bundle.open_pipeline`` as the app opens it (``hybrid+ranker``, the default: the
full hybrid first stage and the learned ranker when the bundle has them; the report says
which second stage ran) and is scored against the ``DIAGNOSTICO`` rows of ``dev/devX.tsv``
(definitions in ``training.document_metrics``; ``exact_lenient`` code sets count a child of a
gold code that is not valid in the catalog's edition). The spotter variants of
:data:`VARIANTS` are all measured; the app's default (:data:`DEFAULT_VARIANT`,
``SpotterConfig()``) is timed end to end, the others reuse its search results. Writes
``metrics.json`` and ``report.md``. Evaluation hygiene as in ``training.evaluate``: the
catalog holds CodiEsp **train** aliases only and the spotter statistics come from train
(``python -m training.document_lexicon``); dev is only read here.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from app.catalog.default import alias_source, build_default_catalog
from app.catalog.store import CatalogStore
from app.document.analyse import DocumentAnalyzer, is_proposed, load_stats
from app.document.detector import MODEL_FILE, default_model_path
from app.document.lexicon import STATS_FILE, SpotterStats
from app.document.records import auto_accepted
from app.document.spotter import SpotterConfig
from app.document.types import CodedMention
from app.search.bundle import open_pipeline
from app.search.pipeline import SearchPipeline
from training.codiesp_documents import DEFAULT_CODIESP, Document, read_documents
from training.document_metrics import (
    LOSS_REASONS,
    DocumentResult,
    PredictedMention,
    code_set_scores,
    gold_code_losses,
    gold_spans,
    latency,
    lenient_code_set_scores,
    mean_average_precision,
    paired_bootstrap,
    score_documents,
)
from training.evaluate import CONFIGS, RANKER_CONFIGS
from training.mention_detector import RUN_MODEL
from training.negation_testset import read_cases, report_lines, score

log = logging.getLogger(__name__)

SPLIT = "dev"
ALIAS_SPLITS = ("train",)
DEFAULT_OUT = Path("training/reports/codiesp-dev/documents")
#: ``training.detector_thresholds``' result, in the output folder.
THRESHOLDS_FILE = "detector_thresholds.json"
#: The search configuration that codes mentions: the app's (``PipelineConfig()``: hybrid first
#: stage, learned ranker when bundled), with train-only aliases.
DEFAULT_RETRIEVER = "hybrid+ranker"

#: Settings that give a variant the spans and code gate from before the detector thresholds
#: were chosen on train (``python -m training.detector_thresholds``): Viterbi spans, no train
#: filter after detection, no code floor for lexicon mentions.
_BEFORE = {"detector_min_inside": None, "mention_min_precision": 0.0, "code_min_confidence": 0.0}
#: The default from before: its detector-only mentions under the code floor are left out.
PREVIOUS_DEFAULT = "lexicon+crf, code conf >= 0.5"

#: Spotter variants measured, each adding to the one before; see :data:`VARIANT_NOTES`.
VARIANTS: dict[str, SpotterConfig] = {
    "aliases": SpotterConfig(
        name="aliases", titles=False, abbreviations=False, min_precision=0.0, min_exact=0.0,
        extend=False, detector="off", **_BEFORE,
    ),
    "lexicon": SpotterConfig(name="lexicon", min_precision=0.0, min_exact=0.0, extend=False,
                             detector="off", **_BEFORE),
    "lexicon+filter": SpotterConfig(name="lexicon+filter", extend=False, detector="off",
                                    **_BEFORE),
    "lexicon+filter+extend": SpotterConfig(name="lexicon+filter+extend", detector="off",
                                           **_BEFORE),
    "lexicon+filter+extend+triggers": SpotterConfig(
        name="lexicon+filter+extend+triggers", triggers=True, detector="off", **_BEFORE
    ),
    "lexicon+filter+extend+plurals": SpotterConfig(
        name="lexicon+filter+extend+plurals", fold_plurals=True, detector="off", **_BEFORE
    ),
    "crf": SpotterConfig(name="crf", detector="crf", detector_min_code_confidence=0.0,
                         **_BEFORE),
    "crf+lexicon": SpotterConfig(name="crf+lexicon", detector="crf+lexicon",
                                 detector_min_code_confidence=0.0, **_BEFORE),
    "lexicon+crf": SpotterConfig(name="lexicon+crf", detector="lexicon+crf",
                                 detector_min_code_confidence=0.0, **_BEFORE),
    "lexicon+crf@0.8": SpotterConfig(name="lexicon+crf@0.8", detector="lexicon+crf",
                                     detector_min_confidence=0.8,
                                     detector_min_code_confidence=0.0, **_BEFORE),
    PREVIOUS_DEFAULT: SpotterConfig(name=PREVIOUS_DEFAULT, drop_unproposed=True, **_BEFORE),
    "lexicon+crf, code conf < 0.5 shown": SpotterConfig(
        name="lexicon+crf, code conf < 0.5 shown", **_BEFORE),
    "+ train filter": SpotterConfig(
        name="+ train filter", detector_min_inside=None, code_min_confidence=0.0),
    "+ marginal spans": SpotterConfig(name="+ marginal spans", code_min_confidence=0.0),
    "crf~ (marginal spans, train filter)": SpotterConfig(
        name="crf~ (marginal spans, train filter)", detector="crf",
        detector_min_code_confidence=0.0, code_min_confidence=0.0),
    "+ code conf >= 0.2": SpotterConfig(name="+ code conf >= 0.2", code_min_confidence=0.2),
    "+ code conf >= 0.3": SpotterConfig(),
    "+ code conf >= 0.4": SpotterConfig(name="+ code conf >= 0.4", code_min_confidence=0.4),
}
#: The app's default (``SpotterConfig()``): timed end to end, the others reuse its searches.
DEFAULT_VARIANT = "+ code conf >= 0.3"
#: The lexicon spotter alone (the default before the detector shipped): its time per note is
#: measured too.
LEXICON_VARIANT = "lexicon+filter+extend"

#: What each variant adds, for the report.
VARIANT_NOTES = {
    "aliases": "CodiEsp train aliases only, longest match, no statistics",
    "lexicon": "+ Spanish titles (and short forms) + abbreviations whose expansion is in the "
    "lexicon",
    "lexicon+filter": "+ drop phrases that train says are seldom mentions (overlap < "
    "min_precision, or exact < min_exact and not extended)",
    "lexicon+filter+extend": "+ extend phrases that are usually part of a longer mention over "
    "words that usually continue one",
    "lexicon+filter+extend+triggers": "+ start mentions at head words that usually begin one",
    "lexicon+filter+extend+plurals": "+ match singular/plural forms (crude Spanish plural folding)",
    "crf": "the learned detector alone (a CRF trained on CodiEsp train spans, "
    "`python -m training.mention_detector`; `app/document/detector.py`)",
    "crf+lexicon": "the learned detector's spans, plus the default spotter's spans that overlap "
    "none of them (union)",
    "lexicon+crf": "the default spotter's spans, plus the learned detector's spans that overlap "
    "none of them (union)",
    "lexicon+crf@0.8": "the same, adding only detector spans of confidence >= 0.8",
    PREVIOUS_DEFAULT: "the previous default: lexicon+crf, keeping a detector-only mention only "
    "when its best code's calibrated confidence is >= 0.5",
    "lexicon+crf, code conf < 0.5 shown": "the same, but a detector-only mention under 0.5 is "
    "shown for review (span figures count it) instead of left out; its code is not proposed "
    "(code figures as before)",
    "+ train filter": "+ drop a mention of either source whose text (a lexicon phrase or a "
    "single word) overlapped a gold mention in < `mention_min_precision` of its train "
    "occurrences (spotter statistics, train only)",
    "+ marginal spans": "+ the detector's spans read from its per-word marginals (a word is "
    "inside when P(B) + P(I) >= `detector_min_inside`) instead of the Viterbi tags; both "
    "thresholds chosen by cross-validation on train (`python -m training.detector_thresholds`)",
    "crf~ (marginal spans, train filter)": "the learned detector alone, with the marginal spans "
    "and the train filter",
    "+ code conf >= 0.2": "+ any mention whose best code's calibrated confidence is < 0.2 is "
    "shown but not proposed (`code_min_confidence`)",
    "+ code conf >= 0.3": "the same with 0.3 (the default)",
    "+ code conf >= 0.4": "the same with 0.4",
}


#: A search result as cached: (codes, best code's confidence or None).
Coded = tuple[tuple[str, ...], float | None]


def cached_search(pipeline: SearchPipeline, cache: dict, text: str, top_k: int) -> Coded:
    """``text``'s codes and best confidence, searched once per ``cache`` (text -> result)."""
    if text not in cache:
        results = pipeline.search(text, top_k=top_k)
        cache[text] = (tuple(r.code for r in results),
                       results[0].confidence if results else None)
    return cache[text]


def predicted(coded: CodedMention) -> PredictedMention:
    """The analyser's coded mention as the metrics read it."""
    m = coded.mention
    return PredictedMention(m.start, m.end, m.negated, tuple(r.code for r in coded.results),
                            coded.proposed)


def predictions(analyzer: DocumentAnalyzer, text: str, search: Callable[[str], Coded]
                ) -> tuple[PredictedMention, ...]:
    """A variant's mentions of one text, coded through ``search`` (mention text -> codes and
    confidence), each proposed or not as the app decides
    (``app.document.analyse.is_proposed``; left out with ``drop_unproposed``)."""
    cfg = analyzer.spotter.config
    out = []
    for m in analyzer.find_mentions(text):
        codes, confidence = search(m.text)
        proposed = is_proposed(m, (confidence,) if codes else (),
                               cfg.detector_min_code_confidence, cfg.code_min_confidence)
        if proposed or not cfg.drop_unproposed:
            out.append(PredictedMention(m.start, m.end, m.negated, codes, proposed))
    return tuple(out)


#: Which of the default variant's mentions give the document's code set, and why; each keeps a
#: mention (its note, its coded mention) or not. CodiEsp codes negated findings, so the
#: app's starting decision is also measured with negated mentions kept.
CODE_SET_POLICIES: dict[str, tuple[str, Callable[[str, CodedMention], bool]]] = {
    "every proposed mention": ("the default: every proposed mention's best code",
                               lambda note, c: True),
    "accepted": (
        "only mentions that start accepted in the app and `code-documents` (not negated, "
        "whole words, best code valid and not of *baja* confidence)", auto_accepted),
    "accepted or negated": (
        "the same rule, negated mentions judged as if affirmed",
        lambda note, c: auto_accepted(note, replace(c, mention=replace(c.mention, negated=False)))),
    "confidence >= 0.2": (
        "mentions whose best code's calibrated confidence is at least 0.2",
        lambda note, c: bool(c.results) and (c.results[0].confidence or 0.0) >= 0.2),
    "confidence >= 0.4": (
        "at least 0.4 (*media* or *alta*)",
        lambda note, c: bool(c.results) and (c.results[0].confidence or 0.0) >= 0.4),
}


def run_timed(
    analyzer: DocumentAnalyzer, docs: Sequence[Document], top_k: int, cache: dict,
    alone: bool = True, policies: dict[str, list[DocumentResult]] | None = None,
    cpu: list[float] | None = None,
) -> list[DocumentResult]:
    """Analyse every document end to end, timing each; fills ``cache`` (text -> codes).

    ``alone``: each note is timed as the first of a session (the analyser's remembered
    searches are dropped before it); otherwise as in a batch (``cielo code-documents``, the
    desktop app), where mention texts of earlier notes are not searched again. ``policies``
    (name -> results) is filled with each :data:`CODE_SET_POLICIES` entry's mentions;
    ``cpu`` with each note's CPU seconds (all threads of this process: what the note costs
    however busy the machine is).
    """
    results = []
    analyzer.forget_searches()
    for doc in docs:
        if alone:
            analyzer.forget_searches()
        start, cpu_start = time.perf_counter(), time.process_time()
        analysis = analyzer.analyse(doc.text, top_k)
        seconds = time.perf_counter() - start
        if cpu is not None:
            cpu.append(time.process_time() - cpu_start)
        preds = [predicted(coded) for coded in analysis.mentions]
        for coded, pred in zip(analysis.mentions, preds, strict=True):
            cache[coded.mention.text] = (
                pred.ranked, coded.results[0].confidence if coded.results else None)
        results.append(DocumentResult(doc.doc_id, doc.gold, tuple(preds), seconds))
        if policies is not None:
            for name, (_, keep) in CODE_SET_POLICIES.items():
                kept = tuple(p for p, c in zip(preds, analysis.mentions, strict=True)
                             if keep(doc.text, c))
                policies.setdefault(name, []).append(DocumentResult(doc.doc_id, doc.gold, kept))
    return results


def run_variant(
    pipeline: SearchPipeline,
    config: SpotterConfig,
    stats: SpotterStats,
    docs: Sequence[Document],
    top_k: int,
    cache: dict,
    detector: Path | None = None,
) -> list[DocumentResult]:
    """Spot with one variant and code through the shared search cache; the time recorded
    per note is spotting alone (mentions, negation, uncertainty), not coding."""
    analyzer = DocumentAnalyzer(pipeline, config=config, stats=stats, detector_model=detector)

    def search(text: str) -> Coded:
        return cached_search(pipeline, cache, text, top_k)

    out = []
    for doc in docs:
        start = time.perf_counter()
        analyzer.find_mentions(doc.text)  # spotting alone, timed
        seconds = time.perf_counter() - start
        out.append(DocumentResult(doc.doc_id, doc.gold, predictions(analyzer, doc.text, search),
                                  seconds))
    return out


def gold_span_results(pipeline: SearchPipeline, docs: Sequence[Document], top_k: int,
                      cache: dict, floor: float) -> list[DocumentResult]:
    """Every gold span as a mention (a perfect detector), coded through the shared search
    cache, proposed when its best code's calibrated confidence reaches ``floor``: what the
    coder makes of the right stretches of text."""
    out = []
    for doc in docs:
        preds = []
        for fragments in gold_spans(doc.gold):
            text = " ".join(doc.text[s:e] for s, e in fragments)
            codes, confidence = cached_search(pipeline, cache, text, top_k)
            preds.append(PredictedMention(
                fragments[0][0], fragments[-1][1], False, codes,
                bool(codes) and (confidence is None or confidence >= floor)))
        out.append(DocumentResult(doc.doc_id, doc.gold, tuple(preds)))
    return out


#: The gold-span rows: name -> (what it is, code confidence floor or None for the default's).
GOLD_SPAN_ROWS = {
    "gold spans": ("every gold span coded, its best code proposed whatever its confidence",
                   0.0),
    "gold spans, default floor": ("the same, proposed only when the best code reaches the "
                                  "default's `code_min_confidence`", None),
}


def read_thresholds(path: Path) -> dict | None:
    """``training.detector_thresholds``' result, or None when it has not been run."""
    if not path.exists():
        log.warning("no %s: run python -m training.detector_thresholds", path)
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def invalid_codes(store: CatalogStore, docs: Sequence[Document]) -> set[str]:
    """The gold codes of ``docs`` that are not valid codes of the catalog's edition (CodiEsp
    codes with CIE-10-ES 2018: ``R51`` is ``R51.9`` in ICD-10-CM 2026)."""
    codes = sorted({g.code for d in docs for g in d.gold})
    records = store.get_many(codes)
    return {c for c in codes if c not in records or not records[c].valid}


def model_label(detector: Path | None) -> str | None:
    """The detector's model file as the report names it: the bundled one relative to the
    resources folder, any other as given."""
    if detector is None:
        return None
    if detector.resolve() == default_model_path().resolve():
        return str(Path("resources") / MODEL_FILE)
    return str(detector)


def compare(before: Sequence[DocumentResult], after: Sequence[DocumentResult],
            invalid_gold: set[str]) -> dict[str, dict[str, float]]:
    """Paired bootstrap (``training.document_metrics.paired_bootstrap``, 1,000 resamples of
    the notes) of the code-set F1s and exact MAP, ``after`` minus ``before``."""
    figures = {
        "codes exact F1": lambda r: code_set_scores(r, "exact")["f1"],
        "codes exact-lenient F1": lambda r: lenient_code_set_scores(r, invalid_gold)["f1"],
        "codes category F1": lambda r: code_set_scores(r, "category")["f1"],
        "MAP exact": lambda r: mean_average_precision(r, "exact"),
    }
    return {name: paired_bootstrap(before, after, metric) for name, metric in figures.items()}


def cpu_percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and mean of per-note CPU seconds (0.0 without notes)."""
    if not seconds:
        return {"p50_s": 0.0, "p95_s": 0.0, "mean_s": 0.0}
    values = np.array(seconds, dtype=float)
    return {"p50_s": float(np.percentile(values, 50)), "p95_s": float(np.percentile(values, 95)),
            "mean_s": float(values.mean())}


def second_stage(pipeline: SearchPipeline) -> str:
    """What orders the first stage's candidates: ``learned ranker``, ``cross-encoder`` or
    ``none``."""
    if pipeline.ranker is not None:
        return "learned ranker"
    return "cross-encoder" if pipeline.reranker is not None else "none"


def data_facts(docs: Sequence[Document]) -> dict[str, int]:
    """Counts that bound what a contiguous, non-overlapping spotter can reach."""
    spans = [(doc, s) for doc in docs for s in gold_spans(doc.gold)]
    contiguous = [(d.doc_id, s[0]) for d, s in spans if len(s) == 1]
    nested = 0
    by_doc: dict[str, list[tuple[int, int]]] = {}
    for doc_id, bounds in contiguous:
        by_doc.setdefault(doc_id, []).append(bounds)
    for bounds in by_doc.values():
        nested += sum(
            any(j != i and s2 < e and s < e2 for j, (s2, e2) in enumerate(bounds))
            for i, (s, e) in enumerate(bounds)
        )
    return {
        "documents": len(docs),
        "gold_mentions": sum(len(d.gold) for d in docs),
        "gold_spans": len(spans),
        "discontinuous_spans": len(spans) - len(contiguous),
        "overlapping_contiguous_spans": nested,
        "gold_codes": sum(len({g.code for g in d.gold}) for d in docs),
    }


#: Figures the report names a best variant for.
BEST_OF = (
    ("span exact F1", "kept_span_exact_f1"),
    ("span overlap F1", "kept_span_overlap_f1"),
    ("codes exact F1", "kept_code_exact_f1"),
    ("codes exact-lenient F1", "kept_code_exact_lenient_f1"),
    ("codes category F1", "kept_code_category_f1"),
    ("MAP exact", "kept_map_exact"),
    ("MAP category", "kept_map_category"),
)


def _f(value: float) -> str:
    return f"{value:.3f}"


def _lenient(metrics: dict, mode: str) -> str:
    """``P / R / F1`` at exact_lenient resolution, or a dash when not measured."""
    if f"{mode}_code_exact_lenient_f1" not in metrics:
        return "-"
    return " / ".join(_f(metrics[f"{mode}_code_exact_lenient_{x}"])
                      for x in ("precision", "recall", "f1"))


def threshold_lines(selection: dict) -> list[str]:
    """The report's lines on the detector thresholds chosen on train
    (``training.detector_thresholds``' JSON)."""
    chosen = selection["chosen"]
    lines = [
        "", "Detector thresholds (`detector_min_inside`, `mention_min_precision`), chosen "
        f"without dev by `python -m training.detector_thresholds`: {selection['rule']}, "
        f"{selection['folds']} folds over {selection['documents']} train notes, each fold "
        "spotted and detected by a CRF, statistics and aliases from the other folds "
        f"(`{THRESHOLDS_FILE}`). Chosen: min_inside {chosen['detector_min_inside']}, "
        f"min_precision {chosen['mention_min_precision']} (train span overlap P / R / F1 "
        f"{_f(chosen['overlap_precision'])} / {_f(chosen['overlap_recall'])} / "
        f"{_f(chosen['overlap_f1'])}). The grid around it (the chosen row in bold):", "",
        "| min_inside | min_precision | train span overlap P / R / F1 |", "|---|---|---|",
    ]
    for row in selection["grid"]:
        inside, floor = row["detector_min_inside"], row["mention_min_precision"]
        if inside != chosen["detector_min_inside"] and floor != chosen["mention_min_precision"]:
            continue
        mark = "**" if (inside, floor) == (chosen["detector_min_inside"],
                                          chosen["mention_min_precision"]) else ""
        lines.append(f"| {mark}{'Viterbi' if inside is None else inside}{mark} | {floor} "
                     f"| {_f(row['overlap_precision'])} / {_f(row['overlap_recall'])} / "
                     f"{_f(row['overlap_f1'])} |")
    return lines


def bootstrap_lines(against: str, differences: dict) -> list[str]:
    """The report's lines on a paired bootstrap of the default against ``against``."""
    lines = ["", f"The default against {against}, paired bootstrap over the notes (1,000 "
             "resamples): difference [95% interval]", ""]
    for label, b in differences.items():
        lines.append(f"- {label}: {b['difference']:+.4f} [{b['low']:+.4f}, {b['high']:+.4f}]")
    return lines


def loss_lines(payload: dict, chosen: str) -> list[str]:
    """The report's section on where the default loses gold codes, and what the same coding
    makes of the gold spans themselves."""
    losses = payload.get("gold_code_losses")
    if not losses:
        return []
    total = sum(losses.values())
    lines = [
        "",
        f"## Where the gold codes go (default variant `{chosen}`, negated mentions kept)",
        "",
        f"Each of the {total} gold (document, code) pairs, found or lost for the first reason "
        "that applies (`training.document_metrics.gold_code_losses`):",
        "",
        "| gold pairs | n | share |",
        "|---|---|---|",
    ]
    lines += [f"| {reason} | {losses[reason]} | {_f(losses[reason] / total)} |"
              for reason in LOSS_REASONS if reason in losses]
    rows = payload.get("gold_spans") or {}
    if rows:
        lines += [
            "",
            "The same pipeline coding the gold spans themselves (a perfect detector: each gold "
            "span's fragments joined, searched as a mention):",
            "",
            "| mentions | proposed | codes exact P / R / F1 | codes exact-lenient P / R / F1 "
            "| codes category P / R / F1 |",
            "|---|---|---|---|---|",
        ]
        for name, v in rows.items():
            lines.append(
                f"| {name} | {int(v['proposed'])} | "
                + " | ".join(
                    " / ".join(_f(v[f"kept_code_{res}_{x}"]) for x in ("precision", "recall",
                                                                       "f1"))
                    for res in ("exact", "exact_lenient", "category"))
                + " |")
        lines += [""] + [f"- {name}: {GOLD_SPAN_ROWS[name][0]}" for name in rows
                         if name in GOLD_SPAN_ROWS]
    return lines


def render_report(payload: dict) -> str:
    """The Markdown report of a ``metrics.json`` payload."""
    chosen = payload["chosen"]
    variants = payload["variants"]
    facts = payload["data"]
    config = payload["config"]
    m = variants[chosen]["metrics"]
    lines = [
        "# Document mode on CodiEsp dev",
        "",
        "Generated by `python -m training.evaluate_documents`. Definitions: "
        "`training/document_metrics.py`.",
        "",
        f"- Data: {facts['documents']} dev case texts, {facts['gold_mentions']} gold diagnosis "
        f"rows = {facts['gold_spans']} distinct gold spans ({facts['discontinuous_spans']} "
        f"discontinuous, {facts['overlapping_contiguous_spans']} contiguous spans overlapping "
        f"another: a contiguous, non-overlapping spotter cannot match these exactly), "
        f"{facts['gold_codes']} (document, code) pairs, {facts.get('invalid_gold_pairs', 0)} of "
        f"them with a code that is not valid in the catalog's edition "
        f"({facts.get('invalid_gold_codes', 0)} distinct codes: CodiEsp coded with CIE-10-ES "
        "2018, e.g. `R51`, `M54.5`, `T14.8`; only `exact_lenient` lets a valid code match them).",
        f"- Pipeline: `{config['retriever']}` ({config['pipeline_note'] or 'dense stage loaded'};"
        f" second stage: {config.get('second_stage', 'not recorded')}), as the app and "
        f"`cielo code-documents` open it; top {config['top_k']} codes per mention, catalog "
        f"{config['catalog_edition']} with aliases from CodiEsp "
        f"{', '.join(config['alias_splits'])} only.",
        f"- Spotter statistics: `{config['stats_file']}`, learned from CodiEsp train only "
        "(`python -m training.document_lexicon`).",
        f"- Machine: {config['machine']}, Python {config['python']}; evaluation wall time "
        f"{config['wall_s']:.0f} s.",
        "",
        "## Spotter variants (negated mentions kept)",
        "",
        "Span figures count every mention shown; code figures only the proposed ones (a "
        "mention whose best code is too uncertain is shown for review, its code not proposed).",
        "",
        "| variant | mentions | proposed | negated | span exact P / R / F1 "
        "| span overlap P / R / F1 "
        "| codes exact P / R / F1 | codes exact-lenient P / R / F1 | codes category F1 "
        "| MAP exact | MAP category | top-1 on overlaps (exact / category) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in variants.items():
        v = entry["metrics"]
        k = "kept"
        lines.append(
            f"| {name}{' (default)' if name == chosen else ''} | {int(v['mentions'])} | "
            f"{int(v.get('proposed', v['mentions']))} | {int(v['negated'])} | "
            f"{_f(v[f'{k}_span_exact_precision'])} / {_f(v[f'{k}_span_exact_recall'])} / "
            f"{_f(v[f'{k}_span_exact_f1'])} | "
            f"{_f(v[f'{k}_span_overlap_precision'])} / {_f(v[f'{k}_span_overlap_recall'])} / "
            f"{_f(v[f'{k}_span_overlap_f1'])} | "
            f"{_f(v[f'{k}_code_exact_precision'])} / {_f(v[f'{k}_code_exact_recall'])} / "
            f"{_f(v[f'{k}_code_exact_f1'])} | {_lenient(v, k)} | "
            f"{_f(v[f'{k}_code_category_f1'])} | "
            f"{_f(v[f'{k}_map_exact'])} | {_f(v[f'{k}_map_category'])} | "
            f"{_f(v['top1_overlap_exact_top1'])} / {_f(v['top1_overlap_category_top1'])} |"
        )
    lines += ["", "What each variant adds:", ""]
    lines += [f"- `{name}`: {VARIANT_NOTES.get(name, '')}" for name in variants]
    lines += ["", "Best variant per figure (negated kept):", ""]
    for label, key in BEST_OF:
        if key not in m:
            continue
        best = max(variants, key=lambda name: variants[name]["metrics"][key])
        lines.append(f"- {label}: `{best}` ({_f(variants[best]['metrics'][key])}; default "
                     f"{_f(m[key])})")
    if payload.get("default_vs_previous"):
        lines += bootstrap_lines(f"the previous default (`{PREVIOUS_DEFAULT}`)",
                                 payload["default_vs_previous"])
    if payload.get("detector_thresholds"):
        lines += threshold_lines(payload["detector_thresholds"])
    if payload.get("default_vs_lexicon"):
        lines += bootstrap_lines(f"the lexicon spotter alone (`{LEXICON_VARIANT}`)",
                                 payload["default_vs_lexicon"])
    lines += [
        "",
        f"## Default variant `{chosen}`: negated mentions kept vs dropped",
        "",
        f"{int(m['negated'])} of {int(m['mentions'])} mentions are marked negated. CodiEsp "
        "codes negated findings too (a disease after \"no antecedentes de\" keeps its code), so "
        "dropping them loses recall.",
        "",
        "| negated | mentions | span exact P / R / F1 | span overlap P / R / F1 "
        "| codes exact P / R / F1 | codes category P / R / F1 | codes exact-lenient P / R / F1 "
        "| MAP exact | MAP category |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k in ("kept", "dropped"):
        lines.append(
            f"| {k} | {int(m[f'{k}_span_predicted'])} | "
            + " | ".join(
                " / ".join(_f(m[f"{k}_{part}_{x}"]) for x in ("precision", "recall", "f1"))
                for part in ("span_exact", "span_overlap", "code_exact", "code_category")
            )
            + f" | {_lenient(m, k)}"
            + f" | {_f(m[f'{k}_map_exact'])} | {_f(m[f'{k}_map_category'])} |"
        )
    if payload.get("code_set_policies"):
        lines += [
            "",
            f"## Which mentions give the code set (default variant `{chosen}`)",
            "",
            "| mentions kept | mentions | codes exact P / R / F1 | codes exact-lenient P / R / F1 "
            "| codes category P / R / F1 |",
            "|---|---|---|---|---|",
        ]
        for name, v in payload["code_set_policies"].items():
            lines.append(
                f"| {name} | {int(v['mentions'])} | "
                + " | ".join(
                    " / ".join(_f(v[f"kept_code_{res}_{x}"]) for x in ("precision", "recall", "f1"))
                    if f"kept_code_{res}_f1" in v else "-"
                    for res in ("exact", "exact_lenient", "category"))
                + " |")
        lines += [""] + [f"- {name}: {CODE_SET_POLICIES[name][0]}"
                         for name in payload["code_set_policies"] if name in CODE_SET_POLICIES]
    lines += loss_lines(payload, chosen)
    lines += [
        "",
        "## Time per note (default variant, spotting + coding, end to end)",
        "",
        f"- Each note alone (the first of a session: every mention text searched): p50 "
        f"{m['latency_p50_s'] * 1000:.0f} ms, p95 {m['latency_p95_s'] * 1000:.0f} ms, "
        f"mean {m['latency_mean_s'] * 1000:.0f} ms over {int(m['documents'])} notes.",
    ]
    if "batch_latency" in config:
        b = config["batch_latency"]
        lines.append(
            f"- In a batch (the notes in order, as `cielo code-documents` and the desktop app "
            f"run them: the analyser remembers searches, so a mention text of an earlier note "
            f"is not searched again): p50 {b['p50_s'] * 1000:.0f} ms, p95 "
            f"{b['p95_s'] * 1000:.0f} ms, mean {b['mean_s'] * 1000:.0f} ms.")
    if "cpu_alone" in config:
        a, b = config["cpu_alone"], config["cpu_batch"]
        lines.append(
            f"- CPU time per note (this process, all its threads: what a note costs on an idle "
            f"machine, at most, however busy this one was): alone p50 {a['p50_s'] * 1000:.0f} "
            f"ms, p95 {a['p95_s'] * 1000:.0f} ms; in a batch p50 {b['p50_s'] * 1000:.0f} ms, "
            f"p95 {b['p95_s'] * 1000:.0f} ms.")
    lexicon_timed = variants.get(LEXICON_VARIANT, {}).get("metrics", {})
    if config.get("lexicon_cpu_alone") and chosen != LEXICON_VARIANT:
        c = config["lexicon_cpu_alone"]
        lines.append(
            f"- The lexicon spotter alone (`{LEXICON_VARIANT}`, each note alone): wall p50 "
            f"{lexicon_timed['latency_p50_s'] * 1000:.0f} ms, p95 "
            f"{lexicon_timed['latency_p95_s'] * 1000:.0f} ms; CPU p50 {c['p50_s'] * 1000:.0f} "
            f"ms, p95 {c['p95_s'] * 1000:.0f} ms.")
    load = config.get("load_average")
    lines += [
        f"- Spotter resources opened in {config['open_ms']:.0f} ms, once per session."
        + (f" Load average when the run started (1/5/15 min): "
           f"{' / '.join(f'{x:.1f}' for x in load)} on {config['machine']}: other jobs share "
           "the machine, so these are upper bounds." if load else ""),
        "",
    ]
    lines += [
        "Spotting alone (mentions, negation, uncertainty; no coding) per variant, p50 / p95:",
        "",
    ]
    for name, entry in variants.items():
        v = entry["metrics"]
        if name not in (chosen, LEXICON_VARIANT):
            lines.append(f"- `{name}`: {v['latency_p50_s'] * 1000:.1f} / "
                         f"{v['latency_p95_s'] * 1000:.1f} ms")
    lines.append("")
    if payload.get("negation_testset"):
        lines += ["## Negation and uncertainty test set", ""]
        lines += report_lines(payload["negation_testset"])
        lines.append("")
    lines += [f"{line}" for line in payload.get("notes", [])]
    return "\n".join(lines).rstrip() + "\n"


NOTES = [
    "## Reading the numbers",
    "",
    "- The spotter is a lexicon + rules spotter; its lexicon is the catalog's aliases (coded "
    "CodiEsp train mentions) and Spanish titles, so dev mentions never seen in train are "
    "found only through titles, abbreviations and (variant) head words.",
    "- Exact span recall is bounded by discontinuous and nested gold spans (see Data); overlap "
    "figures say how often a coder is shown the right stretch of text.",
    "- Code sets use each proposed mention's top-1 code only; MAP uses every proposed "
    "mention's ranked list merged per document. A mention is shown but not proposed when its "
    "best code is too uncertain (the default: calibrated confidence < 0.3, or < 0.5 for a "
    "mention only the learned detector found); it does not start accepted in the app or in "
    "`cielo code-documents`, and span figures count it (a coder sees that stretch of text "
    "highlighted, with its candidate codes).",
    "- Code editions: the learned ranker proposes codes valid in the catalog's edition "
    "(ICD-10-CM 2026: `R51.9`, `T14.8XXA`, `M54.50`); CodiEsp was coded with CIE-10-ES 2018 "
    "(`R51`, `T14.8`, `M54.5`, not valid for submission today). `exact` counts such a pair as "
    "a miss; the first stage alone (`--retriever hybrid`) also proposes non-billable parent "
    "codes and so matches some of them. `exact-lenient` lets a valid code extending an "
    "outdated gold code match it, as `exact_lenient` in the mention-level reports "
    "(`training.metrics`); category figures are unaffected.",
    "- Variants other than the default and the lexicon spotter reuse their search results "
    "(same pipeline, same mention text -> same codes), so only those two are timed end to end.",
    "- The default fuses the learned detector with the lexicon spotter: the spotter's mentions, "
    "plus the detector's where the spotter found none, the detector's spans read from its "
    "per-word marginal probabilities, and mentions of either source dropped when train says "
    "their text is seldom a mention (both thresholds chosen by cross-validation on train, "
    "above, never on dev). Detector-only mentions whose best code is under 0.5 are shown, not "
    "proposed (the previous default left them out: the same code figures, lower span recall); "
    "any mention whose best code is under 0.3 is not proposed either. The code thresholds "
    "(0.5 from before, 0.3 among 0.2 / 0.3 / 0.4) were picked on dev, so the code figures are "
    "slightly optimistic, by about the size of the differences between those variants.",
    "- The detector thresholds' selection rule was first the best train F1 among the points "
    "reaching both targets (min_inside 0.35, min_precision 0.7; on dev span overlap P / R "
    "0.859 / 0.820, recall 0.0002 under the target); it became the margin rule after that was "
    "seen, so the rule, though not the thresholds, was informed by dev.",
    "- The spotter's own thresholds (`SpotterConfig`: `min_precision`, `min_exact`, extension) "
    "were picked on dev earlier; the lexicon, statistics and detector never saw dev.",
    "- Tried and left out (measured on dev while choosing, differences in code exact F1): "
    "also coding the spotter's and the detector's overlapping spans both (+0.004, but "
    "overlapping mentions); re-searching a one-word mention widened over the next words of its "
    "phrase and keeping the more confident code (+0.004, about 5 more searches per note); "
    "keeping one code per category (-0.016); dropping an unspecified code when a sibling is "
    "coded (-0.006); a higher-recall detector (min_inside 0.1 or 0.3) whose extra mentions "
    "need a confident code (no gain).",
    "- Negation is rule-based (NegEx-style cues, pseudo-cues and terminators in "
    "`app/document/negation.py`; uncertainty with the same scopes in "
    "`app/document/uncertainty.py`); CodiEsp has no negation gold, so its accuracy is "
    "measured on the project's own test set above (written by the rules' author: an "
    "optimistic check), and here only its effect on the figures.",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate_documents",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--codiesp", type=Path, default=DEFAULT_CODIESP,
                        help="CodiEsp corpus root (holds dev/text_files and dev/devX.tsv).")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Output folder.")
    parser.add_argument("--retriever", default=DEFAULT_RETRIEVER, choices=sorted(CONFIGS),
                        help="Search configuration that codes the mentions (training.evaluate; "
                             "default: the app's, with the learned ranker when bundled).")
    parser.add_argument("--top-k", type=int, default=5, help="Codes per mention.")
    parser.add_argument("--catalog", type=Path,
                        help="A catalog with CodiEsp train aliases only (default: build one, "
                             "about 10 s).")
    parser.add_argument("--detector", type=Path,
                        help="The mention detector's model for the crf variants (default: the "
                             "bundled resources/document/mentions.crfsuite, else "
                             f"{RUN_MODEL} from python -m training.mention_detector; "
                             "without either the crf variants are left out).")
    parser.add_argument("--limit", type=int, help="Only the first N documents (smoke runs).")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    wall = time.perf_counter()
    load_average = os.getloadavg()

    detector = args.detector or next(
        (p for p in (default_model_path(), RUN_MODEL) if p.exists()), None)
    variants = {
        name: config for name, config in VARIANTS.items()
        if config.detector == "off" or detector is not None
    }
    if detector is None:
        log.warning("no mention detector model: the crf variants are left out and the "
                    "lexicon spotter stands for the default (python -m training.mention_detector)")
    chosen = DEFAULT_VARIANT if detector is not None else LEXICON_VARIANT
    docs = read_documents(args.codiesp, SPLIT)[: args.limit]
    sources = tuple(alias_source(s) for s in ALIAS_SPLITS)
    with tempfile.TemporaryDirectory() as tmp:
        catalog = args.catalog
        if catalog is None:
            catalog = Path(tmp) / "catalog.db"
            log.info("building a catalog with aliases from %s", ", ".join(ALIAS_SPLITS))
            build_default_catalog(catalog, alias_splits=ALIAS_SPLITS)
        store = CatalogStore(catalog)
        pipeline, note = open_pipeline(store, CONFIGS[args.retriever](sources))
        if note:
            log.warning("%s", note)
        if args.retriever in RANKER_CONFIGS and pipeline.ranker is None:
            log.warning("no learned ranker in the bundle: %s is measured without it",
                        args.retriever)
        invalid_gold = invalid_codes(store, docs)
        pipeline.search("warm up", top_k=args.top_k)
        stats = load_stats()
        start = time.perf_counter()
        default = DocumentAnalyzer(pipeline, config=VARIANTS[chosen], stats=stats,
                                   detector_model=detector)
        open_ms = (time.perf_counter() - start) * 1000
        cache: dict[str, Coded] = {}
        log.info("variant %s (timed) on %d documents", chosen, len(docs))
        policies: dict[str, list[DocumentResult]] = {}
        cpu_alone: list[float] = []
        timed = run_timed(default, docs, args.top_k, cache, policies=policies, cpu=cpu_alone)
        log.info("variant %s timed again as a batch", chosen)
        cpu_batch: list[float] = []
        batch = latency(run_timed(default, docs, args.top_k, {}, alone=False, cpu=cpu_batch))
        all_results = {chosen: timed}
        lexicon_cpu: list[float] = []
        if chosen != LEXICON_VARIANT:
            log.info("variant %s (timed) on %d documents", LEXICON_VARIANT, len(docs))
            lexical = DocumentAnalyzer(pipeline, config=VARIANTS[LEXICON_VARIANT], stats=stats)
            all_results[LEXICON_VARIANT] = run_timed(lexical, docs, args.top_k, cache,
                                                     cpu=lexicon_cpu)
        for name, config in variants.items():
            if name in all_results:
                continue
            log.info("variant %s", name)
            all_results[name] = run_variant(pipeline, config, stats, docs, args.top_k, cache,
                                            detector)
        gold_span_metrics = {}
        for name, (_, floor) in GOLD_SPAN_ROWS.items():
            floor = VARIANTS[chosen].code_min_confidence if floor is None else floor
            results = gold_span_results(pipeline, docs, args.top_k, cache, floor)
            gold_span_metrics[name] = {
                k: v for k, v in score_documents(results, invalid_gold).items()
                if k.startswith("kept_code_") or k in ("mentions", "proposed")}
        edition = store.edition
        store.close()

    payload = {
        "config": {
            "split": SPLIT,
            "alias_splits": list(ALIAS_SPLITS),
            "retriever": args.retriever,
            "pipeline": pipeline.config.describe(),
            "pipeline_note": note,
            "second_stage": second_stage(pipeline),
            "top_k": args.top_k,
            "catalog_edition": edition,
            "stats_file": str(Path("resources") / STATS_FILE),
            "detector_model": model_label(detector),
            "open_ms": open_ms,
            "batch_latency": batch,
            "cpu_alone": cpu_percentiles(cpu_alone),
            "cpu_batch": cpu_percentiles(cpu_batch),
            "lexicon_cpu_alone": cpu_percentiles(lexicon_cpu) if lexicon_cpu else None,
            "load_average": load_average,
            "wall_s": time.perf_counter() - wall,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        },
        "data": {**data_facts(docs), "invalid_gold_codes": len(invalid_gold),
                 "invalid_gold_pairs": sum(
                     len({g.code for g in d.gold} & invalid_gold) for d in docs)},
        "chosen": chosen,
        "variants": {
            name: {
                "spotter": asdict(VARIANTS[name]),
                "metrics": score_documents(results, invalid_gold),
            }
            for name, results in sorted(all_results.items(),
                                        key=lambda item: list(variants).index(item[0]))
        },
        "gold_code_losses": gold_code_losses(all_results[chosen], invalid_gold),
        "gold_spans": gold_span_metrics,
        "code_set_policies": {
            name: {k: v for k, v in score_documents(results, invalid_gold).items()
                   if k.startswith("kept_code_") or k == "mentions"}
            for name, results in policies.items()
        },
        "default_vs_previous": (
            compare(all_results[PREVIOUS_DEFAULT], all_results[chosen], invalid_gold)
            if PREVIOUS_DEFAULT in all_results and chosen != PREVIOUS_DEFAULT else None),
        "detector_thresholds": read_thresholds(args.out / THRESHOLDS_FILE),
        "default_vs_lexicon": (
            compare(all_results[LEXICON_VARIANT], all_results[chosen], invalid_gold)
            if chosen != LEXICON_VARIANT else None),
        "negation_testset": score(read_cases()),
        "notes": NOTES,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(payload, indent=2) + "\n", "utf-8")
    report = render_report(payload)
    (args.out / "report.md").write_text(report, "utf-8")
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
