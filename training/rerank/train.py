"""Train the cross-encoder listwise on groups of one positive and hard negatives.

    python -m training.rerank.train --data build/data-small/examples.jsonl \\
        --base build/pruned --out build/reranker [--config small|full] \\
        [--kinds sibling,qualifier,retrieved] [--set key=value ...]

Queries are the data builder's pairs (CodiEsp train mentions, synthetic and catalog text;
never dev). Negatives of kind ``retrieved`` are the first stage's top wrong codes: the
hybrid pipeline over a catalog whose aliases come from CodiEsp train only. The same command
runs the small configuration on CPU and the full one on a GPU (picked automatically).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from app.catalog.store import CatalogStore
from app.search.passages import passage_text
from training.config import with_overrides
from training.data.sources.codiesp import HELD_OUT_SOURCES
from training.loop import loss_summary, warmup_cosine
from training.rerank.groups import (
    NEGATIVE_KINDS,
    Group,
    NegativeMiner,
    Retrieve,
    build_groups,
    read_groups,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RerankConfig:
    """Hyper-parameters; ``small`` fits a 2-core CPU session, ``full`` a GPU."""

    steps: int = 600
    groups_per_batch: int = 8
    group_size: int = 8
    layers: int = 4
    lr: float = 5e-5
    head_lr: float = 1e-3
    warmup: float = 0.1
    max_length: int = 64
    prefixes: bool = False
    max_groups: int = 4000
    retrieve_k: int = 32
    spanish_only: bool = True
    log_every: int = 10
    seed: int = 13


CONFIGS = {
    "small": RerankConfig(),
    "full": RerankConfig(
        steps=4000,
        groups_per_batch=32,
        group_size=16,
        lr=3e-5,
        max_groups=30000,
    ),
}


def select_pairs(
    rows: Sequence[tuple[str, str, str, str]], config: RerankConfig, rng: random.Random
) -> list[tuple[str, str, str]]:
    """``(query, code, source)`` for groups: Spanish rows (when asked), real mentions first,
    at most ``max_groups``.

    Raises:
        ValueError: a row comes from an evaluation split (CodiEsp dev or test).
    """
    leaked = sorted({s for _, _, s, _ in rows if s in HELD_OUT_SOURCES})
    if leaked:
        raise ValueError(f"training rows from evaluation splits: {', '.join(leaked)}")
    kept = [(q, c, s) for q, c, s, lang in rows if lang == "es" or not config.spanish_only]
    rng.shuffle(kept)
    kept.sort(key=lambda r: r[2] != "codiesp-train")  # stable: mentions, then the rest
    return kept[: config.max_groups]


def load_rows(path: Path) -> list[tuple[str, str, str, str]]:
    """``(query, code, source, lang)`` from the data builder's JSONL."""
    with open(path, encoding="utf-8") as handle:
        return [(r["query"], r["code"], r["source"], r["lang"]) for r in map(json.loads, handle)]


def group_card(groups: Sequence[Group], kinds: Sequence[str]) -> dict:
    """What the groups hold: counts per source and per negative kind."""
    return {
        "groups": len(groups),
        "codes": len({g.positive for g in groups}),
        "negative_kinds": list(kinds),
        "by_source": dict(Counter(g.source for g in groups).most_common()),
        "negatives_by_kind": dict(Counter(k for g in groups for _, k in g.negatives)),
        "mean_group_size": round(
            1 + sum(len(g.negatives) for g in groups) / max(1, len(groups)), 2
        ),
    }


def group_batches(groups: Sequence[Group], size: int, rng: random.Random) -> Iterator[list[Group]]:
    """Endless batches of ``size`` groups, reshuffled every pass."""
    size = min(size, len(groups))
    while True:
        order = list(groups)
        rng.shuffle(order)
        for i in range(0, len(order) - size + 1, size):
            yield order[i : i + size]


