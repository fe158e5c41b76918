"""Fine-tune the query encoder alone against the index's fixed passage vectors.

    python -m training.train_query_encoder --data build/data-full/examples.jsonl \\
        --out build/query-encoder [--config small|full] [--max-minutes 120] [--set key=value]
    python -m training.train_query_encoder --out build/query-encoder --export resources/model

At search time only the query side runs: passage vectors live in the index. So the passage
vectors are read once from the bundled index (exactly what it holds), and only the query
encoder is trained, with a softmax over the **whole catalog** (query · every passage / τ, one
matrix product per batch): every sibling and every other chapter is a negative at every step,
and no passage is encoded. The loss is taken at the index's dimension and its shorter
Matryoshka prefixes.

Making each CPU second count: the embeddings and the lowest layers stay frozen and their
output is computed once per text and cached (``cache.pt``); steps run only the trainable top
layers over length-bucketed batches. Typist variants (accents, one edit) are drawn when the
cache is built. Each epoch re-weights the examples the model still gets wrong.

The run is resumable: ``checkpoint.pt`` (top layers, optimiser, schedule, random state,
position) is written aside and renamed every ``checkpoint_minutes``; run the same command
again after a kill. Dev (CodiEsp dev, never trained on) is scored at each checkpoint and the
best top layers are kept (``best.pt``). ``--export`` writes a two-tower encoder directory
(:func:`training.export.export_towers`): the tuned query tower and the unchanged passage
tower in one ONNX file, checked against the index.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from app.atomic import atomic_path, atomic_text_writer
from app.catalog.aliases import read_codiesp_mentions
from app.catalog.default import codiesp_file
from app.search.normalize import normalize_text
from training.config import with_overrides
from training.data.sources.codiesp import LeakageError, check_training_file
from training.loop import warmup_cosine
from training.typos import Typist

log = logging.getLogger(__name__)

CACHE_FILE = "cache.pt"
CHECKPOINT_FILE = "checkpoint.pt"
BEST_FILE = "best.pt"
LOG_FILE = "train_log.json"


@dataclass(frozen=True)
class QueryConfig:
    """Hyper-parameters; ``small`` fits 2 CPU cores, ``full`` trains every layer on a GPU."""

    epochs: int = 3
    batch_size: int = 64
    accumulate: int = 1  # gradient accumulation: effective batch = batch_size * accumulate
    lr: float = 4e-5
    warmup: float = 0.05
    temperature: float = 0.05
    max_length: int = 40
    trainable_layers: int = 4  # the top layers trained; the rest are cached
    dims: tuple[int, ...] = (256, 128)  # the index dimension first, then shorter prefixes
    other_languages: int = 12000  # non-Spanish examples sampled (the queries are Spanish)
    typo_variants: int = 2  # typist variants per CodiEsp train mention
    codiesp_repeat: int = 2  # real mentions are scarce: each is seen this many times an epoch
    hard_weight: float = 2.0  # loss weight of an example the model ranked wrong last epoch
    threads: int = 2
    checkpoint_minutes: float = 10.0
    dev_limit: int = 0  # score only the first n dev mentions (0: all; quick runs and tests)
    seed: int = 13


CONFIGS = {
    "small": QueryConfig(),
    "full": QueryConfig(
        epochs=10, batch_size=256, trainable_layers=12, other_languages=200000, lr=3e-5
    ),
}


# ---------------------------------------------------------------- passages and examples


def passage_matrix(index_dir: Path) -> tuple[np.ndarray, list[str]]:
    """The index's unit passage vectors (float32, its dimension) and their codes, row order."""
    import onnxruntime  # noqa: F401  (must come before usearch; see app.search.vector_index)
    from usearch.index import Index

    codes = (index_dir / "keys.txt").read_text(encoding="utf-8").split("\n")
    codes = [c for c in codes if c]
    index = Index.restore(str(index_dir / "vectors.usearch"), view=True)
    rows = np.stack(index.get(np.arange(len(codes), dtype=np.uint64))).astype(np.float32)
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    return rows, codes


@dataclass(frozen=True)
class Text:
    query: str
    row: int  # the gold passage's row in the passage matrix
    source: str


