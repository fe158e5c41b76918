"""Train the learned ranker (LightGBM LambdaRank) and export it for onnxruntime.

    python -m training.ranker.train [--examples training/runs/ranker] [--out resources/ranker]
        [--report training/reports/ranker] [--seed 13] [--drop-group G ...]

Trains on the cross-fitted train examples (``training.ranker.data``), selects the number of
trees on dev (early stopping on dev NDCG@1 is selection, not fitting), calibrates the
confidence on dev (a temperature and a "none of these" logit over the ranked head, fitted on
one half of the dev documents and measured on the other, then refitted on all of dev), and
compares ranked figures with the first stage on the same candidate pools. The model is
written as ``ranker.onnx`` with ``ranker.json`` (feature names, calibration, facts) only
when ``--out`` is given and it beats the first stage on dev exact top-1; the report always.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.atomic import atomic_path, atomic_text_writer
from app.integrity import MANIFEST_FILE
from app.search.confidence import softmax_with_null
from app.search.features import FEATURES, GROUPS
from training.manifest import refresh_manifest
from training.metrics import document_halves, nll_with_null

log = logging.getLogger(__name__)

MODEL_FILE = "ranker.onnx"
CONFIG_FILE = "ranker.json"
PARAMS = {
    "objective": "lambdarank",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "lambdarank_truncation_level": 20,
    "n_estimators": 600,
    "verbose": -1,
}
HEAD = 10


@dataclass
class Split:
    """One ``.npz`` of ``training.ranker.data``."""

    X: np.ndarray
    y: np.ndarray
    sizes: np.ndarray
    codes: np.ndarray
    gold: np.ndarray
    docs: np.ndarray
    seen: np.ndarray

    @classmethod
    def load(cls, path: Path) -> Split:
        data = np.load(path)
        names = tuple(str(n) for n in data["feature_names"])
        if names != FEATURES:
            raise SystemExit(f"{path} was built with other features; rerun training.ranker.data")
        return cls(*(data[k] for k in ("X", "y", "sizes", "codes", "gold", "docs", "seen")))

    def __add__(self, other: Split) -> Split:
        return Split(*(np.concatenate([a, b]) for a, b in zip(
            (self.X, self.y, self.sizes, self.codes, self.gold, self.docs, self.seen),
            (other.X, other.y, other.sizes, other.codes, other.gold, other.docs, other.seen),
            strict=True)))

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)])


def ranked_orders(split: Split, scores: np.ndarray) -> list[list[int]]:
    """Per mention, row indices (within the group) by descending score, valid codes first."""
    valid = split.X[:, FEATURES.index("valid")]
    orders = []
    off = split.offsets
    for g in range(len(split.sizes)):
        s, v = scores[off[g] : off[g + 1]], valid[off[g] : off[g + 1]]
        orders.append(sorted(range(len(s)), key=lambda i, s=s, v=v: (-v[i], -s[i], i)))
    return orders


def figures(split: Split, orders: list[list[int]]) -> dict[str, float]:
    """Exact and category top-1 and exact MAP@10 on all, seen and unseen mentions."""
    off = split.offsets
    out: dict[str, float] = {}
    masks = {"all": np.ones(len(split.sizes), bool), "seen": split.seen, "unseen": ~split.seen}
    top1 = np.zeros(len(split.sizes))
    cat1 = np.zeros(len(split.sizes))
    rr = np.zeros(len(split.sizes))
    for g, order in enumerate(orders):
        codes = [str(split.codes[off[g] + i]) for i in order[:10]]
        gold = str(split.gold[g])
        top1[g] = bool(codes) and codes[0] == gold
        cat1[g] = bool(codes) and codes[0][:3] == gold[:3]
        rr[g] = 1 / (codes.index(gold) + 1) if gold in codes else 0.0
    for name, mask in masks.items():
        out[f"{name}_n"] = int(mask.sum())
        out[f"{name}_exact_top1"] = float(top1[mask].mean()) if mask.any() else 0.0
        out[f"{name}_category_top1"] = float(cat1[mask].mean()) if mask.any() else 0.0
        out[f"{name}_exact_map@10"] = float(rr[mask].mean()) if mask.any() else 0.0
    return out


def first_stage_scores(split: Split) -> np.ndarray:
    """The first stage's order as scores: higher fused score first, pool order on ties."""
    off = split.offsets
    scores = np.zeros(len(split.X))
    fused = split.X[:, FEATURES.index("fused_score")]
    own = split.X[:, FEATURES.index("own_retrieved")]
    for g in range(len(split.sizes)):
        n = off[g + 1] - off[g]
        scores[off[g] : off[g + 1]] = fused[off[g] : off[g + 1]] * own[off[g] : off[g + 1]] \
            - np.arange(n) * 1e-6
    return scores


