"""Calibrate the first stage's confidence on CodiEsp dev: ``resources/calibration.json``.

    python -m training.calibrate [--resources resources] [--out training/reports/confidence]

The hybrid first stage (train-only aliases, as the evaluation runs it) proposes its best
``--head`` candidates for every dev diagnosis mention; the weights of
``app.search.confidence.FEATURES`` and a "none of these" logit are fitted by maximum
likelihood (the gold code's softmax share when it is in the head, the null's when not).
The report gives cross-fitted figures (weights fitted on one half of the dev documents,
measured on the other): the reliability of the top result's confidence, how often it is
right at each named level, and what ``cielo code-mentions --min-confidence`` keeps and
abstains on at a few thresholds. The weights written are those fitted on all of dev.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.catalog.aliases import read_codiesp_mentions
from app.catalog.default import alias_source, build_default_catalog, codiesp_file
from app.catalog.store import CatalogStore
from app.search.bundle import open_pipeline
from app.search.confidence import (
    CALIBRATION_FILE,
    FEATURES,
    FirstStageCalibration,
    softmax_with_null,
)
from app.search.pipeline import PipelineConfig
from training.metrics import by_level, document_halves, nll_with_null, reliability
from training.report import confidence_tables

log = logging.getLogger(__name__)

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Heads:
    """Per mention: the head's features (padded), which rows exist, the gold row (or the
    null column), whether the gold code is valid, and the mention's document."""

    features: np.ndarray  # mentions x head x features
    present: np.ndarray  # mentions x head
    gold: np.ndarray  # mentions (head = not in the head)
    docs: list[str]


def collect(pipeline, mentions, head: int) -> Heads:
    """The first stage's head for every mention, as the app's pipeline produces it."""
    features = np.zeros((len(mentions), head, len(FEATURES)))
    present = np.zeros((len(mentions), head), dtype=bool)
    gold = np.full(len(mentions), head)
    for row, mention in enumerate(mentions):
        query = pipeline.analyze(mention.text)
        found = pipeline.retriever.retrieve(query, pipeline.config.candidate_k)[:head]
        features[row, : len(found)] = FirstStageCalibration.features(found)
        present[row, : len(found)] = True
        codes = [c.code for c in found]
        record = pipeline.store.find(mention.code)
        if record is not None and record.valid and mention.code in codes:
            gold[row] = codes.index(mention.code)
    return Heads(features, present, gold, [m.doc_id for m in mentions])


def _logits(heads: Heads, weights: np.ndarray) -> np.ndarray:
    return np.where(heads.present, heads.features @ weights, -np.inf)


def fit(heads: Heads, head: int) -> FirstStageCalibration:
    """Weights and null logit by maximum likelihood (scipy's L-BFGS)."""
    from scipy.optimize import minimize

    def nll(params: np.ndarray) -> float:
        return nll_with_null(_logits(heads, params[:-1]), params[-1], heads.gold)

    start = np.zeros(len(FEATURES) + 1)
    start[0] = 1.0
    found = minimize(nll, start, method="L-BFGS-B")
    weights = tuple(round(float(w), 5) for w in found.x[:-1])
    return FirstStageCalibration(weights, round(float(found.x[-1]), 5), head)


def subset(heads: Heads, index: Sequence[int]) -> Heads:
    """The mentions at ``index``."""
    i = np.asarray(index)
    return Heads(heads.features[i], heads.present[i], heads.gold[i], [heads.docs[j] for j in i])


def top_claims(heads: Heads, calibration: FirstStageCalibration) -> tuple[np.ndarray, np.ndarray]:
    """The top result's confidence (as the runtime computes it) and whether it is the gold
    code, per mention."""
    logits = _logits(heads, np.asarray(calibration.weights))
    stated = np.zeros(len(heads.gold))
    for row in range(len(stated)):
        if heads.present[row, 0]:
            head = logits[row][heads.present[row]]
            stated[row] = softmax_with_null(head, calibration.null_logit)[0]
    return stated, heads.gold == 0


def cross_fitted(heads: Heads, head: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-result claims, each mention scored by weights fitted on the other documents."""
    halves = document_halves(heads.docs)
    stated, right = np.zeros(len(heads.gold)), np.zeros(len(heads.gold), dtype=bool)
    for mine, other in (halves, halves[::-1]):
        calibration = fit(subset(heads, other), head)
        s, r = top_claims(subset(heads, mine), calibration)
        stated[mine], right[mine] = s, r
    return stated, right


def abstention(stated: np.ndarray, right: np.ndarray) -> list[dict]:
    """For each threshold: the share of mentions whose top result is kept, and how often
    a kept top result is right."""
    rows = []
    for t in THRESHOLDS:
        kept = stated >= t
        rows.append({"threshold": t, "kept": round(float(kept.mean()), 3),
                     "right_when_kept": round(float(right[kept].mean()), 3) if kept.any()
                     else None})  # fmt: skip
    return rows


def render(report: dict) -> str:
    """The report as Markdown."""
    c = report["calibration"]
    lines = [
        "# First-stage confidence on CodiEsp dev", "",
        "Generated by `python -m training.calibrate`. Hybrid first stage, train-only aliases, "
        f"{report['mentions']} dev diagnosis mentions, head of {c['head']}. Figures are "
        "cross-fitted: weights fitted on one half of the dev documents, measured on the other.",
        "", "Weights written to `resources/calibration.json` (fitted on all of dev): "
        + ", ".join(f"{f} {w}" for f, w in zip(FEATURES, c["weights"], strict=True))
        + f", null logit {c['null_logit']}.", "",
        f"Expected calibration error of the top result: {report['reliability']['ece']}.", "",
        *confidence_tables(report["levels"], report["reliability"]),
    ]
    lines += ["", "`--min-confidence` on the top result:", "",
              "| threshold | mentions kept | top result right when kept |", "|---|---|---|"]
    for row in report["abstention"]:
        right = "" if row["right_when_kept"] is None else f"{row['right_when_kept']:.3f}"
        lines.append(f"| {row['threshold']} | {row['kept']:.3f} | {right} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m training.calibrate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=Path, default=Path("resources"))
    parser.add_argument("--out", type=Path, default=Path("training/reports/confidence"))
    parser.add_argument("--head", type=int, default=10)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    mentions = list(read_codiesp_mentions(codiesp_file("dev")))
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog.db"
        build_default_catalog(catalog, alias_splits=("train",))
        store = CatalogStore(catalog)
        config = PipelineConfig(alias_sources=(alias_source("train"),), rerank=False)
        pipeline, note = open_pipeline(store, config, resources=args.resources)
        if note:
            raise SystemExit(f"calibration needs the whole first stage: {note}")
        heads = collect(pipeline, mentions, args.head)
        store.close()
    calibration = fit(heads, args.head)
    stated, right = cross_fitted(heads, args.head)
    report = {
        "mentions": len(mentions),
        "calibration": {"weights": list(calibration.weights),
                        "null_logit": calibration.null_logit, "head": calibration.head},
        "reliability": reliability(stated, right),
        "levels": by_level(stated, right),
        "abstention": abstention(stated, right),
    }
    calibration.write(args.resources / CALIBRATION_FILE, fitted_on="CodiEsp dev diagnosis "
                      f"mentions ({len(mentions)}), train-only aliases",
                      cross_fitted_ece=report["reliability"]["ece"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "calibration.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (args.out / "calibration.md").write_text(render(report), "utf-8")
    sys.stdout.write(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
