"""Measure spelling correction, lay terms, fuzzy aliases and query translation: before/after
on CodiEsp dev.

    python -m training.spelling_report                     # bm25, bm25+aliases and hybrid
    python -m training.spelling_report --config bm25+aliases --limit 500

For each first-stage configuration it searches the dev mentions clean and as the seeded typist
types them (``training.typos``), with the query analysis of this issue switched off (no
vocabulary: no corrections, no lay terms, no fuzzy aliases, no translation: the pipeline as
it was) and on,
and reports exact and category top-1 on all, unseen and seen mentions (aliases from train
only, as ``training.evaluate``). It also measures the speller itself: the vocabulary's build
time, the latency the analysis adds per query, and what it does to the words the typist
changed (restored, changed to another word, left alone) and to clean mentions (corrections
of words that were right). Writes ``spelling.md`` and ``metrics.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.catalog.aliases import read_codiesp_mentions
from app.catalog.default import alias_source, build_default_catalog, codiesp_file
from app.catalog.store import CatalogStore
from app.search.abbreviations import AbbreviationTable
from app.search.alias import AliasRetriever
from app.search.bundle import load_dense
from app.search.fusion import FusionRetriever
from app.search.lay_terms import LayLexicon
from app.search.normalize import tokenize
from app.search.pipeline import PipelineConfig, SearchPipeline
from app.search.query import analyze_query
from app.search.spelling import Vocabulary, vocabulary_for
from training.evaluate import run_mentions
from training.metrics import score
from training.typos import Typist

log = logging.getLogger(__name__)

CONFIGS = ("bm25", "bm25+aliases", "hybrid")
SUBSETS = ("all", "unseen", "seen")
_WORD = re.compile(r"[^\W_]+")


def switch_off(pipeline: SearchPipeline) -> SearchPipeline:
    """The pipeline as it was before spelling correction, lay terms and fuzzy aliases."""
    pipeline.vocabulary = None
    members = pipeline.retriever.members if isinstance(pipeline.retriever, FusionRetriever) else [
        (pipeline.retriever, 1.0)
    ]
    for retriever, _weight in members:
        if isinstance(retriever, AliasRetriever):
            retriever.fuzzy = False
    return pipeline


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    return {
        "p50_ms": round(float(np.percentile(array, 50)), 3),
        "p95_ms": round(float(np.percentile(array, 95)), 3),
    }


def speller_facts(
    store: CatalogStore, sources: tuple[str, ...], mentions: list[str], typed: list[str]
) -> dict:
    """Build time, added analysis latency and what the corrections do to the typist's words."""
    builds = []
    for _ in range(5):
        start = time.perf_counter()
        Vocabulary.from_store(store, sources, LayLexicon.default())
        builds.append(time.perf_counter() - start)
    vocabulary = vocabulary_for(store, sources)
    table = AbbreviationTable.default()
    facts: dict = {
        "vocabulary_words": len(vocabulary),
        "spanish_targets": len(vocabulary.targets),
        "build_s_median": round(statistics.median(builds), 3),
        "build_s_max": round(max(builds), 3),
    }
    for label, texts in (("clean", mentions), ("typos", typed)):
        added = []
        for text in texts:
            start = time.perf_counter()
            analyze_query(text, table)
            middle = time.perf_counter()
            analyze_query(text, table, vocabulary)
            added.append((time.perf_counter() - middle - (middle - start)) * 1000)
        facts[f"added_analysis_{label}"] = _percentiles(added)
    restored = other = untouched = 0
    for clean, slipped in zip(mentions, typed, strict=True):
        fixes = {c.start: c.folded for c in vocabulary.correct(slipped, table)}
        words = []
        for match in _WORD.finditer(slipped):
            folded = tokenize(match.group())
            words.extend([fixes.get(match.start(), folded[0])] if len(folded) == 1 else folded)
        before, after = tokenize(clean), tokenize(slipped)
        if not len(before) == len(after) == len(words):
            continue
        for right, wrong, fixed in zip(before, after, words, strict=True):
            if right == wrong:
                continue
            if fixed == right:
                restored += 1
            elif fixed == wrong:
                untouched += 1
            else:
                other += 1
    false_corrections = sum(len(vocabulary.correct(text, table)) for text in mentions)
    facts["typist_words"] = {
        "restored": restored, "changed_to_another_word": other, "left_alone": untouched,
    }
    facts["clean_mentions_with_a_correction"] = sum(
        bool(vocabulary.correct(text, table)) for text in mentions
    )
    facts["clean_corrections"] = false_corrections
    return facts


