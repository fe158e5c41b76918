"""Choose how many candidates the reranker reads and calibrate its confidence, on dev.

    python -m training.rerank.tune --model build/reranker-onnx [--mentions devX.tsv]

For every dev mention the first stage (hybrid, train-only aliases, as the app runs it)
proposes ``--depth`` candidates and the cross-encoder scores them once. Then, offline, for
each ``top_n`` of the grid a three-parameter model (temperature, weight of the first stage's
rank, "none of these" logit) is fitted by maximum likelihood, and the reranked lists are
scored. The parameters and the chosen ``top_n`` are written to the model's
``reranker.json``; the figures go to ``--out`` (``tuning.json``, ``tuning.md``).

Hygiene: the three parameters and ``top_n`` are chosen on dev, so the report also gives
*cross-fitted* figures (parameters fitted on one half of the dev documents, measured on the
other, and the other way round); the difference from the in-sample figures is the optimism
of tuning on dev. ``top_n`` is the largest grid value whose measured end-to-end latency
stays within the budget (p50 and p95), so it is not picked for accuracy.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from app.catalog.aliases import read_codiesp_mentions
from app.catalog.default import alias_source, build_default_catalog, codiesp_file
from app.catalog.store import CatalogStore
from app.search.bundle import open_pipeline
from app.search.dense import dense_query_text
from app.search.normalize import normalize_text
from app.search.passages import passage_text
from app.search.pipeline import PipelineConfig, SearchPipeline
from app.search.query import analyze_query
from app.search.reranker import CONFIG_FILE, CrossEncoderReranker, RerankerConfig
from training.metrics import (
    MentionResult,
    by_level,
    document_halves,
    error_breakdown,
    latency_summary,
    nll_with_null,
    reliability,
    score,
)
from training.report import confidence_tables

log = logging.getLogger(__name__)

GRID = (4, 8, 12, 16, 24, 32)
#: Smallest cross-fitted MAP@10 gain over the first stage for a reranker to ship.
MIN_GAIN = 0.005
#: End-to-end latency budget per query (ms) on the measuring machine.
BUDGET_P50_MS, BUDGET_P95_MS = 60.0, 120.0


@dataclass(frozen=True)
class Head:
    """One mention's first-stage candidates (best first) and their cross-encoder scores."""

    mention: str
    gold: str
    doc: str
    seen: bool
    gold_valid: bool
    codes: tuple[str, ...]
    scores: np.ndarray
    tail: tuple[str, ...] = ()


def collect(
    pipeline: SearchPipeline, reranker: CrossEncoderReranker, mentions, seen: set[str],
    depth: int = 32, top_k: int = 10,
) -> list[Head]:
    """Score the first ``depth`` candidates of every mention once."""
    store = pipeline.store
    heads = []
    for mention in mentions:
        query = pipeline.analyze(mention.text)
        found = pipeline.retriever.retrieve(query, max(top_k, pipeline.config.candidate_k))
        records = store.get_many([c.code for c in found[:depth]])
        codes = tuple(c.code for c in found[:depth] if c.code in records)
        passages = [passage_text(records[c]) for c in codes]
        record = store.find(mention.code)
        heads.append(
            Head(
                mention=mention.text,
                gold=mention.code,
                doc=mention.doc_id,
                seen=normalize_text(mention.text) in seen,
                gold_valid=bool(record and record.valid),
                codes=codes,
                scores=reranker.score(dense_query_text(query), passages).astype(np.float64),
                tail=tuple(c.code for c in found[depth:]),
            )
        )
    return heads


