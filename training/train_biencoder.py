"""Fine-tune the bi-encoder: contrastive in-batch negatives + sibling hard negatives, Matryoshka.

    python -m training.train_biencoder --data build/data/examples.jsonl --out build/biencoder \\
        [--config small|full] [--seed 13] [--set key=value ...]

Each step takes a batch of (query, code) pairs with distinct codes. The loss for a query is a
softmax over every passage in the batch: its own code's passage, the other queries' codes, and
one hard negative per pair — a sibling code of the same category that differs in site,
laterality, severity, episode or etiology. The loss is summed over Matryoshka prefixes so that
the index may use a shorter vector if it measures as good. The same command runs the small
configuration on CPU and the full one on a GPU (picked automatically).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from app.catalog.store import CatalogStore
from app.search.passages import passage_text
from training.config import with_overrides
from training.loop import loss_summary, warmup_cosine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; ``small`` fits a 2-core CPU session, ``full`` a GPU."""

    steps: int = 200
    batch_size: int = 32
    lr: float = 3e-5
    warmup: float = 0.1
    temperature: float = 0.05
    max_length: int = 48
    hard_negatives: int = 1
    matryoshka_dims: tuple[int, ...] = (384, 256, 128, 64)
    freeze_embeddings: bool = True
    freeze_layers: int = 6  # the lowest layers stay fixed: faster steps on CPU, less drift
    max_examples_per_code: int = 4
    log_every: int = 10
    seed: int = 13
    sources: tuple[str, ...] = field(default=())  # empty: every source in the data
    # "source=n" repeats that source's pairs n times: real Spanish mentions are scarce
    source_repeat: tuple[str, ...] = ("codiesp-train=3", "synthetic=2")



CONFIGS = {
    "small": TrainConfig(),
    "full": TrainConfig(
        steps=3000,
        batch_size=128,
        lr=5e-5,
        max_length=64,
        freeze_layers=0,
        max_examples_per_code=20,
    ),
}


def load_examples(path: Path, sources: Sequence[str] = ()) -> list[tuple[str, str, str]]:
    """(query, code, source) from the data builder's JSONL, optionally only ``sources``."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if not sources or row["source"] in sources:
                rows.append((row["query"], row["code"], row["source"]))
    return rows


def repeat_sources(
    rows: list[tuple[str, str, str]], repeat: Sequence[str]
) -> list[tuple[str, str]]:
    """(query, code) pairs, those of each ``"source=n"`` in ``repeat`` taken n times."""
    times = {name: int(n) for name, _, n in (r.partition("=") for r in repeat)}
    return [(q, c) for q, c, source in rows for _ in range(times.get(source, 1))]


class SiblingMiner:
    """Hard negatives: codes under the same parent (else the same category) as the positive."""

    def __init__(self, store: CatalogStore):
        rows = store.query(
            "SELECT code, parent, category FROM codes "
            "WHERE kind IN ('category', 'subcategory', 'extended')"
        )
        self.by_parent: dict[str, list[str]] = defaultdict(list)
        self.by_category: dict[str, list[str]] = defaultdict(list)
        self.parent: dict[str, str | None] = {}
        self.category: dict[str, str | None] = {}
        for code, parent, category in rows:
            self.parent[code] = parent
            self.category[code] = category
            if parent:
                self.by_parent[parent].append(code)
            if category:
                self.by_category[category].append(code)

    def negatives(self, code: str, n: int, rng: random.Random) -> list[str]:
        pool = [c for c in self.by_parent.get(self.parent.get(code) or "", []) if c != code]
        if len(pool) < n:
            extra = self.by_category.get(self.category.get(code) or "", [])
            pool = list(dict.fromkeys(pool + [c for c in extra if c != code]))
        return rng.sample(pool, min(n, len(pool)))


def batches(pairs: list[tuple[str, str]], size: int, rng: random.Random):
    """Endless shuffled batches in which every code appears at most once."""
    while True:
        order = pairs[:]
        rng.shuffle(order)
        batch: list[tuple[str, str]] = []
        seen: set[str] = set()
        for query, code in order:
            if code in seen:
                continue
            batch.append((query, code))
            seen.add(code)
            if len(batch) == size:
                yield batch
                batch, seen = [], set()


def cap_per_code(rows: list[tuple], cap: int, rng: random.Random) -> list[tuple]:
    """At most ``cap`` rows per code (``row[1]``), so frequent codes don't dominate."""
    by_code: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_code[row[1]].append(row)
    out = []
    for code in sorted(by_code):
        group = by_code[code]
        rng.shuffle(group)
        out.extend(group[:cap])
    return out