def training_texts(data: Path, rows: dict[str, int], config: QueryConfig) -> list[Text]:
    """Spanish examples, a sample of the other languages, and CodiEsp train mentions repeated
    with typist variants. Refuses a data file that holds CodiEsp dev/test mentions."""
    check_training_file(data)
    spanish, other = [], []
    with open(data, encoding="utf-8") as handle:
        for line in handle:
            example = json.loads(line)
            if example["source"] in ("codiesp-dev", "codiesp-test"):
                raise LeakageError(f"{data}: held-out CodiEsp mentions in the training data")
            row = rows.get(example["code"])
            if row is None:
                continue
            text = Text(example["query"], row, example["source"])
            (spanish if example["lang"] == "es" else other).append(text)
    rng = random.Random(config.seed)
    rng.shuffle(other)
    texts = spanish + other[: config.other_languages]
    mentions = [t for t in spanish if t.source == "codiesp-train"]
    for variant in range(config.typo_variants):
        typist = Typist(seed=config.seed + variant, accent_p=0.5, edit_p=1.0)
        texts += [Text(typist.type(t.query), t.row, "codiesp-typo") for t in mentions]
    texts += mentions * (config.codiesp_repeat - 1)
    return texts


@dataclass(frozen=True)
class DevMention:
    text: str
    gold: str
    seen: bool  # the normalised mention is a train mention (an alias when measuring on dev)


def dev_mentions(limit: int = 0) -> list[DevMention]:
    """CodiEsp dev diagnosis mentions (the first ``limit`` if given): selection only."""
    seen = {normalize_text(m.text) for m in read_codiesp_mentions(codiesp_file("train"))}
    mentions = [
        DevMention(m.text, m.code, normalize_text(m.text) in seen)
        for m in read_codiesp_mentions(codiesp_file("dev"))
    ]
    return mentions[:limit] if limit else mentions


# ---------------------------------------------------------------- the split model


class Towers:
    """A BertModel split at its frozen bottom (cached) and its trainable top layers."""

    def __init__(self, model, trainable_layers: int, max_length: int, encoder_dir: Path):
        from tokenizers import Tokenizer

        from app.search.encoder import CONFIG_FILE, TOKENIZER_FILE, EncoderConfig

        self.model = model
        self.split = model.config.num_hidden_layers - trainable_layers
        self.prefix = EncoderConfig.read(encoder_dir / CONFIG_FILE).query_prefix
        self.tokenizer = Tokenizer.from_file(str(encoder_dir / TOKENIZER_FILE))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        model.requires_grad_(False)
        for layer in self.top_layers:
            layer.requires_grad_(True)

    @property
    def top_layers(self):
        return self.model.encoder.layer[self.split :]

    def _mask(self, hidden, mask):
        extended, _ = self.model._create_attention_masks(
            attention_mask=mask,
            encoder_attention_mask=None,
            embedding_output=hidden,
            encoder_hidden_states=None,
            past_key_values=None,
        )
        return extended

    def bottom(self, ids, mask):
        hidden = self.model.embeddings(input_ids=ids)
        extended = self._mask(hidden, mask)
        for layer in self.model.encoder.layer[: self.split]:
            hidden = layer(hidden, attention_mask=extended)
        return hidden

    def top(self, hidden, mask):
        from training.base_model import mean_pool

        extended = self._mask(hidden, mask)
        for layer in self.top_layers:
            hidden = layer(hidden, attention_mask=extended)
        return mean_pool(hidden, mask)

    def pieces(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch([self.prefix + t for t in texts])]


class Cache:
    """The bottom's output for every text, fp16, concatenated token rows with offsets."""

    def __init__(self, hidden, offsets: np.ndarray):
        self.hidden, self.offsets = hidden, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def length(self, i: int) -> int:
        return int(self.offsets[i + 1] - self.offsets[i])

    @classmethod
    def build(cls, towers: Towers, texts: Sequence[str], batch: int = 256) -> Cache:
        import torch
        from tqdm import tqdm

        pieces = towers.pieces(texts)
        lengths = np.array([len(p) for p in pieces])
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        hidden = torch.zeros(
            (int(offsets[-1]), towers.model.config.hidden_size), dtype=torch.float16
        )
        order = np.argsort(lengths, kind="stable")
        with torch.no_grad():
            for start in tqdm(range(0, len(order), batch), desc="cache", unit="batch"):
                rows = order[start : start + batch]
                ids, mask = _pad([pieces[i] for i in rows])
                out = towers.bottom(ids, mask)
                for j, i in enumerate(rows):
                    hidden[offsets[i] : offsets[i + 1]] = out[j, : lengths[i]].half()
        return cls(hidden, offsets)

    def batch(self, rows: Sequence[int]):
        """Padded float32 hidden states and the attention mask for ``rows``."""
        import torch

        width = max(self.length(i) for i in rows)
        hidden = torch.zeros((len(rows), width, self.hidden.shape[1]))
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, i in enumerate(rows):
            n = self.length(i)
            hidden[j, :n] = self.hidden[self.offsets[i] : self.offsets[i + 1]].float()
            mask[j, :n] = 1
        return hidden, mask