def retrieval_facts(
    store: CatalogStore,
    name: str,
    sources: tuple[str, ...],
    mentions: list[tuple[str, str]],
    typed: list[str],
) -> dict:
    """Exact/category top-1 clean and typo'd, with the analysis off and on."""
    retriever = "hybrid" if name == "hybrid" else "bm25"
    dense = load_dense(store).retriever if retriever == "hybrid" else None
    if retriever == "hybrid" and dense is None:
        raise SystemExit("hybrid needs the bundled vector index (resources/index)")
    seen = store.alias_norms(sources)
    out: dict = {}
    for mode in ("off", "on"):
        config = PipelineConfig(
            retriever=retriever, aliases=name != "bm25", alias_sources=sources, rerank=False
        )
        pipeline = SearchPipeline(store, config=config, dense=dense)
        if mode == "off":
            switch_off(pipeline)
        pipeline.search("warm up")
        for label, texts in (("clean", None), ("typos", typed)):
            log.info("%s, analysis %s, %s mentions", name, mode, label)
            metrics = score(run_mentions(pipeline, mentions, seen, typed=texts), store.chapter_of)
            out[f"{mode}_{label}"] = {
                key: round(float(metrics[key]), 4)
                for s in SUBSETS
                for key in (f"{s}_n", f"{s}_exact_top1", f"{s}_category_top1",
                            f"{s}_latency_p50_ms", f"{s}_latency_p95_ms")
            }
    return out


def added_latency(
    store: CatalogStore,
    name: str,
    sources: tuple[str, ...],
    texts: Sequence[str],
    typed: Sequence[str],
    limit: int = 1000,
) -> dict:
    """What the analysis adds to a whole search, per query: the same mention searched with
    it off and on, one right after the other, so that a loaded machine slows both alike."""
    retriever = "hybrid" if name == "hybrid" else "bm25"
    dense = load_dense(store).retriever if retriever == "hybrid" else None
    config = PipelineConfig(
        retriever=retriever, aliases=name != "bm25", alias_sources=sources, rerank=False
    )
    off = switch_off(SearchPipeline(store, config=config, dense=dense))
    on = SearchPipeline(store, config=config, dense=dense)
    for pipeline in (off, on):
        pipeline.search("warm up")
    out = {}
    for label, batch in (("clean", texts[:limit]), ("typos", typed[:limit])):
        added = []
        for text in batch:
            start = time.perf_counter()
            off.search(text, 10)
            middle = time.perf_counter()
            on.search(text, 10)
            added.append((time.perf_counter() - middle - (middle - start)) * 1000)
        out[label] = _percentiles(added)
    return out