def torch_agreement(heads: Sequence[Head], checkpoint: Path, store: CatalogStore,
                    config: RerankerConfig) -> dict:
    """Rank the heads by the torch checkpoint's scores and by the ONNX ones (scores alone,
    ``config.top_n`` each): the metrics of both and how often the top code agrees."""
    import torch

    from training.rerank.model import CrossEncoder, encode_pairs, pair_encoder

    model = CrossEncoder.load(checkpoint)
    pairs = pair_encoder(checkpoint / "tokenizer.json", config.max_length,
                         bool(config.query_prefix))
    plain = replace(config, temperature=1.0, rank_weight=0.0, null_logit=0.0)
    twins, agree = [], 0
    for head in heads:
        codes = head.codes[: config.top_n]
        records = store.get_many(list(codes))
        analysed = analyze_query(head.mention)
        with torch.no_grad():
            ids, mask = encode_pairs(pairs, [dense_query_text(analysed)] * len(codes),
                                     [passage_text(records[c]) for c in codes])
            scores = model(ids, mask).double().numpy() if codes else np.zeros(0)
        twin = replace(head, scores=np.concatenate([scores, head.scores[len(codes):]]))
        twins.append(twin)
        if codes:
            agree += int(np.argmax(scores) == np.argmax(head.scores[: len(codes)]))
    onnx = score(results(heads, plain), store.chapter_of)
    fp32 = score(results(twins, plain), store.chapter_of)
    return {
        "top_n": config.top_n, "torch": _pick(fp32), "onnx_int8": _pick(onnx),
        "top1_agreement": round(agree / max(1, len(heads)), 4),
        "max_drop": round(max(fp32[k] - onnx[k] for k in KEYS), 4),
    }


def fit(heads: Sequence[Head], top_n: int, prior: RerankerConfig) -> RerankerConfig:
    """``prior`` with temperature, rank weight and null logit fitted by maximum likelihood:
    the gold code's softmax share when it is in the head, the null's when it is not."""
    from scipy.optimize import minimize

    width = max((min(top_n, len(h.codes)) for h in heads), default=0)
    scores = np.zeros((len(heads), width))
    present = np.zeros((len(heads), width), dtype=bool)
    gold = np.full(len(heads), width)  # width: the null column
    for row, head in enumerate(heads):
        n = min(top_n, len(head.codes))
        scores[row, :n], present[row, :n] = head.scores[:n], True
        if head.gold in head.codes[:n]:
            gold[row] = head.codes.index(head.gold)
    penalty = np.log1p(np.arange(width))

    def nll(params: np.ndarray) -> float:
        log_t, weight, null = params
        logits = np.where(present, scores / np.exp(log_t) - weight * penalty, -np.inf)
        return nll_with_null(logits, null, gold)

    start = np.array([np.log(prior.temperature), prior.rank_weight, prior.null_logit])
    found = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-5})
    log_t, weight, null = (float(v) for v in found.x)
    return replace(
        prior, top_n=top_n, temperature=round(float(np.exp(log_t)), 5),
        rank_weight=round(weight, 5), null_logit=round(null, 5),
    )


def rerank(head: Head, config: RerankerConfig, top_k: int = 10) -> tuple[list[str], np.ndarray]:
    """The head reordered as the runtime would, and the confidences in that order."""
    n = min(config.top_n, len(head.codes))
    logits = config.logits(head.scores[:n])
    order = np.argsort(-logits, kind="stable")
    ranked = [head.codes[i] for i in order] + list(head.codes[n:]) + list(head.tail)
    return ranked[:top_k], config.confidences(logits)[order]


def results(heads: Sequence[Head], config: RerankerConfig | None) -> list[MentionResult]:
    """Per-mention results, reranked with ``config`` (first-stage order when None)."""
    out = []
    for head in heads:
        ranked = rerank(head, config)[0] if config else list(head.codes + head.tail)[:10]
        out.append(MentionResult(head.mention, head.gold, tuple(ranked), head.seen, 0.0,
                                 head.gold_valid))
    return out