def _pad(pieces: Sequence[list[int]]):
    """Torch ``input_ids`` and ``attention_mask`` padded as the runtime pads them."""
    import torch

    from app.search.onnx_runtime import pad_ids

    feed = pad_ids(pieces)
    return torch.from_numpy(feed["input_ids"]), torch.from_numpy(feed["attention_mask"])


def length_batches(cache: Cache, size: int, rng: random.Random) -> list[list[int]]:
    """Batches of texts of similar length (less padding), in random order."""
    order = list(range(len(cache)))
    rng.shuffle(order)
    order.sort(key=cache.length)  # stable: random within a length
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


def full_softmax_loss(queries, passages, gold, weights, temperature: float, dims: Sequence[int]):
    """Cross-entropy of each query's gold passage against every passage, per prefix dimension."""
    import torch.nn.functional as F

    total = 0.0
    for dim in dims:
        q = F.normalize(queries[:, :dim], dim=-1)
        p = passages[dim]
        loss = F.cross_entropy(q @ p.T / temperature, gold, reduction="none")
        total = total + (loss * weights).sum() / weights.sum()
    return total / len(dims)


# ---------------------------------------------------------------- evaluation


def embed_cached(towers: Towers, cache: Cache, dim: int, batch: int = 256) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    out = np.zeros((len(cache), dim), dtype=np.float32)
    order = sorted(range(len(cache)), key=cache.length)
    with torch.no_grad():
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            hidden, mask = cache.batch(rows)
            out[rows] = F.normalize(towers.top(hidden, mask)[:, :dim], dim=-1).numpy()
    return out


def dev_scores(
    queries: np.ndarray,
    passages: np.ndarray,
    codes: Sequence[str],
    dev: Sequence[DevMention],
    store,
) -> dict[str, float]:
    """``training.metrics.score`` of exact whole-catalog dense retrieval, plus recall@50."""
    from training.dense_eval import exact_top
    from training.metrics import MentionResult, score

    valid = {c: bool(r.valid) for c, r in store.get_many(sorted({m.gold for m in dev})).items()}
    results, hits50 = [], []
    for mention, ranked in zip(dev, exact_top(queries, passages, codes, 50), strict=True):
        results.append(
            MentionResult(
                mention.text, mention.gold, ranked[:10], mention.seen, 0.0,
                valid.get(mention.gold, False),
            )
        )  # fmt: skip
        hits50.append(mention.gold in ranked)
    scores = score(results, store.chapter_of)
    hits = np.array(hits50)
    unseen = ~np.array([m.seen for m in dev])
    scores["all_exact_r@50"] = float(hits.mean())
    scores["unseen_exact_r@50"] = float(hits[unseen].mean())
    return scores


KEY_METRICS = (
    "all_exact_top1",
    "all_category_top1",
    "all_exact_map@10",
    "unseen_exact_top1",
    "unseen_category_top1",
    "unseen_exact_r@50",
)


# ---------------------------------------------------------------- the run


def _top_state(towers: Towers) -> dict:
    return {k: v.clone() for k, v in towers.top_layers.state_dict().items()}