def train(
    groups: Sequence[Group], out: Path, base: Path, store: CatalogStore, config: RerankConfig
) -> dict:
    """Fine-tune a cross-encoder on ``groups``; write the checkpoint and ``train_log.json``."""
    import torch
    from tqdm import tqdm

    from training.rerank.model import CrossEncoder, encode_pairs, listwise_loss, pair_encoder

    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = CrossEncoder.from_base(base, config.layers).to(device).train()
    encoder = pair_encoder(base / "tokenizer.json", config.max_length, config.prefixes)
    passages: dict[str, str] = {}

    def passage(code: str) -> str:
        if code not in passages:
            passages[code] = passage_text(store.get(code))
        return passages[code]

    optimizer = torch.optim.AdamW(
        [
            {"params": model.bert.parameters(), "lr": config.lr},
            {"params": model.head.parameters(), "lr": config.head_lr},
        ],
        weight_decay=0.01,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(config.steps, config.warmup)
    )
    stream = group_batches(groups, config.groups_per_batch, rng)
    history: list[float] = []
    started = time.time()
    progress = tqdm(range(config.steps), desc="rerank", unit="step")
    for step in progress:
        batch = next(stream)
        width = min(len(g.negatives) for g in batch) + 1
        queries = [g.query for g in batch for _ in range(width)]
        codes = [c for g in batch for c in [g.positive, *(n for n, _ in g.negatives[: width - 1])]]
        ids, mask = encode_pairs(encoder, queries, [passage(c) for c in codes], device)
        loss = listwise_loss(model(ids, mask).view(len(batch), width))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        history.append(float(loss))
        if (step + 1) % config.log_every == 0:
            recent = sum(history[-config.log_every :]) / config.log_every
            progress.set_postfix(loss=f"{recent:.3f}")
            log.info("step %d loss %.4f", step + 1, recent)
    model.eval()
    model.save(out, base / "tokenizer.json")
    summary = {
        "config": asdict(config),
        "device": device,
        "seconds": round(time.time() - started, 1),
        **loss_summary(history),
        "base": str(base),
    }
    (out / "train_log.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def hybrid_retrieve(store: CatalogStore) -> Retrieve:
    """The first stage's ranking as a ``retrieve`` function (hybrid when an index serves)."""
    from app.search.bundle import open_pipeline
    from app.search.pipeline import PipelineConfig

    pipeline, note = open_pipeline(store, PipelineConfig(rerank=False))
    if note:
        log.warning("retrieved negatives come from lexical search only: %s", note)
    return lambda query, k: [r.code for r in pipeline.search(query, k)]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    from app.catalog.default import build_default_catalog
    from training.data.catalog_view import CatalogView

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="examples.jsonl")
    parser.add_argument("--out", type=Path, default=Path("build/reranker"))
    parser.add_argument("--base", type=Path, default=Path("build/pruned"))
    parser.add_argument("--config", choices=sorted(CONFIGS), default="small")
    parser.add_argument(
        "--kinds",
        default=",".join(NEGATIVE_KINDS),
        help="Negative kinds to use (ablations drop one).",
    )
    parser.add_argument(
        "--groups",
        type=Path,
        action="append",
        default=[],
        help="groups.jsonl of a recipe run, added to the mined groups",
    )
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = with_overrides(CONFIGS[args.config], args.set)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    if unknown := set(kinds) - set(NEGATIVE_KINDS):
        parser.error(f"unknown negative kinds: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog.db"
        build_default_catalog(catalog, alias_splits=("train",))
        store = CatalogStore(catalog)
        miner = NegativeMiner(CatalogView.load(store).records.values())
        pairs = select_pairs(load_rows(args.data), config, random.Random(config.seed))
        retrieve = hybrid_retrieve(store) if "retrieved" in kinds else None
        log.info("building %d groups (%s)", len(pairs), ", ".join(kinds))
        groups = build_groups(
            pairs, miner, config.seed, config.group_size, retrieve, config.retrieve_k, kinds
        )
        for path in args.groups:
            extra = read_groups(path, miner.records)
            if leaked := sorted({g.source for g in extra} & HELD_OUT_SOURCES):
                parser.error(f"{path}: groups from evaluation splits: {', '.join(leaked)}")
            log.info("adding %d groups from %s", len(extra), path)
            groups += extra
        card = group_card(groups, kinds)
        log.info("groups: %s", json.dumps(card))
        summary = train(groups, args.out, args.base, store, config)
        store.close()
    (args.out / "groups_card.json").write_text(json.dumps(card, indent=2) + "\n")
    log.info(
        "done in %ss: loss %s -> %s",
        summary["seconds"],
        summary["loss_first"],
        summary["loss_last"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