def top_confidence(
    heads: Sequence[Head], configs: Sequence[RerankerConfig]
) -> tuple[list[float], list[bool]]:
    """The top result's stated confidence and whether it is right, per mention
    (``configs[i]`` scores ``heads[i]``, so cross-fitted parameters can be checked)."""
    stated, right = [], []
    for head, config in zip(heads, configs, strict=True):
        ranked, confidences = rerank(head, config)
        stated.append(float(confidences[0]) if len(confidences) else 0.0)
        right.append(bool(head.gold_valid and ranked and ranked[0] == head.gold))
    return stated, right


def cross_fit(heads: Sequence[Head], top_n: int, prior: RerankerConfig) -> list[RerankerConfig]:
    """For every mention, parameters fitted on the other half of the documents."""
    a, b = document_halves([h.doc for h in heads])
    on_a = fit([heads[i] for i in a], top_n, prior)
    on_b = fit([heads[i] for i in b], top_n, prior)
    configs: list[RerankerConfig] = [prior] * len(heads)
    for i in a:
        configs[i] = on_b
    for i in b:
        configs[i] = on_a
    return configs


def cross_fitted_results(heads: Sequence[Head], configs: Sequence[RerankerConfig]):
    return [
        MentionResult(h.mention, h.gold, tuple(rerank(h, c)[0]), h.seen, 0.0, h.gold_valid)
        for h, c in zip(heads, configs, strict=True)
    ]


def measure_latency(
    store: CatalogStore, model: Path, texts: Sequence[str], top_n: int, threads: int | None
) -> dict[str, float]:
    """End-to-end search latency (first stage, reranking of ``top_n``, result assembly) in
    ms; ``top_n == 0`` is the first stage alone."""
    pipeline, _ = open_pipeline(store, PipelineConfig(rerank=False))
    if top_n:
        pipeline.reranker = CrossEncoderReranker(model, store, threads=threads, top_n=top_n)
    pipeline.search("warm up", top_k=10)
    times = []
    for text in texts:
        start = time.perf_counter()
        pipeline.search(text, top_k=10)
        times.append((time.perf_counter() - start) * 1000)
    return {**latency_summary(times), "mean_ms": round(statistics.fmean(times), 2)}


KEYS = ("all_exact_top1", "all_exact_map@10", "unseen_exact_top1", "unseen_category_top1",
        "all_category_top1")


def _pick(metrics: dict) -> dict:
    return {k: round(metrics[k], 4) for k in KEYS}


