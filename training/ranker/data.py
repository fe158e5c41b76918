"""Ranking examples: CodiEsp mentions through the app's candidate space, with features.

    python -m training.ranker.data --out training/runs/ranker [--folds 5] [--seed 13]

Cross-fitting: the train documents are split into ``--folds`` folds, and one catalog holds
the train aliases tagged by fold (``codiesp-train-f0`` ...). A train mention searches with
the aliases (and the code prior) of the *other* folds only, so its own mention is never an
alias of itself and the seen/unseen mix is what a new document meets. Dev mentions search
with every train fold (train-only aliases, as ``training.evaluate`` measures). The dense
stage is the bundled encoder and index, as in the app.

Synthetic Spanish mentions (``--synthetic N``, ``synthetic.npz``) add what CodiEsp rarely
shows: the deterministic recipe's template variants (``training.data.synthetic``: a code's
Spanish text with its qualifiers, side and episode phrasings, abbreviations, slips) for
valid codes of the categories train mentions use, searched with every train fold's aliases.
``--encoder-data`` (the query encoder's training pairs) leaves out the synthetic mentions the
encoder trained on: their dense scores are memorised, better than a new query's, and a ranker
learning from them trusts dense too much (dev seen exact top-1 fell).

Writes ``train.npz`` and ``dev.npz``: the feature matrix, graded labels (2 exact gold code,
1 same category, 0 other), the group (mention) of each row, and per mention its gold code,
document and whether it was seen.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.catalog.aliases import Mention, build_aliases, read_codiesp_mentions
from app.catalog.build import BuildReport, write_catalog
from app.catalog.default import DEFAULT_EDITION, codiesp_file, default_entries
from app.catalog.store import CatalogStore
from app.search.abbreviations import AbbreviationTable
from app.search.bundle import load_dense
from app.search.dense import DenseRetriever
from app.search.features import FEATURES
from app.search.normalize import normalize_text
from app.search.pipeline import PipelineConfig, SearchPipeline

log = logging.getLogger(__name__)

FOLD_SOURCE = "codiesp-train-f{}"


def fold_of(doc_id: str, folds: int, seed: int) -> int:
    """The cross-fitting fold of a document (stable across runs and machines).

    Example: ``0 <= fold_of("S0004-06142005000500011-1", 5, 13) < 5``
    """
    digest = hashlib.sha256(f"{seed}:{doc_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % folds


def fold_sources(folds: int, exclude: int | None = None) -> tuple[str, ...]:
    """Alias sources of every fold but ``exclude``."""
    return tuple(FOLD_SOURCE.format(k) for k in range(folds) if k != exclude)


def build_fold_catalog(path: Path, mentions: Sequence[Mention], folds: int, seed: int) -> None:
    """A default catalog whose aliases are the train mentions, tagged by fold."""
    entries = default_entries()
    known = {e.code for e in entries}
    aliases = []
    for k in range(folds):
        chosen = [m for m in mentions if fold_of(m.doc_id, folds, seed) == k]
        aliases.extend(build_aliases(chosen, FOLD_SOURCE.format(k), known)[0])
    report = BuildReport(edition=DEFAULT_EDITION, sources={"aliases": f"train, {folds} folds"})
    write_catalog(path, entries, aliases, report)


@dataclass
class Examples:
    """Ranking rows and per-mention facts (see the module docstring)."""

    features: list[np.ndarray]
    labels: list[np.ndarray]
    codes: list[list[str]]
    gold: list[str]
    docs: list[str]
    seen: list[bool]

    def save(self, path: Path) -> None:
        """Write one ``.npz`` (row arrays concatenated, group sizes kept)."""
        sizes = np.array([len(f) for f in self.features], dtype=np.int32)
        np.savez_compressed(
            path,
            X=np.concatenate(self.features) if self.features else np.zeros((0, len(FEATURES))),
            y=np.concatenate(self.labels) if self.labels else np.zeros(0),
            sizes=sizes,
            codes=np.array([c for group in self.codes for c in group]),
            gold=np.array(self.gold),
            docs=np.array(self.docs),
            seen=np.array(self.seen),
            feature_names=np.array(FEATURES),
        )


def collect(
    store: CatalogStore,
    mentions: Sequence[Mention],
    sources_of: dict[str, tuple[str, ...]],
    dense: DenseRetriever | None,
    label: str,
) -> Examples:
    """Search every mention with the alias sources of its document (``sources_of``)."""
    examples = Examples([], [], [], [], [], [])
    by_sources: dict[tuple[str, ...], tuple[SearchPipeline, set]] = {}
    for mention in tqdm(mentions, desc=label, unit="mention", mininterval=5):
        sources = sources_of[mention.doc_id]
        if sources not in by_sources:
            config = PipelineConfig(alias_sources=sources)
            by_sources[sources] = (
                SearchPipeline(store, config=config, dense=dense), store.alias_norms(sources)
            )
        pipeline, seen_norms = by_sources[sources]
        # the app's own query understanding, candidate space and features
        space, features = pipeline.candidate_space(pipeline.analyze(mention.text))
        codes = [e.code for e in space.pool]
        examples.features.append(features)
        examples.labels.append(labels(codes, mention.code, store))
        examples.codes.append(codes)
        examples.gold.append(mention.code)
        examples.docs.append(mention.doc_id)
        examples.seen.append(normalize_text(mention.text) in seen_norms)
    return examples


def labels(codes: Sequence[str], gold: str, store: CatalogStore) -> np.ndarray:
    """Graded relevance: 2 the gold code (or, for a gold code lacking its 7th character as
    CodiEsp's injuries do, any valid code extending it: the 7th character is the
    completion's choice), 1 the gold code's category, 0 anything else."""
    record = store.find(gold)
    lenient = record is None or not record.valid
    return np.array([
        2 if c == gold or (lenient and c.startswith(gold)) else 1 if c[:3] == gold[:3] else 0
        for c in codes
    ], dtype=np.float32)


def synthetic_mentions(
    store: CatalogStore,
    mentions: Sequence[Mention],
    n: int,
    seed: int,
    exclude: frozenset[str] = frozenset(),
) -> list[Mention]:
    """Up to ``n`` template mentions of valid codes in the categories of ``mentions``, but
    none whose normalised text is in ``exclude``."""
    from training.data.catalog_view import CatalogView
    from training.data.synthetic import GeneratorContext, make_generator

    view = CatalogView.load(store)
    generator = make_generator(
        "templates", GeneratorContext(view, AbbreviationTable.default(), variants_per_code=1)
    )
    categories = {m.code[:3] for m in mentions}
    codes = [r for r in view.records.values() if r.valid and r.code[:3] in categories]
    rng = random.Random(seed)
    rng.shuffle(codes)
    out: list[Mention] = []
    for example in generator.generate(codes, rng):  # codes without Spanish text give none
        if normalize_text(example.query) in exclude:
            continue
        out.append(Mention(f"synthetic-{len(out)}", example.code, example.query, "", 0))
        if len(out) >= n:
            break
    return out


def training_queries(path: Path) -> frozenset[str]:
    """The normalised queries of a ``training.data.build`` examples file."""
    with open(path, encoding="utf-8") as handle:
        return frozenset(normalize_text(json.loads(line)["query"]) for line in handle)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m training.ranker.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("training/runs/ranker"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--train", type=Path, default=codiesp_file("train"))
    parser.add_argument("--dev", type=Path, default=codiesp_file("dev"))
    parser.add_argument("--limit", type=int, help="Only the first N mentions of each split.")
    parser.add_argument("--synthetic", type=int, default=3000,
                        help="Synthetic template mentions (0: none).")
    parser.add_argument("--parts", default="train,dev,synthetic",
                        help="Which example files to (re)build.")
    parser.add_argument("--resources", type=Path,
                        help="Resources holding the encoder and index (default: the app's).")
    parser.add_argument("--encoder-data", type=Path, metavar="EXAMPLES",
                        help="The query encoder's training pairs: synthetic mentions among "
                             "them are left out (the encoder knows them by heart).")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    train = list(read_codiesp_mentions(args.train))[: args.limit]
    dev = list(read_codiesp_mentions(args.dev))[: args.limit]
    train_docs = {m.doc_id for m in train}
    if train_docs & {m.doc_id for m in dev}:
        raise SystemExit("train and dev share documents: refusing to build leaking examples")
    catalog = args.out / "catalog.db"
    if catalog.exists():
        catalog.unlink()
    started = time.perf_counter()
    build_fold_catalog(catalog, train, args.folds, args.seed)
    store = CatalogStore(catalog)
    load = load_dense(store, args.resources)
    if load.retriever is None:
        log.warning("no dense stage: %s", load.reason)
    sources_of = {d: fold_sources(args.folds, fold_of(d, args.folds, args.seed))
                  for d in train_docs}
    parts = set(args.parts.split(","))
    if "train" in parts:
        collect(store, train, sources_of, load.retriever, "train").save(args.out / "train.npz")
    every = fold_sources(args.folds)
    if "dev" in parts:
        collect(store, dev, dict.fromkeys({m.doc_id for m in dev}, every), load.retriever,
                "dev").save(args.out / "dev.npz")
    if "synthetic" in parts and args.synthetic:
        exclude = training_queries(args.encoder_data) if args.encoder_data else frozenset()
        synthetic = synthetic_mentions(store, train, args.synthetic, args.seed, exclude)
        collect(store, synthetic, dict.fromkeys({m.doc_id for m in synthetic}, every),
                load.retriever, "synthetic").save(args.out / "synthetic.npz")
    facts = {"folds": args.folds, "seed": args.seed, "train_mentions": len(train),
             "dev_mentions": len(dev), "synthetic_mentions": args.synthetic,
             "features": list(FEATURES),
             "dense": load.retriever is not None,
             "synthetic_excluded": str(args.encoder_data) if args.encoder_data else None,
             "seconds": round(time.perf_counter() - started, 1)}
    (args.out / "examples.json").write_text(json.dumps(facts, indent=2) + "\n", "utf-8")
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
