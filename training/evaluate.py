"""Evaluate retriever configurations on CodiEsp-format diagnosis mentions.

    python -m training.evaluate                       # every configuration on dev
    python -m training.evaluate --mentions X.tsv --alias-splits train --config bm25
    python -m training.evaluate --config hybrid --dense-weight 0.5
    python -m training.evaluate --config hybrid --no-typos  # clean mentions only
    python -m training.evaluate --config dense-minilm --config dense-untuned --keep-rows

For each configuration it writes ``metrics.json``, ``report.md`` and ``pr_at_k.png`` (see
``training.metrics`` for the definitions), plus a ``summary.md`` comparing them. Evaluation
hygiene: the catalog is built with aliases from ``--alias-splits`` only (train by default),
never from the split being measured. The dense configurations load the encoder and index
through ``app.search.bundle.load_dense`` as the app does; aliases are not part of the catalog
fingerprint, so the bundled index serves this train-alias catalog too.

``dense-minilm`` and ``dense-untuned`` are dense-only rows for reference encoders
(all-MiniLM-L6-v2 and the untuned multilingual-e5-small, ``training.baseline_encoders``),
each over a whole-catalog index at its full dimension built once under ``build/dense-eval/``
(named by the encoder file's SHA-256). Asked for by ``--config``, a missing encoder or index
is made first (the catalog embedding takes a while); in a run of every configuration they are
skipped unless already built. ``--keep-rows`` keeps, in ``summary.md``, the rows of
configurations an earlier run reported in ``--out`` and this one did not run;
``--summary-only`` runs nothing and rewrites ``summary.md`` from those reports.

Typo robustness is a number in every report: unless ``--no-typos``, each configuration also
searches the same mentions as a seeded typist types them (``training.typos``: accents dropped,
one slip in one long word), written to ``<config>_typos/`` and summarised beside the clean
figures.
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
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from app.catalog.aliases import read_codiesp_mentions
from app.catalog.default import alias_source, build_default_catalog, codiesp_file
from app.catalog.store import CatalogStore
from app.errors import ModelError
from app.search.bundle import load_dense, load_ranker, load_reranker
from app.search.dense import DenseRetriever
from app.search.normalize import normalize_text
from app.search.pipeline import PipelineConfig, SearchPipeline
from app.search.ranker import LearnedRanker
from app.search.reranker import CrossEncoderReranker
from training.metrics import MentionResult, error_breakdown, score
from training.report import METRICS_FILE, write_report
from training.typos import Typist

log = logging.getLogger(__name__)

#: Named first-stage configurations; ``{aliases}`` is filled with the alias sources used.
CONFIGS = {
    "bm25": lambda sources: PipelineConfig(retriever="bm25", aliases=False, rerank=False),
    "bm25+aliases": lambda sources: PipelineConfig(
        retriever="bm25", alias_sources=sources, rerank=False
    ),
    "dense-minilm": lambda sources: PipelineConfig(
        retriever="dense", aliases=False, rerank=False
    ),
    "dense-untuned": lambda sources: PipelineConfig(
        retriever="dense", aliases=False, rerank=False
    ),
    "dense": lambda sources: PipelineConfig(retriever="dense", aliases=False, rerank=False),
    "dense+aliases": lambda sources: PipelineConfig(
        retriever="dense", alias_sources=sources, rerank=False
    ),
    "hybrid": lambda sources: PipelineConfig(
        retriever="hybrid", alias_sources=sources, rerank=False
    ),
    "hybrid+rerank": lambda sources: PipelineConfig(retriever="hybrid", alias_sources=sources),
    "hybrid+ranker": lambda sources: PipelineConfig(retriever="hybrid", alias_sources=sources),
}
#: Configurations whose second stage is the learned ranker (the others' is the cross-encoder).
RANKER_CONFIGS = ("hybrid+ranker",)
#: The typo'd run of a configuration: its report folder's suffix, its metrics' key prefix.
TYPO_SUFFIX = "_typos"
TYPO_PREFIX = "typos_"
SUBSETS = ("all", "unseen", "seen")
#: Configurations that need the dense stage.
DENSE_CONFIGS = ("dense", "dense+aliases", "hybrid", "hybrid+rerank", "hybrid+ranker")
#: Dense-only configurations of a reference encoder (``training.baseline_encoders.BASELINES``)
#: instead of the bundled one; ``evaluate_config`` gets that encoder's retriever as ``dense``.
BASELINE_CONFIGS = {"dense-minilm": "minilm", "dense-untuned": "untuned"}


def run_mentions(
    pipeline: SearchPipeline,
    mentions: Sequence[tuple[str, str]],
    seen_norms: set[str],
    top_k: int = 10,
    typed: Sequence[str] | None = None,
) -> list[MentionResult]:
    """Search every ``(mention, gold code)`` and time it.

    ``typed``: what to search instead of each mention (the typist's version, same order);
    whether a mention is *seen* still depends on the mention itself, so the subsets of a
    typo'd run are those of the clean one.

    Example: ``run_mentions(pipeline, [("hta", "I10")], {"hta"})[0].seen is True``
    """
    store = pipeline.store
    if typed is not None and len(typed) != len(mentions):
        raise ValueError(f"{len(typed)} typed texts for {len(mentions)} mentions")
    results = []
    for number, (mention, gold) in enumerate(mentions):
        text = mention if typed is None else typed[number]
        start = time.perf_counter()
        ranked = tuple(r.code for r in pipeline.search(text, top_k=top_k))
        latency = (time.perf_counter() - start) * 1000
        record = store.find(gold)
        results.append(
            MentionResult(
                mention=text,
                gold=gold,
                ranked=ranked,
                seen=normalize_text(mention) in seen_norms,
                latency_ms=latency,
                gold_valid=bool(record and record.valid),
            )
        )
    return results


def evaluate_config(
    store: CatalogStore,
    name: str,
    mentions: Sequence[tuple[str, str]],
    alias_sources: tuple[str, ...],
    out_dir: Path,
    dataset: str,
    dense: DenseRetriever | None = None,
    dense_weight: float | None = None,
    reranker: CrossEncoderReranker | None = None,
    typist: Typist | None = None,
    ranker: LearnedRanker | None = None,
) -> dict[str, float]:
    """Run one configuration and write its report under ``out_dir / name``.

    ``dense`` is required by the dense configurations (``DENSE_CONFIGS``, and
    ``BASELINE_CONFIGS`` with the reference encoder's retriever), ``ranker`` by
    ``RANKER_CONFIGS``, ``reranker`` by the others whose configuration asks to rerank. With a
    ``typist`` (:class:`training.typos.Typist`) the same mentions are searched again as it
    types them, reported under ``out_dir / (name + "_typos")`` and returned beside the clean
    figures with the prefix ``typos_`` (``typos_all_exact_top1``).
    """
    config = CONFIGS[name](alias_sources)
    if dense_weight is not None:
        config = replace(config, dense_weight=dense_weight)
    uses_dense = name in DENSE_CONFIGS or name in BASELINE_CONFIGS
    if uses_dense and dense is None:
        raise ValueError(f"configuration {name} needs the dense stage")
    uses_ranker = name in RANKER_CONFIGS
    if uses_ranker and ranker is None:
        raise ValueError(f"configuration {name} needs the learned ranker")
    if config.rerank and not uses_ranker and reranker is None:
        raise ValueError(f"configuration {name} needs the reranker")
    pipeline = SearchPipeline(
        store, config=config, dense=dense if uses_dense else None,
        reranker=reranker if config.rerank and not uses_ranker else None,
        ranker=ranker if uses_ranker else None,
    )
    pipeline.search("warm up", top_k=10)
    seen = store.alias_norms(alias_sources)
    results = run_mentions(pipeline, mentions, seen)
    metrics = score(results, store.chapter_of)
    config_facts = {
        "retriever": name,
        "pipeline": config.describe(),
        "dataset": dataset,
        "alias_sources_in_catalog": list(alias_sources),
        "catalog_edition": store.edition,
        "dense_index": (
            dict(path=str(dense.index.directory), **_index_facts(dense))
            if dense is not None and uses_dense
            else None
        ),
        "dense_encoder": (
            _encoder_facts(dense) if dense is not None and uses_dense else None
        ),
        "reranker": (
            dict(path=str(reranker.model_dir), **reranker.config.to_dict())
            if reranker is not None and config.rerank and not uses_ranker
            else None
        ),
        "ranker": str(ranker.directory) if ranker is not None and uses_ranker else None,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
    }
    folder = out_dir / name.replace("+", "_")
    write_report(
        metrics, folder, title=f"{name} on {dataset}", config=config_facts,
        breakdown=error_breakdown(results, store.chapter_of),
    )
    if typist is None:
        return metrics
    typed = typist.type_all([text for text, _ in mentions])
    typo_results = run_mentions(pipeline, mentions, seen, typed=typed)
    typo_metrics = score(typo_results, store.chapter_of)
    changed = sum(t != m for t, (m, _) in zip(typed, mentions, strict=True))
    write_report(
        typo_metrics,
        folder.with_name(folder.name + TYPO_SUFFIX),
        title=f"{name} on {dataset}, as the seeded typist types it",
        config={
            **config_facts,
            "typist": {**asdict(typist), "mentions_changed": changed},
            "clean_exact_top1": {s: metrics.get(f"{s}_exact_top1") for s in SUBSETS},
        },
        breakdown=error_breakdown(typo_results, store.chapter_of),
    )
    return {**metrics, **{TYPO_PREFIX + key: value for key, value in typo_metrics.items()}}


def _index_facts(dense: DenseRetriever) -> dict:
    manifest = dense.index.manifest
    return {
        "count": manifest.count,
        "dim": manifest.dim,
        "dtype": manifest.dtype,
        "encoder_sha256": manifest.encoder_sha256,
        "catalog_fingerprint": manifest.catalog_fingerprint,
    }


def _encoder_facts(dense: DenseRetriever) -> dict:
    encoder = dense.encoder
    return {"path": str(encoder.model_dir), "dim": encoder.dim, **encoder.config.to_dict()}


def reported_metrics(out_dir: Path, name: str) -> dict[str, float] | None:
    """What an earlier run wrote for configuration ``name`` under ``out_dir`` (its typo'd
    run with the ``typos_`` prefix, when there is one), or None."""
    folder = out_dir / name.replace("+", "_")
    path = folder / METRICS_FILE
    if not path.exists():
        return None
    metrics = json.loads(path.read_text(encoding="utf-8"))["metrics"]
    typos = folder.with_name(folder.name + TYPO_SUFFIX) / METRICS_FILE
    if typos.exists():
        typo_metrics = json.loads(typos.read_text(encoding="utf-8"))["metrics"]
        metrics.update({TYPO_PREFIX + key: value for key, value in typo_metrics.items()})
    return metrics


SUMMARY_KEYS = (
    ("n", "{s}_n"),
    ("exact top-1", "{s}_exact_top1"),
    ("exact MAP@10", "{s}_exact_map@10"),
    ("category top-1", "{s}_category_top1"),
    ("category MAP@10", "{s}_category_map@10"),
    ("chapter top-1", "{s}_chapter_top1"),
    ("R@10 exact", "{s}_exact_r@10"),
    ("empty", "{s}_empty_rate"),
    ("p50 ms", "{s}_latency_p50_ms"),
    ("p95 ms", "{s}_latency_p95_ms"),
)


def render_summary(
    all_metrics: dict[str, dict[str, float]], dataset: str, earlier: Sequence[str] = ()
) -> str:
    """A Markdown table comparing configurations on all and unseen mentions; ``earlier``
    names the configurations whose rows come from an earlier run's reports."""
    lines = [f"# Retrieval on {dataset}", "", "Generated by `python -m training.evaluate`.", ""]
    header = ["config", "subset"] + [label for label, _ in SUMMARY_KEYS]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    typos = False
    for name, metrics in all_metrics.items():
        for prefix, label in (("", "{s}"), (TYPO_PREFIX, "{s}, typos")):
            if prefix and f"{prefix}all_n" not in metrics:
                continue
            typos = typos or bool(prefix)
            for subset in SUBSETS:
                cells = [name, label.format(s=subset)]
                for _, key in SUMMARY_KEYS:
                    value = metrics.get(prefix + key.format(s=subset), 0.0)
                    cells.append(str(int(value)) if key.endswith("_n") else f"{value:.3f}")
                lines.append("| " + " | ".join(cells) + " |")
    if typos:
        lines += [
            "",
            "\"typos\": the same mentions as the seeded typist of `training.typos` types them "
            "(accents dropped with p = 0.5; with p = 0.5 one deleted, swapped or doubled letter "
            "in one word of 6+ letters); seen/unseen as for the clean mention.",
            "",
            "| config | subset | exact top-1 clean | exact top-1 typos | drop |",
            "|---|---|---|---|---|",
        ]
        for name, metrics in all_metrics.items():
            if f"{TYPO_PREFIX}all_n" not in metrics:
                continue
            for subset in SUBSETS:
                clean = metrics.get(f"{subset}_exact_top1", 0.0)
                typo = metrics.get(f"{TYPO_PREFIX}{subset}_exact_top1", 0.0)
                lines.append(
                    f"| {name} | {subset} | {clean:.3f} | {typo:.3f} | {clean - typo:.3f} |"
                )
    baselines = [name for name in all_metrics if name in BASELINE_CONFIGS]
    if baselines:
        from training.baseline_encoders import BASELINES, INDEX_DTYPE

        lines += ["", "Dense encoders of the dense-only rows (no aliases):", ""]
        lines += [f"- {name}: {BASELINES[BASELINE_CONFIGS[name]].description}, whole catalog, "
                  f"full dimension, {INDEX_DTYPE} index (`training.baseline_encoders`)"
                  for name in baselines]  # fmt: skip
        if "dense" in all_metrics:
            lines.append("- dense: the bundled fine-tuned encoder and its index (`resources/`: "
                         "Matryoshka prefix and dtype as shipped)")
    if earlier:
        lines += ["", "Rows of " + ", ".join(earlier) + " are from an earlier run's reports in "
                  "this folder (`--keep-rows`)."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=Path, default=codiesp_file("dev"),
                        help="CodiEsp X-format TSV; DIAGNOSTICO rows are evaluated.")
    parser.add_argument("--dataset", default="CodiEsp dev", help="Name shown in reports.")
    parser.add_argument("--alias-splits", default="train",
                        help="CodiEsp splits used as aliases (comma-separated; never the "
                             "evaluated split).")
    parser.add_argument("--config", action="append", choices=sorted(CONFIGS),
                        help="Configuration(s) to run (default: all).")
    parser.add_argument("--catalog", type=Path,
                        help="Use this catalog file instead of building one (it must hold the "
                             "aliases of --alias-splits).")
    parser.add_argument("--out", type=Path, default=Path("training/reports/codiesp-dev"),
                        help="Output folder.")
    parser.add_argument("--dense-weight", type=float,
                        help="RRF weight of the dense stage in hybrid (default: the app's).")
    parser.add_argument("--typos", action=argparse.BooleanOptionalAction, default=True,
                        help="Also search the mentions as the seeded typist types them "
                             "(training.typos) and report both.")
    parser.add_argument("--typo-seed", type=int, default=Typist.seed,
                        help="Seed of the typist.")
    parser.add_argument("--keep-rows", action="store_true",
                        help="Keep in summary.md the configurations reported in --out by an "
                             "earlier run and not run now (their metrics.json).")
    parser.add_argument("--summary-only", action="store_true",
                        help="Run nothing: rewrite summary.md from the reports in --out.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    if args.summary_only:
        return write_summary({}, args.out, args.dataset, keep_rows=True)
    splits = tuple(s.strip() for s in args.alias_splits.split(",") if s.strip())
    sources = tuple(alias_source(s) for s in splits)
    mentions = [(m.text, m.code) for m in read_codiesp_mentions(args.mentions)]
    with tempfile.TemporaryDirectory() as tmp:
        catalog = args.catalog
        if catalog is None:
            catalog = Path(tmp) / "catalog.db"
            log.info("building a catalog with aliases from %s", ", ".join(splits) or "nothing")
            build_default_catalog(catalog, alias_splits=splits)
        store = CatalogStore(catalog)
        names = args.config or list(CONFIGS)
        dense = None
        if any(n in DENSE_CONFIGS for n in names):
            load = load_dense(store)
            dense = load.retriever
            if dense is None and args.config:
                parser.error(f"dense configurations need the vector index: {load.reason}")
            if dense is None:
                log.warning("skipping %s: %s", ", ".join(DENSE_CONFIGS), load.reason)
                names = [n for n in names if n not in DENSE_CONFIGS]
        ranker = None
        if any(n in RANKER_CONFIGS for n in names):
            ranker, problem = load_ranker()
            if ranker is None and args.config:
                parser.error(f"ranked configurations need the learned ranker: {problem}")
            if ranker is None:
                log.warning("skipping %s: %s", ", ".join(RANKER_CONFIGS), problem)
                names = [n for n in names if n not in RANKER_CONFIGS]
        baselines: dict[str, DenseRetriever] = {}
        for name in [n for n in names if n in BASELINE_CONFIGS]:
            try:
                baselines[name] = baseline_retriever(
                    store, BASELINE_CONFIGS[name], build=bool(args.config)
                )
            except (FileNotFoundError, ModelError) as exc:
                if args.config:
                    parser.error(f"{name}: {exc}")
                log.warning("skipping %s: %s", name, exc)
                names.remove(name)
        reranker = None
        if any(CONFIGS[n](sources).rerank and n not in RANKER_CONFIGS for n in names):
            reranker, problem = load_reranker(store)
            if reranker is None and args.config:
                parser.error(f"reranking configurations need the reranker: {problem}")
            if reranker is None:
                log.warning("skipping the reranking configurations: %s", problem)
                names = [n for n in names
                         if not CONFIGS[n](sources).rerank or n in RANKER_CONFIGS]
        all_metrics = {}
        for name in names:
            log.info("evaluating %s on %d mentions", name, len(mentions))
            all_metrics[name] = evaluate_config(
                store, name, mentions, sources, args.out, args.dataset,
                baselines.get(name, dense), args.dense_weight,
                reranker, Typist(seed=args.typo_seed) if args.typos else None, ranker,
            )
        store.close()
    return write_summary(all_metrics, args.out, args.dataset, args.keep_rows)


def write_summary(
    all_metrics: dict[str, dict[str, float]], out: Path, dataset: str, keep_rows: bool
) -> int:
    """Write ``out/summary.md`` (and print it) for ``all_metrics``; with ``keep_rows``, also
    for the configurations reported in ``out`` by an earlier run and not in ``all_metrics``."""
    earlier = []
    if keep_rows:
        ran = all_metrics
        all_metrics = {}
        for name in CONFIGS:
            if name in ran:
                all_metrics[name] = ran[name]
            elif (reported := reported_metrics(out, name)) is not None:
                all_metrics[name] = reported
                earlier.append(name)
    out.mkdir(parents=True, exist_ok=True)
    summary = render_summary(all_metrics, dataset, earlier)
    (out / "summary.md").write_text(summary, "utf-8")
    sys.stdout.write(summary)
    return 0


def baseline_retriever(store: CatalogStore, baseline: str, build: bool) -> DenseRetriever:
    """The whole-catalog retriever of a reference encoder (``training.baseline_encoders``).

    Raises:
        FileNotFoundError: ``build`` is False and its encoder or index is not built yet, or
            its checkpoint is missing.
    """
    from training.baseline_encoders import ENCODERS_DIR, prepare, whole_catalog_retriever

    if not build and not (ENCODERS_DIR / baseline / "encoder.onnx").exists():
        raise FileNotFoundError(
            f"no {ENCODERS_DIR / baseline}: run python -m training.baseline_encoders {baseline}"
        )
    return whole_catalog_retriever(store, prepare(baseline) if build else ENCODERS_DIR / baseline,
                                   build=build)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