def render(report: dict) -> str:
    """The tuning report as Markdown."""
    lines = [
        "# Reranker tuning on CodiEsp dev", "",
        "Generated by `python -m training.rerank.tune`. In-sample: parameters fitted on all",
        "dev mentions. Cross-fitted: fitted on one half of the dev documents, measured on the",
        "other (the honest estimate). Latency: end-to-end search, "
        f"{report['latency_sample']} dev mentions, {report['machine']}.", "",
        "| top_n | temperature | rank weight | null logit | exact top-1 | exact MAP@10 | "
        "unseen top-1 | unseen category top-1 | cross-fitted top-1 | cross-fitted MAP@10 | "
        "p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    first = report["first_stage"]
    lines.append(
        f"| 0 (hybrid) | | | | {first['all_exact_top1']:.3f} | {first['all_exact_map@10']:.3f} | "
        f"{first['unseen_exact_top1']:.3f} | {first['unseen_category_top1']:.3f} | | | "
        f"{report['first_stage_latency']['p50_ms']} | {report['first_stage_latency']['p95_ms']} |"
    )
    for row in report["grid"]:
        c, m, x, t = row["config"], row["in_sample"], row["cross_fitted"], row["latency"]
        mark = " **(chosen)**" if c["top_n"] == report["chosen"]["top_n"] else ""
        lines.append(
            f"| {c['top_n']}{mark} | {c['temperature']} | {c['rank_weight']} | "
            f"{c['null_logit']} | {m['all_exact_top1']:.3f} | {m['all_exact_map@10']:.3f} | "
            f"{m['unseen_exact_top1']:.3f} | {m['unseen_category_top1']:.3f} | "
            f"{x['all_exact_top1']:.3f} | {x['all_exact_map@10']:.3f} | {t['p50_ms']} | "
            f"{t['p95_ms']} |"
        )
    chosen = report["chosen_row"]
    gain = chosen["cross_fitted"]["all_exact_map@10"] - first["all_exact_map@10"]
    drop = (report.get("torch_agreement") or {}).get("max_drop", 0.0)
    verdict = "ships" if gain >= MIN_GAIN and drop <= 0.01 else "does not ship"
    lines += ["", f"Chosen: top_n = {report['chosen']['top_n']} (the largest within "
              f"p50 ≤ {BUDGET_P50_MS:.0f} ms and p95 ≤ {BUDGET_P95_MS:.0f} ms).", "",
              f"Decision: the reranker {verdict} (`--ship`): cross-fitted MAP@10 {gain:+.4f} "
              f"over the first stage (needs {MIN_GAIN:+.3f}), int8 drop {drop:.4f} against "
              "torch (needs ≤ 0.01).", "",
              "## Confidence of the top result (cross-fitted)", "",
              f"Expected calibration error: {chosen['reliability']['ece']}.", "",
              *confidence_tables(chosen["levels"], chosen["reliability"])]
    agreement = report.get("torch_agreement")
    if agreement:
        lines += ["", "## int8 ONNX against the torch checkpoint", "",
                  f"Cross-encoder scores alone, top_n = {agreement['top_n']}: the same top code "
                  f"for {agreement['top1_agreement']:.1%} of mentions; largest metric drop "
                  f"{agreement['max_drop']:.4f} (budget 0.01).", "",
                  "| model | " + " | ".join(KEYS) + " |", "|---|" + "---|" * len(KEYS)]
        for name in ("torch", "onnx_int8"):
            lines.append(f"| {name} | " + " | ".join(f"{agreement[name][k]:.3f}" for k in KEYS)
                         + " |")
    lines += ["", "## Where the top result misses (exact), chosen configuration", "",
              "| error | first stage | reranked |", "|---|---|---|"]
    for key, before in report["errors_first_stage"].items():
        lines.append(f"| {key} | {before} | {chosen['errors'][key]} |")
    return "\n".join(lines) + "\n"


def tune(
    store: CatalogStore, model: Path, mentions, seen: set[str], depth: int, latency_sample: int,
    threads: int | None, checkpoint: Path | None = None,
) -> dict:
    """Collect heads, fit every grid value, measure latency, choose ``top_n``."""
    import os
    import platform

    pipeline, note = open_pipeline(store, PipelineConfig(rerank=False))
    if note:
        raise SystemExit(f"tuning needs the dense stage: {note}")
    reranker = CrossEncoderReranker(model, store, threads=threads)
    started = time.time()
    heads = collect(pipeline, reranker, mentions, seen, depth)
    log.info("scored %d mentions x %d candidates in %.0fs", len(heads), depth,
             time.time() - started)
    prior = replace(reranker.config, temperature=1.0, rank_weight=0.0, null_logit=0.0)
    sample = [m.text for m in mentions[:: max(1, len(mentions) // latency_sample)]]
    first_latency = measure_latency(store, model, sample, 0, threads)
    grid = []
    for top_n in (n for n in GRID if n <= depth):
        config = fit(heads, top_n, prior)
        configs = cross_fit(heads, top_n, prior)
        in_sample = score(results(heads, config), store.chapter_of)
        crossed = score(cross_fitted_results(heads, configs), store.chapter_of)
        latency = measure_latency(store, model, sample, top_n, threads)
        log.info("top_n %d: %s, cross-fitted %s, %s", top_n, _pick(in_sample), _pick(crossed),
                 latency)
        grid.append({
            "config": asdict(config), "in_sample": _pick(in_sample), "cross_fitted": _pick(crossed),
            "latency": latency,
            "reliability": reliability(*top_confidence(heads, configs)),
            "levels": by_level(*top_confidence(heads, configs)),
            "errors": error_breakdown(cross_fitted_results(heads, configs), store.chapter_of),
        })
    within = [r for r in grid if r["latency"]["p50_ms"] <= BUDGET_P50_MS
              and r["latency"]["p95_ms"] <= BUDGET_P95_MS]
    chosen_row = max(within or grid[:1], key=lambda r: r["config"]["top_n"])
    first = score(results(heads, None), store.chapter_of)
    agreement = None
    if checkpoint is not None:
        chosen = RerankerConfig(**chosen_row["config"])
        agreement = torch_agreement(heads, checkpoint, store, chosen)
        log.info("torch vs ONNX: %s", agreement)
    return {
        "torch_agreement": agreement,
        "model": str(model), "mentions": len(heads), "depth": depth,
        "latency_sample": len(sample),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        "first_stage": _pick(first), "first_stage_latency": first_latency,
        "errors_first_stage": error_breakdown(results(heads, None), store.chapter_of),
        "grid": grid, "chosen": chosen_row["config"], "chosen_row": chosen_row,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m training.rerank.tune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("build/reranker-onnx"))
    parser.add_argument("--mentions", type=Path, default=codiesp_file("dev"))
    parser.add_argument("--out", type=Path, default=Path("training/reports/rerank"))
    parser.add_argument("--depth", type=int, default=max(GRID))
    parser.add_argument("--latency-sample", type=int, default=300)
    parser.add_argument("--threads", type=int, help="onnxruntime threads (default: all cores)")
    parser.add_argument("--checkpoint", type=Path,
                        help="The torch checkpoint exported: check that int8 ONNX ranks like it.")
    parser.add_argument("--ship", type=Path, metavar="DIR",
                        help="Copy the model here if it beats the first stage (else remove DIR).")
    parser.add_argument("--no-write", action="store_true",
                        help="Report only; leave the model's reranker.json as it is.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    mentions = list(read_codiesp_mentions(args.mentions))
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog.db"
        build_default_catalog(catalog, alias_splits=("train",))
        store = CatalogStore(catalog)
        seen = store.alias_norms((alias_source("train"),))
        report = tune(store, args.model, mentions, seen, args.depth, args.latency_sample,
                      args.threads, args.checkpoint)
        store.close()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tuning.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (args.out / "tuning.md").write_text(render(report), "utf-8")
    if not args.no_write:
        path = args.model / CONFIG_FILE
        data = json.loads(path.read_text(encoding="utf-8"))
        data.update(report["chosen"])
        path.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    sys.stdout.write(render(report))
    if args.ship is not None:
        ship(args.model, args.ship, report)
    return 0


def ship(model: Path, target: Path, report: dict) -> bool:
    """Copy the tuned reranker to ``target`` only when it is measurably better than the
    first stage (cross-fitted MAP@10 up by ``MIN_GAIN``, int8 within 0.01 of torch);
    otherwise remove ``target``, so a bundle never ships a reranker that does not help."""
    gain = (report["chosen_row"]["cross_fitted"]["all_exact_map@10"]
            - report["first_stage"]["all_exact_map@10"])  # fmt: skip
    agreement = report.get("torch_agreement") or {}
    faithful = agreement.get("max_drop", 0.0) <= 0.01
    better = gain >= MIN_GAIN and faithful
    shutil.rmtree(target, ignore_errors=True)
    if better:
        shutil.copytree(model, target)
    log.info("reranker %s: cross-fitted MAP@10 %+.4f over the first stage (needs %+.4f), "
             "int8 drop %s", f"shipped to {target}" if better else "not shipped", gain,
             MIN_GAIN, agreement.get("max_drop"))
    return better


if __name__ == "__main__":
    raise SystemExit(main())