def render(facts: dict) -> str:
    """The Markdown report."""
    lines = [
        "# Spelling correction, lay terms, fuzzy aliases and query translation on CodiEsp dev",
        "",
        f"Generated by `python -m training.spelling_report` ({facts['machine']}). "
        f"{facts['mentions']} dev diagnosis mentions, aliases from CodiEsp train only; "
        f"typos by `training.typos.Typist(seed={facts['seed']})` "
        f"({facts['mentions_changed']} mentions changed). *off*: the query analysis of "
        "issue 16 switched off (the pipeline before it); *on*: corrections, lay terms, fuzzy "
        "aliases and the English translation of the query (BM25), each searched as well as "
        "the query as typed. `bm25` is BM25 alone (no aliases, the study's baseline).",
        "",
        "## Retrieval: exact top-1 (category top-1)",
        "",
        "| config | analysis | subset | clean | typos | drop |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in facts["retrieval"].items():
        for mode in ("off", "on"):
            for s in SUBSETS:
                clean, typo = runs[f"{mode}_clean"], runs[f"{mode}_typos"]
                c, t = clean[f"{s}_exact_top1"], typo[f"{s}_exact_top1"]
                lines.append(
                    f"| {name} | {mode} | {s} (n={int(clean[f'{s}_n'])}) | {c:.3f} "
                    f"({clean[f'{s}_category_top1']:.3f}) | {t:.3f} "
                    f"({typo[f'{s}_category_top1']:.3f}) | {c - t:.3f} |"
                )
    lines += ["", "Whole-search latency (ms, all mentions, p50 / p95; a shared 2-core machine "
              "whose load varied between runs, so compare the next table):",
              "", "| config | analysis | clean | typos |", "|---|---|---|---|"]
    for name, runs in facts["retrieval"].items():
        for mode in ("off", "on"):
            cells = [
                f"{runs[f'{mode}_{x}']['all_latency_p50_ms']:.1f} / "
                f"{runs[f'{mode}_{x}']['all_latency_p95_ms']:.1f}"
                for x in ("clean", "typos")
            ]
            lines.append(f"| {name} | {mode} | {cells[0]} | {cells[1]} |")
    lines += ["", "Latency the analysis adds to a whole search (ms per query, p50 / p95; each "
              "mention searched off then on, back to back, first 1000 mentions):", "",
              "| config | clean | typos |", "|---|---|---|"]
    for name, added in facts["added_latency"].items():
        lines.append(
            f"| {name} | {added['clean']['p50_ms']} / {added['clean']['p95_ms']} | "
            f"{added['typos']['p50_ms']} / {added['typos']['p95_ms']} |"
        )
    speller = facts["speller"]
    words = speller["typist_words"]
    lines += [
        "",
        "## The speller",
        "",
        f"- Vocabulary: {speller['vocabulary_words']} known words, "
        f"{speller['spanish_targets']} Spanish correction targets; built from the catalog in "
        f"{speller['build_s_median']} s (median of 5, max {speller['build_s_max']} s), once "
        "per catalog and alias sources when a pipeline opens.",
        "- Latency the analysis adds per query (correction, lay terms and translation), "
        "ms p50 / p95: clean "
        f"{speller['added_analysis_clean']['p50_ms']} / "
        f"{speller['added_analysis_clean']['p95_ms']}, typos "
        f"{speller['added_analysis_typos']['p50_ms']} / "
        f"{speller['added_analysis_typos']['p95_ms']}.",
        f"- Words the typist changed: {words['restored']} restored, "
        f"{words['changed_to_another_word']} changed to another word, {words['left_alone']} "
        "left alone (the slip made another known word, or nothing was near enough).",
        f"- Clean mentions: {speller['clean_mentions_with_a_correction']} of "
        f"{facts['mentions']} got a correction ({speller['clean_corrections']} words): words "
        "the catalog does not have; the corrected form is searched as well, never instead.",
        "",
        "Library choice (measured once on this set, same vocabulary, same words): RapidFuzz "
        "(optimal string alignment over the vocabulary bucketed by length) and symspellpy "
        "6.10.1 (max distance 2, prefix 7) return the same corrections, as both return the "
        "nearest words; SymSpell takes 0.30 s to build its delete index against none, and "
        "answers in 0.05 ms p95 per query against 0.38 ms: both far inside the 5 ms budget, "
        "so the dependency without a build step won (RapidFuzz also serves fuzzy aliases).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m training.spelling_report",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=Path, default=codiesp_file("dev"))
    parser.add_argument("--alias-splits", default="train")
    parser.add_argument("--config", action="append", choices=CONFIGS)
    parser.add_argument("--catalog", type=Path, help="Use this catalog (train aliases only).")
    parser.add_argument("--seed", type=int, default=Typist.seed)
    parser.add_argument("--limit", type=int, help="Only the first N mentions (a quick look).")
    parser.add_argument("--out", type=Path, default=Path("training/reports/spelling"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    splits = tuple(s.strip() for s in args.alias_splits.split(",") if s.strip())
    sources = tuple(alias_source(s) for s in splits)
    mentions = [(m.text, m.code) for m in read_codiesp_mentions(args.mentions)][: args.limit]
    typed = Typist(seed=args.seed).type_all([text for text, _ in mentions])
    with tempfile.TemporaryDirectory() as tmp:
        catalog = args.catalog
        if catalog is None:
            catalog = Path(tmp) / "catalog.db"
            build_default_catalog(catalog, alias_splits=splits)
        store = CatalogStore(catalog)
        facts = {
            "mentions": len(mentions),
            "mentions_changed": sum(t != m for t, (m, _) in zip(typed, mentions, strict=True)),
            "seed": args.seed,
            "machine": f"Python {platform.python_version()}, {os.cpu_count()} logical CPUs",
            "speller": speller_facts(store, sources, [m for m, _ in mentions], typed),
            "retrieval": {
                name: retrieval_facts(store, name, sources, mentions, typed)
                for name in (args.config or CONFIGS)
            },
            "added_latency": {
                name: added_latency(store, name, sources, [m for m, _ in mentions], typed)
                for name in (args.config or CONFIGS)
            },
        }
        store.close()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(facts, indent=2) + "\n", "utf-8")
    (args.out / "spelling.md").write_text(render(facts), "utf-8")
    sys.stdout.write(render(facts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
