"""Run the synthetic-data recipe: generate, curate, export for review, write the data card.

    python -m training.recipe.run --config training/recipe/configs/study.toml \\
        --out build/recipe-study --encoder resources/model

Writes into ``--out``: ``recipe.toml`` (the config file, verbatim) and ``run.json`` (its
parsed form and generation key), ``generated.jsonl`` (the checkpoint: rerunning the same
command resumes after a kill), ``examples.jsonl`` (``training.data.build --mix`` reads it),
``groups.jsonl`` (Spanish listwise groups, ``training.rerank.train --groups``),
``review/sample.{csv,html}`` and ``data_card.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.atomic import atomic_text_writer
from app.catalog.default import build_default_catalog
from app.catalog.spanish import default_cie_zip
from app.catalog.store import CatalogStore
from app.catalog.tabular import default_tabular_path
from app.integrity import file_sha256
from training.data.card import CARD_JSON, CARD_MD, build_card, card_json, render_card_md
from training.data.catalog_view import CatalogView
from training.data.examples import write_examples
from training.data.language import LanguageIdentifier
from training.recipe import review
from training.recipe.backends import make_backend
from training.recipe.checkpoint import OK, Checkpoint
from training.recipe.config import ConfigError, RecipeConfig, load_config
from training.recipe.curation import (
    RECIPE_REASONS,
    Encoder,
    candidates_of,
    curate_recipe,
    rejected_feedback,
)
from training.recipe.generate import generate
from training.recipe.grounding import ground, select_codes
from training.recipe.prompts import PROMPT_VERSION, build_tasks
from training.rerank.groups import NegativeMiner

logger = logging.getLogger(__name__)

CHECKPOINT, GROUPS, EXAMPLES = "generated.jsonl", "groups.jsonl", "examples.jsonl"


class RunError(RuntimeError):
    """The run folder belongs to another configuration, or an input is unusable."""


def prepare(out: Path, config: RecipeConfig, text: str, restart: bool) -> None:
    """Create ``out`` with the config; refuse a folder generated under another config."""
    out.mkdir(parents=True, exist_ok=True)
    run_json = out / "run.json"
    key = config.generation_key()
    if run_json.exists() and not restart:
        previous = json.loads(run_json.read_text(encoding="utf-8")).get("generation_key")
        if previous != key:
            raise RunError(
                f"{out} was generated with another run/backend configuration "
                f"({previous} != {key}); use another --out or --restart to discard it"
            )
    if restart:
        (out / CHECKPOINT).unlink(missing_ok=True)
    with atomic_text_writer(out / "recipe.toml") as fh:
        fh.write(text)
    with atomic_text_writer(run_json) as fh:
        fh.write(json.dumps({"generation_key": key, "prompt_version": PROMPT_VERSION,
                             "config": config.to_dict()}, indent=2) + "\n")  # fmt: skip


def run(
    out: Path,
    config: RecipeConfig,
    store: CatalogStore,
    *,
    encoder: Encoder | None = None,
    rejections: Sequence[Path] = (),
    retry_failed: bool = False,
    max_tasks: int | None = None,
    progress: bool = True,
    inputs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Generate and curate into ``out`` (prepared); returns the data card."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    rc = config.run
    view = CatalogView.load(store)
    miner = NegativeMiner(view.records.values())
    records = select_codes(
        view, rc.chapters, rc.codes_per_chapter, random.Random(f"{rc.seed}/codes")
    )
    contexts = [ground(view, miner, r, rc.siblings) for r in records]
    rejected_rows: list[tuple[str, str, str]] = []
    reviewed = 0
    hashes = dict(inputs or {})
    for path in rejections:
        rows, total = review.read_rejections(path)
        rejected_rows += rows
        reviewed += total
        hashes[f"rejections/{path.name}"] = file_sha256(path)
    backend = make_backend(config.backend, view)
    tasks, unsupported = [], Counter()
    for task in build_tasks(contexts, rc, rc.languages, rejected_feedback(rejected_rows)):
        if backend.supports(task):
            tasks.append(task)
        else:
            unsupported[task.language] += 1
    if max_tasks is not None:
        tasks = tasks[:max_tasks]
    timings["plan"] = round(time.perf_counter() - start, 1)

    started = time.perf_counter()
    results, stats = generate(tasks, backend, Checkpoint(out / CHECKPOINT),
                              batch_size=config.backend.batch_size,
                              max_attempts=rc.max_attempts, retry_failed=retry_failed,
                              progress=progress)  # fmt: skip
    timings["generate"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    titles = {}
    for ctx in contexts:
        titles[ctx.code] = ctx.title_es or ctx.title_en
        for s in ctx.siblings:
            titles.setdefault(s.code, s.title_es or s.title_en)
    identifier = LanguageIdentifier() if config.curation.check_language else None
    curated = curate_recipe(
        candidates_of(results, tasks), set(view.records), config.curation, miner, rc.seed,
        rejected={(m, c) for m, c, _ in rejected_rows}, encoder=encoder,
        identifier=identifier, titles=titles, group_size=rc.group_size,
    )  # fmt: skip
    examples = list(curated.examples)
    random.Random(f"{rc.seed}/order").shuffle(examples)
    write_examples(out / EXAMPLES, examples)
    with atomic_text_writer(out / GROUPS) as fh:
        for group in curated.groups:
            fh.write(json.dumps(group.to_dict(), ensure_ascii=False) + "\n")
    chapters = {code: r.chapter for code, r in view.records.items()}
    chosen = review.sample(examples, chapters, config.curation.review_per_cell, rc.seed)
    review.write_review(out / "review", chosen, chapters, titles,
                        f"Cielo recipe review: {out.name} ({backend.name})")  # fmt: skip
    timings["curate"] = round(time.perf_counter() - started, 1)

    ok = [r for r in results.values() if r.status == OK]
    notes = []
    if encoder is None:
        notes.append("semantic de-duplication and agreement skipped (no --encoder)")
    if unsupported:
        notes.append(f"tasks the {backend.name} backend cannot write, not planned: "
                     + ", ".join(f"{k} {v}" for k, v in sorted(unsupported.items())))  # fmt: skip
    card = build_card(
        examples,
        chapters=chapters,
        kinds={code: r.kind for code, r in view.records.items()},
        candidates=curated.candidates,
        curation=curated.report,
        config={"name": out.name, "seed": rc.seed, **config.to_dict()},
        inputs=dict(sorted(hashes.items())),
        extra={
            "recipe": {
                "backend": backend.describe(),
                "prompt_version": PROMPT_VERSION,
                "codes": len(contexts),
                "tasks": {
                    "planned": len(tasks),
                    "ok": len(ok),
                    "failed": len(results) - len(ok),
                    "unsupported_by_language": dict(sorted(unsupported.items())),
                },
                "generation": stats.to_dict(),
                "groups": {
                    "count": len(curated.groups),
                    "negatives_by_kind": dict(sorted(curated.groups_by_negative.items())),
                },
                "review": {
                    "sampled": len(chosen),
                    "reviewed_rows_read": reviewed,
                    "rejected": len(rejected_rows),
                },
                "seconds": timings | {"total": round(time.perf_counter() - start, 1)},
            },
        },  # fmt: skip
        notes=notes,
    )
    for reason in RECIPE_REASONS:
        card["dropped"][reason] = curated.report.dropped.get(reason, 0)
    card["dropped_total"] = sum(card["dropped"].values())
    with atomic_text_writer(out / CARD_JSON) as fh:
        fh.write(card_json(card))
    with atomic_text_writer(out / CARD_MD) as fh:
        fh.write(render_recipe_md(card))
    return card


def render_recipe_md(card: dict[str, Any]) -> str:
    """The data card's Markdown with the recipe's generation, groups and review."""
    recipe = card["recipe"]
    gen, tasks = recipe["generation"], recipe["tasks"]
    lines = [
        render_card_md(card).replace("bi-encoder training pairs", "recipe mentions", 1),
        "## Recipe",
        "",
        f"Backend: `{json.dumps(recipe['backend'], sort_keys=True)}`; prompt version "
        f"{recipe['prompt_version']}; {recipe['codes']} codes.",
        "",
        f"Tasks: {tasks['planned']} planned, {tasks['ok']} ok, {tasks['failed']} failed "
        f"(malformed after every attempt); not planned (backend cannot write): "
        f"{tasks['unsupported_by_language'] or 'none'}.",
        "",
        f"This invocation: {gen['generated']} tasks generated, {gen['resumed']} resumed from "
        f"the checkpoint, {gen['malformed_replies']} malformed replies, attempts "
        f"{gen['attempts']}, {gen['tasks_per_second']} tasks/s, "
        f"{gen['completion_tokens_per_second']} completion tokens/s.",
        "",
        f"Spanish listwise groups: {recipe['groups']['count']}; negatives by kind "
        f"{recipe['groups']['negatives_by_kind']}.",
        "",
        f"Review: {recipe['review']['sampled']} mentions sampled into `review/`; "
        f"{recipe['review']['rejected']} rejections read back from "
        f"{recipe['review']['reviewed_rows_read']} reviewed rows.",
        "",
        f"Seconds: {recipe['seconds']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module doc)."""
    parser = argparse.ArgumentParser(
        prog="python -m training.recipe.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, required=True, help="recipe TOML file")
    parser.add_argument("--out", type=Path, required=True, help="run folder")
    parser.add_argument("--catalog", type=Path, help="a built catalog (default: build one)")
    parser.add_argument(
        "--encoder",
        type=Path,
        help="runtime ONNX encoder folder (semantic de-duplication, agreement)",
    )
    parser.add_argument(
        "--rejections",
        type=Path,
        action="append",
        default=[],
        help="a reviewed review/sample.csv (repeatable)",
    )
    parser.add_argument("--restart", action="store_true", help="discard the checkpoint")
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="ask again the tasks that failed in an earlier invocation",
    )
    parser.add_argument("--max-tasks", type=int, help="only the first N tasks (a trial)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)  # fmt: skip
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        config, text = load_config(args.config)
        prepare(args.out, config, text, args.restart)
        encoder = None
        if args.encoder:
            from app.search.encoder import TextEncoder

            encoder = TextEncoder(args.encoder)
        inputs = {"recipe.toml": file_sha256(args.config)}
        with tempfile.TemporaryDirectory(prefix="cielo-recipe-") as tmp:
            catalog = args.catalog
            if catalog is None:
                catalog = Path(tmp) / "catalog.db"
                build_default_catalog(catalog, alias_splits=("train",))
                inputs[default_tabular_path().name] = file_sha256(default_tabular_path())
                inputs[default_cie_zip().name] = file_sha256(default_cie_zip())
            else:
                inputs[catalog.name] = file_sha256(catalog)
            store = CatalogStore(catalog)
            try:
                card = run(args.out, config, store, encoder=encoder, rejections=args.rejections,
                           retry_failed=args.retry_failed, max_tasks=args.max_tasks,
                           progress=not args.no_progress, inputs=inputs)  # fmt: skip
            finally:
                store.close()
    except (ConfigError, RunError, review.ReviewError, ValueError, FileNotFoundError) as exc:
        logger.error("%s", exc)
        return 2
    logger.info("%d examples, %d groups in %s", card["examples"],
                card["recipe"]["groups"]["count"], args.out)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