def _heads(split: Split, scores: np.ndarray, orders: list[list[int]]):
    off = split.offsets
    logits = np.full((len(orders), HEAD), -np.inf)
    gold = np.full(len(orders), HEAD)
    for g, order in enumerate(orders):
        head = order[:HEAD]
        logits[g, : len(head)] = scores[off[g] + np.array(head, dtype=int)]
        codes = [str(split.codes[off[g] + i]) for i in head]
        if str(split.gold[g]) in codes:
            gold[g] = codes.index(str(split.gold[g]))
    return logits, gold


def fit_calibration(logits: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """Temperature (as a scale) and null logit by maximum likelihood."""
    from scipy.optimize import minimize

    def loss(params: np.ndarray) -> float:
        return nll_with_null(logits * np.exp(params[0]), params[1], gold)

    result = minimize(loss, np.array([0.0, 0.0]), method="Nelder-Mead")
    return float(np.exp(result.x[0])), float(result.x[1])


def top_confidence(logits: np.ndarray, scale: float, null: float) -> np.ndarray:
    """The first result's calibrated confidence per mention."""
    out = np.zeros(len(logits))
    for g, row in enumerate(logits):
        finite = row[np.isfinite(row)]
        out[g] = softmax_with_null(finite * scale, null)[0] if len(finite) else 0.0
    return out


def expected_calibration_error(conf: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """ECE of top-1 confidences over equal-width bins."""
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf >= lo) & (conf < hi if hi < 1 else conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(conf[mask].mean() - right[mask].mean())
    return float(ece)


def train(train_split: Split, dev: Split, columns: list[int], seed: int):
    """A fitted ``LGBMRanker`` over ``columns`` (trees chosen by dev NDCG@1)."""
    import lightgbm as lgb

    ranker = lgb.LGBMRanker(**PARAMS, random_state=seed, n_jobs=2)
    ranker.fit(
        train_split.X[:, columns], train_split.y, group=train_split.sizes,
        eval_X=(dev.X[:, columns],), eval_y=(dev.y,), eval_group=[dev.sizes], eval_at=[1],
        callbacks=[lgb.early_stopping(60, verbose=False)],
    )
    return ranker


def export_onnx(ranker, sample: np.ndarray, path: Path) -> dict[str, float]:
    """Write the booster as ONNX (a regressor over the raw score); returns how its scores
    differ from LightGBM's on ``sample``: the median and largest difference, and the share
    of rows differing by more than 1e-4 (ONNX compares float32 thresholds, LightGBM float64:
    a value on a split threshold may fall the other way).

    Raises:
        SystemExit: more than 0.1% of the rows differ by more than 1e-4.
    """
    import onnxmltools
    import onnxruntime
    from onnxmltools.convert.common.data_types import FloatTensorType

    booster = ranker.booster_
    model = onnxmltools.convert_lightgbm(
        booster, initial_types=[("features", FloatTensorType([None, sample.shape[1]]))],
        target_opset=15, zipmap=False,
    )
    data = model.SerializeToString()
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    onnx_scores = session.run(None, {"features": sample.astype(np.float32)})[0].reshape(-1)
    gap = np.abs(onnx_scores - ranker.predict(sample))
    agreement = {"median_abs_diff": float(np.median(gap)), "max_abs_diff": float(gap.max()),
                 "share_over_1e-4": float((gap > 1e-4).mean())}
    if agreement["share_over_1e-4"] > 1e-3:
        raise SystemExit(f"the ONNX ranker differs from LightGBM: {agreement}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return agreement


def examples_facts(examples: Path) -> dict:
    """What ``training.ranker.data`` recorded about the examples (``examples.json``)."""
    path = examples / "examples.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m training.ranker.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=Path, default=Path("training/runs/ranker"))
    parser.add_argument("--out", type=Path, help="Where to write the model (resources/ranker).")
    parser.add_argument("--report", type=Path, default=Path("training/reports/ranker"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--synthetic", action=argparse.BooleanOptionalAction, default=True,
                        help="Also train on the synthetic template mentions (synthetic.npz).")
    parser.add_argument("--ablate", action="store_true",
                        help="Also train once without each feature group.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    train_split = Split.load(args.examples / "train.npz")
    if args.synthetic and (args.examples / "synthetic.npz").exists():
        train_split = train_split + Split.load(args.examples / "synthetic.npz")
    dev = Split.load(args.examples / "dev.npz")
    all_columns = list(range(len(FEATURES)))

    started = time.perf_counter()
    ranker = train(train_split, dev, all_columns, args.seed)
    seconds = time.perf_counter() - started
    scores = ranker.predict(dev.X)
    ranked = figures(dev, ranked_orders(dev, scores))
    baseline = figures(dev, ranked_orders(dev, first_stage_scores(dev)))
    pool_recall = float(np.mean([
        str(g) in set(dev.codes[a:b].tolist())
        for g, a, b in zip(dev.gold, dev.offsets[:-1], dev.offsets[1:], strict=True)
    ]))

    # confidence: fit on one half of the dev documents, measure on the other, both ways
    logits, gold = _heads(dev, scores, ranked_orders(dev, scores))
    first, second = document_halves([str(d) for d in dev.docs])
    conf = np.zeros(len(gold))
    for fit_rows, test_rows in ((first, second), (second, first)):
        scale, null = fit_calibration(logits[fit_rows], gold[fit_rows])
        conf[test_rows] = top_confidence(logits[test_rows], scale, null)
    right = (gold == 0).astype(float)
    scale, null = fit_calibration(logits, gold)
    calibration = {"scale": scale, "null_logit": null, "head": HEAD,
                   "cross_fitted_ece": expected_calibration_error(conf, right)}

    ablation = {}
    if args.ablate:
        for group, names in GROUPS.items():
            columns = [i for i, f in enumerate(FEATURES) if f not in names]
            model = train(train_split, dev, columns, args.seed)
            ablation[group] = figures(dev, ranked_orders(dev, model.predict(dev.X[:, columns])))

    importance = dict(zip(FEATURES, ranker.booster_.feature_importance("gain").tolist(),
                          strict=True))
    facts = {
        "trees": int(ranker.best_iteration_ or PARAMS["n_estimators"]),
        "train_groups": int(len(train_split.sizes)), "train_rows": int(len(train_split.X)),
        "synthetic": bool(args.synthetic and (args.examples / "synthetic.npz").exists()),
        "dev_groups": int(len(dev.sizes)), "dev_pool_recall": pool_recall,
        "train_seconds": round(seconds, 1), "seed": args.seed, "params": PARAMS,
        "synthetic_excluded": examples_facts(args.examples).get("synthetic_excluded"),
    }
    report = {"ranked": ranked, "first_stage": baseline, "calibration": calibration,
              "facts": facts, "ablation": ablation, "importance": importance}
    args.report.mkdir(parents=True, exist_ok=True)
    with atomic_text_writer(args.report / "train.json") as fh:
        fh.write(json.dumps(report, indent=2) + "\n")
    with atomic_text_writer(args.report / "train.md") as fh:
        fh.write(render(report))
    sys.stdout.write(render(report))

    if args.out is not None:
        if ranked["all_exact_top1"] <= baseline["all_exact_top1"]:
            log.warning("the ranker does not beat the first stage on dev: not written")
            return 1
        args.out.mkdir(parents=True, exist_ok=True)
        facts["onnx_vs_lightgbm"] = export_onnx(ranker, dev.X, args.out / MODEL_FILE)
        config = {"features": list(FEATURES), "calibration": calibration, "facts": facts,
                  "dev": {k: round(v, 4) for k, v in ranked.items()}}
        with atomic_text_writer(args.out / CONFIG_FILE) as fh:
            fh.write(json.dumps(config, indent=2) + "\n")
        if (args.out.parent / MANIFEST_FILE).exists():  # resources/: the app checks hashes
            refresh_manifest(args.out.parent)
    return 0


def render(report: dict) -> str:
    """The training report as Markdown."""
    lines = ["# Learned ranker on CodiEsp dev (train-only, cross-fitted aliases)", "",
             "Generated by `python -m training.ranker.train --ablate`; the pools are the "
             "app's candidate space (`app.search.candidates`), valid codes first.", "",
             "| ranking | subset | n | exact top-1 | exact MAP@10 | category top-1 |",
             "|---|---|---|---|---|---|"]
    rows = [("first stage (fused)", report["first_stage"]), ("learned ranker", report["ranked"])]
    rows += [(f"ranker without {g}", m) for g, m in report["ablation"].items()]
    for name, m in rows:
        for subset in ("all", "seen", "unseen"):
            lines.append(
                f"| {name} | {subset} | {m[f'{subset}_n']} | {m[f'{subset}_exact_top1']:.3f} | "
                f"{m[f'{subset}_exact_map@10']:.3f} | {m[f'{subset}_category_top1']:.3f} |"
            )
    facts = report["facts"]
    cal = report["calibration"]
    lines += ["", f"Pool recall (gold code in the candidate pool) on dev: "
              f"{facts['dev_pool_recall']:.3f}. Trees: {facts['trees']}; "
              f"{facts['train_groups']} train mentions, {facts['train_rows']} rows; "
              f"trained in {facts['train_seconds']} s.", "",
              f"Confidence: scale {cal['scale']:.3f}, null logit {cal['null_logit']:.3f}, "
              f"cross-fitted ECE of the top result {cal['cross_fitted_ece']:.4f}.", "",
              "Feature importance (gain), top 15:", ""]
    top = sorted(report["importance"].items(), key=lambda kv: -kv[1])[:15]
    lines += [f"- {name}: {gain:.0f}" for name, gain in top]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