def _save(obj, path: Path) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def train(
    data: Path,
    out: Path,
    init: Path,
    index_dir: Path,
    config: QueryConfig,
    max_minutes: float | None = None,
) -> dict:
    """Run (or resume) the training in ``out``; returns the log written to ``train_log.json``."""
    import torch
    from tqdm import tqdm

    from app.catalog.open import open_catalog
    from training.dequantize import load_bert

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    out.mkdir(parents=True, exist_ok=True)
    passages_np, codes = passage_matrix(index_dir)
    rows = {code: i for i, code in enumerate(codes)}
    passages = {
        d: torch.nn.functional.normalize(torch.from_numpy(passages_np[:, :d]), dim=-1)
        for d in config.dims
    }
    towers = Towers(
        load_bert(init / "encoder.onnx"), config.trainable_layers, config.max_length, init
    )
    texts = training_texts(data, rows, config)
    dev = dev_mentions(config.dev_limit)
    cache_path = out / CACHE_FILE
    if cache_path.exists():
        saved = torch.load(cache_path, weights_only=False)
        cache, dev_cache = Cache(*saved["train"]), Cache(*saved["dev"])
        log.info("cache read from %s", cache_path)
    else:
        started = time.time()
        cache = Cache.build(towers, [t.query for t in texts])
        dev_cache = Cache.build(towers, [m.text for m in dev])
        _save(
            {"train": (cache.hidden, cache.offsets), "dev": (dev_cache.hidden, dev_cache.offsets)},
            cache_path,
        )
        log.info(
            "cached %d + %d texts in %.0f s", len(cache), len(dev_cache), time.time() - started
        )
    if len(cache) != len(texts):
        raise SystemExit(f"{cache_path} holds {len(cache)} texts, the data {len(texts)}")
    gold = torch.tensor([t.row for t in texts])
    store = open_catalog()
    dim = config.dims[0]

    def evaluate() -> dict[str, float]:
        towers.model.eval()
        scores = dev_scores(
            embed_cached(towers, dev_cache, dim), passages[dim].numpy(), codes, dev, store
        )
        towers.model.train()
        return {k: round(scores[k], 4) for k in KEY_METRICS}

    params = [p for p in towers.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.01)
    per_epoch = -(-len(texts) // config.batch_size)
    total_updates = -(-per_epoch * config.epochs // config.accumulate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(total_updates, config.warmup)
    )
    state = {
        "epoch": 0,
        "batch": 0,
        "weights": [1.0] * len(texts),
        "wrong": [False] * len(texts),  # this epoch's misses so far (the next epoch's weights)
        "history": [],
        "evals": [],
        "best": None,
        "seconds": 0.0,
        "pairs": 0,
    }
    checkpoint = out / CHECKPOINT_FILE
    if checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        if saved["config"] != asdict(config):
            raise SystemExit(f"{checkpoint} was written with other settings; use another --out")
        towers.top_layers.load_state_dict(saved["top"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
        random.setstate(saved["python_rng"])
        torch.set_rng_state(saved["torch_rng"])
        log.info("resumed at epoch %d batch %d", state["epoch"], state["batch"])
    else:
        state["evals"].append({"epoch": 0, "batch": 0, "pairs": 0, **evaluate()})
        state["best"] = state["evals"][-1]
        _save({"top": _top_state(towers), "eval": state["best"]}, out / BEST_FILE)
        log.info("before training: %s", state["best"])

    def save_checkpoint() -> None:
        _save(
            {
                "config": asdict(config),
                "top": _top_state(towers),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "state": state,
                "python_rng": random.getstate(),
                "torch_rng": torch.get_rng_state(),
            },
            checkpoint,
        )

    def checkpoint_and_eval() -> None:
        scores = {
            "epoch": state["epoch"],
            "batch": state["batch"],
            "pairs": state["pairs"],
            **evaluate(),
        }
        state["evals"].append(scores)
        if scores["all_exact_top1"] > state["best"]["all_exact_top1"]:
            state["best"] = scores
            _save({"top": _top_state(towers), "eval": scores}, out / BEST_FILE)
        save_checkpoint()
        write_log(out, config, state, len(texts))
        log.info("eval %s", scores)

    towers.model.train()
    deadline = time.time() + max_minutes * 60 if max_minutes else None
    last_checkpoint = time.time()
    stopped = False
    while state["epoch"] < config.epochs and not stopped:
        epoch_rng = random.Random(config.seed * 1000 + state["epoch"])
        batches = length_batches(cache, config.batch_size, epoch_rng)
        wrong = state["wrong"]
        progress = tqdm(
            range(state["batch"], len(batches)),
            desc=f"epoch {state['epoch'] + 1}",
            unit="batch",
            initial=state["batch"],
            total=len(batches),
        )
        for b in progress:
            rows_ = batches[b]
            started = time.time()
            hidden, mask = cache.batch(rows_)
            queries = towers.top(hidden, mask)
            weights = torch.tensor([state["weights"][i] for i in rows_])
            loss = full_softmax_loss(
                queries, passages, gold[rows_], weights, config.temperature, config.dims
            )
            (loss / config.accumulate).backward()
            if (b + 1) % config.accumulate == 0 or b + 1 == len(batches):
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            with torch.no_grad():  # which examples the model still ranks wrong (for re-weighting)
                q = torch.nn.functional.normalize(queries.detach()[:, :dim], dim=-1)
                best = (q @ passages[dim].T).argmax(dim=1)
                for i, miss in zip(rows_, (best != gold[rows_]).tolist(), strict=True):
                    wrong[i] = miss
            state["history"].append(round(loss.item(), 4))
            state["batch"] = b + 1
            state["pairs"] += len(rows_)
            state["seconds"] += time.time() - started
            progress.set_postfix(
                loss=f"{np.mean(state['history'][-20:]):.3f}",
                pairs_s=f"{state['pairs'] / max(state['seconds'], 1e-9):.0f}",
            )
            if time.time() - last_checkpoint > config.checkpoint_minutes * 60:
                checkpoint_and_eval()
                last_checkpoint = time.time()
            if deadline and time.time() > deadline:
                stopped = True
                break
        if not stopped:
            state["weights"] = [config.hard_weight if w else 1.0 for w in wrong]
            state["wrong"] = [False] * len(texts)
            state["epoch"] += 1
            state["batch"] = 0
    checkpoint_and_eval()
    return write_log(out, config, state, len(texts))


def write_log(out: Path, config: QueryConfig, state: dict, examples: int) -> dict:
    summary = {
        "config": asdict(config),
        "examples": examples,
        "epochs_done": state["epoch"],
        "pairs_trained": state["pairs"],
        "train_seconds": round(state["seconds"], 1),
        "pairs_per_second": round(state["pairs"] / max(state["seconds"], 1e-9), 1),
        "evals": state["evals"],
        "best": state["best"],
        "loss": state["history"][::10],
    }
    with atomic_text_writer(out / LOG_FILE) as fh:
        fh.write(json.dumps(summary, indent=2) + "\n")
    return summary


def tuned_model(run: Path, init: Path, config: QueryConfig):
    """The init encoder with the run's best top layers, and that checkpoint's dev scores."""
    import torch

    from training.dequantize import load_bert

    model = load_bert(init / "encoder.onnx")
    split = model.config.num_hidden_layers - config.trainable_layers
    best = torch.load(run / BEST_FILE, weights_only=False)
    model.encoder.layer[split:].load_state_dict(best["top"])
    return model.eval(), best["eval"]


def passage_agreement(encoder_dir: Path, index_dir: Path, sample: int = 400) -> float:
    """Mean cosine between ``encoder_dir``'s passage vectors and the index's, on a fixed sample."""
    from app.catalog.open import open_catalog
    from app.search.encoder import TextEncoder
    from app.search.passages import passage_text

    vectors, codes = passage_matrix(index_dir)
    rows = sorted(random.Random(0).sample(range(len(codes)), min(sample, len(codes))))
    records = open_catalog().get_many([codes[i] for i in rows])
    texts = [passage_text(records[codes[i]]) for i in rows if codes[i] in records]
    rows = [i for i in rows if codes[i] in records]
    encoded = TextEncoder(encoder_dir, dim=vectors.shape[1]).encode(texts, "passage")
    return float((encoded * vectors[rows]).sum(axis=1).mean())


def query_latency(encoder_dir: Path, n: int = 200) -> dict[str, float]:
    """p50/p95 milliseconds to encode one dev mention on 2 threads (what a search pays)."""
    from app.search.encoder import TextEncoder
    from training.metrics import latency_summary

    encoder = TextEncoder(encoder_dir, threads=2)
    texts = [m.text for m in dev_mentions(n)]
    encoder.encode_query(texts[0])  # warm-up
    times = []
    for text in texts:
        started = time.perf_counter()
        encoder.encode_query(text)
        times.append((time.perf_counter() - started) * 1000)
    return latency_summary(times)


def restamp_index(index_dir: Path, encoder_dir: Path) -> bool:
    """Record the exported encoder in the index's manifest (its passage tower is the one the
    index was built with, checked by :func:`passage_agreement`); False without a manifest."""
    from app.integrity import file_sha256
    from app.search.vector_index import MANIFEST_FILE, IndexManifest

    if not (index_dir / MANIFEST_FILE).exists():
        return False
    manifest = IndexManifest.read(index_dir)
    sha = file_sha256(encoder_dir / "encoder.onnx")
    replace(manifest, encoder_sha256=sha).write(index_dir)
    return True


def torch_queries(towers: Towers, texts: Sequence[str], dim: int) -> np.ndarray:
    """Unit query vectors of the torch model (the reference for the int8 export)."""
    import torch

    parts = []
    with torch.no_grad():
        for start in range(0, len(texts), 128):
            ids, mask = _pad(towers.pieces(texts[start : start + 128]))
            parts.append(towers.top(towers.bottom(ids, mask), mask)[:, :dim].numpy())
    vectors = np.concatenate(parts)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _export_and_check(
    query,
    passage,
    init: Path,
    index_dir: Path,
    staging: Path,
    config: QueryConfig,
    variant: str,
    reference: dict,
) -> tuple[float, dict, float]:
    """Export into ``staging`` as ``variant`` and measure it against ``reference`` (the dev
    rows of the init encoder and the torch model): (int8 drop, dev rows, passage agreement)."""
    from app.search.encoder import TextEncoder
    from training.export import export_towers

    export_towers(query, passage, init, staging, config.trainable_layers, variant)
    after = passage_agreement(staging, index_dir)
    if after < reference["agreement"] - 0.002:
        raise SystemExit(
            "the exported passage tower drifted from the index "
            f"({after:.4f} < {reference['agreement']:.4f})"
        )
    vectors, codes, dev, store = reference["dev"]
    int8 = TextEncoder(staging, dim=config.dims[0]).encode([m.text for m in dev], "query")
    rows = {
        **reference["rows"],
        "tuned query tower (int8)": dev_scores(int8, vectors, codes, dev, store),
    }
    drop = (
        rows["tuned query tower (torch)"]["all_exact_top1"]
        - rows["tuned query tower (int8)"]["all_exact_top1"]
    )
    return drop, rows, after


def run_config(saved: dict) -> QueryConfig:
    """The settings recorded in a run's ``train_log.json``."""
    return QueryConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in saved["config"].items()}
    )


def export_run(
    run: Path,
    init: Path,
    index_dir: Path,
    out: Path,
    report_dir: Path,
    require_gain: bool = True,
    max_int8_drop: float = 0.01,
) -> dict:
    """Export the run's best query tower beside ``init``'s passage tower, and check both.

    The passage tower must reproduce the index as well as ``init`` does (it is ``init``'s,
    re-quantised); the int8 query tower must stay within 0.01 dev exact top-1 of torch.
    Writes ``report_dir/report.md`` and ``metrics.json``.
    """
    from training.export import QUANT_VARIANTS

    saved = json.loads((run / LOG_FILE).read_text(encoding="utf-8"))
    config = run_config(saved)
    from app.catalog.open import open_catalog
    from app.search.encoder import TextEncoder
    from training.dequantize import load_bert

    query, best = tuned_model(run, init, config)
    passage = load_bert(init / "encoder.onnx")
    before = passage_agreement(init, index_dir)
    vectors, codes = passage_matrix(index_dir)
    dev = dev_mentions(config.dev_limit)
    texts = [m.text for m in dev]
    store = open_catalog()
    dim = config.dims[0]
    towers = Towers(query, config.trainable_layers, config.max_length, init)
    reference = {
        "agreement": before,
        "dev": (vectors, codes, dev, store),
        "rows": {
            name: dev_scores(vectors_, vectors, codes, dev, store)
            for name, vectors_ in (
                ("init encoder (int8)", TextEncoder(init, dim=dim).encode(texts, "query")),
                ("tuned query tower (torch)", torch_queries(towers, texts, dim)),
            )
        },
    }
    staging = out.with_name(out.name + ".new")
    variant = json.loads((init / "encoder.json").read_text(encoding="utf-8")).get(
        "quantization", "qint8-pc-emb"
    )
    # the bundle's rule: the first quantisation within 0.01 dev exact top-1 of torch (the
    # "-w" form leaves attention's activation products in float, in both towers: the passage
    # tower must then still reproduce the index, which passage_agreement checks)
    choices = [v for v in (variant, variant + "-w") if v in QUANT_VARIANTS]
    for query_variant in choices:
        try:
            drop, rows, after = _export_and_check(
                query, passage, init, index_dir, staging, config, query_variant, reference
            )
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("query tower %s: int8 costs %.4f exact top-1 on dev", query_variant, drop)
        if drop <= max_int8_drop:
            break
        shutil.rmtree(staging)
    else:
        raise SystemExit(
            f"every quantisation costs more than {max_int8_drop} exact top-1 on dev ({drop:.4f})"
        )
    int8 = rows["tuned query tower (int8)"]
    if require_gain and int8["all_exact_top1"] <= rows["init encoder (int8)"]["all_exact_top1"]:
        shutil.rmtree(staging)
        raise SystemExit(f"the tuned query tower does not beat {init} on dev: not exported")
    latency = {"init": query_latency(init), "exported": query_latency(staging)}
    if out.exists():
        for name in ("encoder.onnx", "encoder.json", "tokenizer.json"):
            (staging / name).replace(out / name)
        staging.rmdir()
    else:
        staging.replace(out)
    restamped = restamp_index(index_dir, out)
    metrics = {
        "run": saved,
        "passage_agreement": {"init": round(before, 4), "exported": round(after, 4)},
        "int8_drop_exact_top1": round(drop, 4),
        "dev": {name: {k: round(r[k], 4) for k in KEY_METRICS} for name, r in rows.items()},
        "encoder_bytes": (out / "encoder.onnx").stat().st_size,
        "quantization": query_variant,
        "max_int8_drop": max_int8_drop,
        "query_latency_ms": latency,
        "index_restamped": restamped,
    }
    write_report(metrics, report_dir)
    return metrics


def write_report(metrics: dict, report_dir: Path) -> None:
    """``report.md`` and ``metrics.json`` of a query-encoder run and its export."""
    run, agreement = metrics["run"], metrics["passage_agreement"]
    latency = metrics["query_latency_ms"]
    lines = [
        "# Query encoder: asymmetric fine-tuning against the index's passage vectors",
        "",
        "Generated by `python -m training.train_query_encoder --export resources/model"
        + (
            f" --max-int8-drop {metrics['max_int8_drop']}"
            if metrics["max_int8_drop"] != 0.01
            else ""
        )
        + "` "
        "(see training/README.md). Dev (CodiEsp dev) selects the checkpoint; whole-catalog "
        "exact dense retrieval over the index's vectors, no aliases; `seen` = the mention is "
        "a CodiEsp train mention.",
        "",
        f"- Training examples per epoch: {run['examples']}; pairs trained: {run['pairs_trained']} "
        f"in {run['train_seconds']} s ({run['pairs_per_second']} pairs/s); epochs done: "
        f"{run['epochs_done']}.",
        f"- Settings: {json.dumps(run['config'])}",
        "- Passage tower vs the index (mean cosine on 400 codes): "
        f"init {agreement['init']}, exported {agreement['exported']}.",
        f"- int8 vs torch exact top-1 drop on dev: {metrics['int8_drop_exact_top1']} (allowed: "
        f"{metrics['max_int8_drop']}; the export tries the symmetric encoder's quantisation, "
        f"then its weights-only `-w` form; shipped: `{metrics['quantization']}`).",
        f"- encoder.onnx: {metrics['encoder_bytes'] / 1e6:.1f} MB.",
        "- One query's encoding, 2 threads, this machine (ms, p50 / p95): init "
        f"{latency['init']['p50_ms']} / {latency['init']['p95_ms']}, exported "
        f"{latency['exported']['p50_ms']} / {latency['exported']['p95_ms']} (re-measured by "
        "`--init <symmetric encoder> --latency resources/model`).",
        "",
        "| encoder | " + " | ".join(KEY_METRICS) + " |",
        "|---|" + "---|" * len(KEY_METRICS),
    ]
    for name, row in metrics["dev"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row[k]:.3f}" for k in KEY_METRICS) + " |")
    lines += [
        "",
        "## Dev at each checkpoint",
        "",
        "| epoch | batch | pairs | " + " | ".join(KEY_METRICS) + " |",
        "|---|---|---|" + "---|" * len(KEY_METRICS),
    ]
    for row in run["evals"]:
        lines.append(
            f"| {row['epoch']} | {row['batch']} | {row['pairs']} | "
            + " | ".join(f"{row[k]:.3f}" for k in KEY_METRICS)
            + " |"
        )
    report_dir.mkdir(parents=True, exist_ok=True)
    with atomic_text_writer(report_dir / "report.md") as fh:
        fh.write("\n".join(lines) + "\n")
    with atomic_text_writer(report_dir / "metrics.json") as fh:
        fh.write(json.dumps(metrics, indent=2) + "\n")


def speed(data: Path, init: Path, index_dir: Path, config: QueryConfig, steps: int = 6) -> dict:
    """Training pairs per second of three ways to spend the same CPU, same batch size.

    ``symmetric``: the earlier fine-tuning step (queries and in-batch + one sibling passage
    each, every text through all layers, the top half trained); ``asymmetric``: this module's
    step without the cache (queries only, through every layer, top layers trained, softmax over
    the whole catalog); ``asymmetric+cache``: the same reading the cached lower layers;
    ``+bf16``: that under bfloat16 autocast (the run itself trains in float32).
    """
    import torch

    from app.catalog.open import open_catalog
    from app.search.passages import passage_text
    from training.base_model import mean_pool
    from training.dequantize import load_bert
    from training.train_biencoder import contrastive_loss

    torch.set_num_threads(config.threads)
    vectors, codes = passage_matrix(index_dir)
    rows = {code: i for i, code in enumerate(codes)}
    passages = {
        d: torch.nn.functional.normalize(torch.from_numpy(vectors[:, :d]), dim=-1)
        for d in config.dims
    }
    texts = training_texts(data, rows, config)
    rng = random.Random(config.seed)
    sample = [rng.sample(texts, config.batch_size) for _ in range(steps + 1)]
    store = open_catalog()
    model = load_bert(init / "encoder.onnx")
    towers = Towers(model, config.trainable_layers, config.max_length, init)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-6)

    def step_symmetric(batch: list[Text]) -> None:
        for i, layer in enumerate(model.encoder.layer):
            layer.requires_grad_(i >= model.config.num_hidden_layers // 2)
        passage_texts = [
            "passage: " + passage_text(store.get(codes[t.row])) for t in batch for _ in (0, 1)
        ]
        enc = towers.tokenizer.encode_batch(["query: " + t.query for t in batch] + passage_texts)
        ids, mask = _pad([e.ids for e in enc])
        out = mean_pool(model(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
        q, p = out[: len(batch)], out[len(batch) :: 2]
        contrastive_loss(q, p, 0.05, (384, 256, 128, 64)).backward()

    def step_uncached(batch: list[Text]) -> None:
        ids, mask = _pad(towers.pieces([t.query for t in batch]))
        with torch.no_grad():
            hidden = towers.bottom(ids, mask)
        queries = towers.top(hidden, mask)
        gold = torch.tensor([t.row for t in batch])
        full_softmax_loss(
            queries, passages, gold, torch.ones(len(batch)), config.temperature, config.dims
        ).backward()

    cache = Cache.build(towers, [t.query for b in sample for t in b])

    def step_cached(batch_index: int) -> None:
        rows_ = list(range(batch_index * config.batch_size, (batch_index + 1) * config.batch_size))
        hidden, mask = cache.batch(rows_)
        gold = torch.tensor([sample[batch_index][i].row for i in range(config.batch_size)])
        full_softmax_loss(
            towers.top(hidden, mask), passages, gold, torch.ones(len(rows_)),
            config.temperature, config.dims,
        ).backward()  # fmt: skip

    def step_bf16(batch_index: int) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            step_cached(batch_index)

    result = {}
    for name, run_step in (
        ("symmetric", lambda b: step_symmetric(sample[b])),
        ("asymmetric", lambda b: step_uncached(sample[b])),
        ("asymmetric+cache", step_cached),
        ("asymmetric+cache+bf16", step_bf16),
    ):
        run_step(0)  # warm-up
        started = time.perf_counter()
        for b in range(1, steps + 1):
            run_step(b)
            optimizer.step()
            optimizer.zero_grad()
        seconds = time.perf_counter() - started
        result[name] = round(steps * config.batch_size / seconds, 1)
    return {"pairs_per_second": result, "threads": config.threads, "batch": config.batch_size,
            "steps": steps, "load_average": os.getloadavg()[0]}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="examples.jsonl of training.data.build")
    parser.add_argument("--out", type=Path, default=Path("build/query-encoder"))
    parser.add_argument(
        "--init",
        type=Path,
        default=Path("resources/model"),
        help="the encoder directory whose query side is tuned",
    )
    parser.add_argument("--index", type=Path, default=Path("resources/index"))
    parser.add_argument("--config", choices=sorted(CONFIGS), default="small")
    parser.add_argument("--max-minutes", type=float, help="stop (checkpointed) after this long")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help="write the two-tower encoder of the run's best checkpoint to DIR",
    )
    parser.add_argument("--render", action="store_true", help="rewrite report.md from metrics.json")
    parser.add_argument(
        "--latency",
        type=Path,
        metavar="DIR",
        help="re-measure the query latency of --init and the exported DIR into the report",
    )
    parser.add_argument(
        "--max-int8-drop",
        type=float,
        default=0.01,
        help="dev exact top-1 the int8 export may lose against torch (default 0.01)",
    )
    parser.add_argument(
        "--speed",
        action="store_true",
        help="measure training pairs/s of the symmetric and asymmetric steps",
    )
    parser.add_argument("--report", type=Path, default=Path("training/reports/query-encoder"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = with_overrides(CONFIGS[args.config], args.set)
    if args.speed:
        if args.data is None:
            parser.error("--speed needs --data")
        result = speed(args.data, args.init, args.index, config)
        args.report.mkdir(parents=True, exist_ok=True)
        with atomic_text_writer(args.report / "speed.json") as fh:
            fh.write(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result))
        return 0
    if args.render or args.latency:  # the report again from metrics.json
        metrics = json.loads((args.report / "metrics.json").read_text(encoding="utf-8"))
        if args.latency:  # re-measured, e.g. on a machine quieter than the export's
            metrics["query_latency_ms"] = {
                "init": query_latency(args.init), "exported": query_latency(args.latency)
            }
        write_report(metrics, args.report)
        return 0
    if args.export:
        metrics = export_run(args.out, args.init, args.index, args.export, args.report,
                             max_int8_drop=args.max_int8_drop)  # fmt: skip
        log.info("exported %s: %s", args.export, metrics["dev"])
        return 0
    if args.data is None:
        parser.error("--data is required to train")
    summary = train(args.data, args.out, args.init, args.index, config, args.max_minutes)
    log.info("best: %s", summary["best"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