def contrastive_loss(q, p, temperature: float, dims: Sequence[int]):
    """Matryoshka InfoNCE: query i's positive is passage i; every other passage is a negative."""
    import torch
    import torch.nn.functional as F

    targets = torch.arange(q.shape[0], device=q.device)
    total = 0.0
    for dim in dims:
        qd = F.normalize(q[:, :dim], dim=-1)
        pd = F.normalize(p[:, :dim], dim=-1)
        total = total + F.cross_entropy(qd @ pd.T / temperature, targets)
    return total / len(dims)


def train(data: Path, out: Path, base: Path, store: CatalogStore, config: TrainConfig) -> dict:
    """Fine-tune ``base`` on ``data``; write the checkpoint and ``train_log.json`` to ``out``."""
    import torch
    from tokenizers import Tokenizer
    from tqdm import tqdm
    from transformers import BertModel

    from training.base_model import mean_pool

    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    miner = SiblingMiner(store)
    rows = [r for r in load_examples(data, config.sources) if r[1] in miner.parent]
    rows = cap_per_code(rows, config.max_examples_per_code, rng)
    pairs = repeat_sources(rows, config.source_repeat)
    log.info("%d training pairs over %d codes", len(pairs), len({c for _, c in pairs}))
    passage_cache: dict[str, str] = {}

    def passage(code: str) -> str:
        if code not in passage_cache:
            passage_cache[code] = "passage: " + passage_text(store.get(code))
        return passage_cache[code]

    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    tokenizer.enable_truncation(config.max_length)
    tokenizer.enable_padding(pad_id=1, pad_token="<pad>")
    model = BertModel.from_pretrained(base, add_pooling_layer=False).to(device)
    if config.freeze_embeddings:
        model.embeddings.requires_grad_(False)
    for layer in model.encoder.layer[: config.freeze_layers]:
        layer.requires_grad_(False)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(config.steps, config.warmup)
    )

    def embed(texts: list[str]):
        enc = tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in enc], device=device)
        mask = torch.tensor([e.attention_mask for e in enc], device=device)
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        return mean_pool(hidden, mask)

    history = []
    stream = batches(pairs, config.batch_size, rng)
    started = time.time()
    progress = tqdm(range(config.steps), desc="train", unit="step")
    for step in progress:
        batch = next(stream)
        queries = ["query: " + q for q, _ in batch]
        positives = [c for _, c in batch]
        in_batch = set(positives)
        negatives = [
            n
            for c in positives
            for n in miner.negatives(c, config.hard_negatives, rng)
            if n not in in_batch
        ]
        passages = [passage(c) for c in positives + negatives]
        q = embed(queries)
        p = embed(passages)
        loss = contrastive_loss(q, p, config.temperature, config.matryoshka_dims)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        history.append(float(loss))
        if (step + 1) % config.log_every == 0:
            recent = sum(history[-config.log_every :]) / config.log_every
            progress.set_postfix(loss=f"{recent:.3f}")
            log.info("step %d loss %.4f lr %.2e", step + 1, recent, scheduler.get_last_lr()[0])
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    (out / "tokenizer.json").write_bytes((base / "tokenizer.json").read_bytes())
    summary = {
        "config": asdict(config),
        "device": device,
        "pairs": len(pairs),
        "seconds": round(time.time() - started, 1),
        **loss_summary(history),
        "data": str(data),
        "base": str(base),
    }
    (out / "train_log.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    from app.catalog.open import open_catalog

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="examples.jsonl")
    parser.add_argument("--out", type=Path, default=Path("build/biencoder"))
    parser.add_argument("--base", type=Path, default=Path("build/pruned"))
    parser.add_argument("--config", choices=sorted(CONFIGS), default="small")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = with_overrides(CONFIGS[args.config], args.set)
    if args.seed is not None:
        config = replace(config, seed=args.seed)
    summary = train(args.data, args.out, args.base, open_catalog(), config)
    log.info(
        "done in %ss: loss %s -> %s",
        summary["seconds"],
        summary["loss_first"],
        summary["loss_last"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
