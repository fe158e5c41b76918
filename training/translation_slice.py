"""The translation lexicon's tuning slice: BM25 on unseen CodiEsp *train* mentions.

    python -m training.translation_slice                      # the shipped lexicon recipe
    python -m training.translation_slice --aliases            # bm25+aliases instead
    python -m training.translation_slice -- --min-prob 0.2    # other lexicon arguments

The protocol of ``training/reports/translation/tuning.md``, so that lexicon and BM25
choices are made on train and dev only confirms them: a fifth of the CodiEsp train articles
(:func:`in_slice`: SHA-256 of the article id, first byte mod 5 = 0) is the slice; the other
articles are the rest. A catalog whose aliases are the rest's mentions and a lexicon built
from the rest (``python -m training.translation_lexicon --mentions <rest>``, arguments after
``--`` passed on) are made under ``--work``; then the slice mentions that are *unseen* (their
normalised text is no mention of the rest) are searched with BM25 alone (``bm25``: titles and
inclusion terms, no aliases) or ``bm25+aliases``, as ``training.evaluate`` configures them,
and exact, category and chapter top-1 and R@10 are printed as JSON. ``--seen`` measures the
slice's seen mentions instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

from app.catalog.aliases import read_codiesp_mentions
from app.catalog.default import alias_source, build_default_catalog, codiesp_file
from app.catalog.store import CatalogStore
from app.paths import resources_dir
from app.search import translation
from app.search.normalize import normalize_text
from app.search.pipeline import SearchPipeline
from training import translation_lexicon
from training.evaluate import CONFIGS, run_mentions
from training.metrics import score

log = logging.getLogger(__name__)


def in_slice(article: str) -> bool:
    """True for the fifth of train articles that form the tuning slice.

    Example: ``in_slice("S0004-06142005000900016-1") in (True, False)``
    """
    return hashlib.sha256(article.encode()).digest()[0] % 5 == 0


def write_rest(train: Path, out: Path) -> int:
    """Write the rows of ``train`` whose article is not in the slice to ``out``; how many."""
    lines = [line for line in train.read_text("utf-8").splitlines(keepends=True)
             if line.strip() and not in_slice(line.split("\t", 1)[0].strip())]
    out.write_text("".join(lines), "utf-8")
    return len(lines)


def rest_resources(work: Path, rest: Path) -> Path:
    """A resources folder like the bundled one whose CodiEsp train mentions are ``rest``
    (links to everything else), so a default catalog built from it has the rest's aliases."""
    folder = work / "resources"
    folder.mkdir(parents=True, exist_ok=True)
    for item in resources_dir().iterdir():
        link = folder / item.name
        if item.name != "codiesp" and not link.exists():
            link.symlink_to(item.resolve())
    (folder / "codiesp").mkdir(exist_ok=True)
    target = codiesp_file("train", folder)
    target.write_bytes(rest.read_bytes())
    return folder


@contextmanager
def bundled_lexicon(path: Path) -> Iterator[None]:
    """Make ``Translator.default()`` (what a pipeline's vocabulary reads) ``path``'s lexicon."""
    lexicon = translation.Translator.from_tsv(path)
    original = translation._default
    translation._default = lambda: lexicon  # type: ignore[assignment]
    try:
        yield
    finally:
        translation._default = original


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m training.translation_slice",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("build/translation-slice"),
                        help="Folder for the rest's mentions, catalog and lexicon (reused).")
    parser.add_argument("--aliases", action="store_true",
                        help="Measure bm25+aliases (the rest's aliases) instead of bm25.")
    parser.add_argument("--seen", action="store_true",
                        help="Measure the slice's seen mentions instead of the unseen ones.")
    parser.add_argument("lexicon_args", nargs="*",
                        help="Arguments for training.translation_lexicon (after --).")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args.work.mkdir(parents=True, exist_ok=True)
    train = codiesp_file("train")
    rest = args.work / "trainX_rest.tsv"
    log.info("rest of train: %d rows", write_rest(train, rest))
    catalog = args.work / "catalog.db"
    if not catalog.exists():
        build_default_catalog(catalog, alias_splits=("train",),
                              resources=rest_resources(args.work, rest))
    lexicon = args.work / "lexicon.tsv"
    with redirect_stdout(sys.stderr):  # its facts: the card, and stdout is ours
        translation_lexicon.main(["--catalog", str(catalog), "--mentions", str(rest),
                                  "--out", str(lexicon), "--card", str(args.work / "card"),
                                  *args.lexicon_args])
    mentions = list(read_codiesp_mentions(train))
    seen = {normalize_text(m.text) for m in mentions if not in_slice(m.doc_id)}
    chosen = [(m.text, m.code) for m in mentions if in_slice(m.doc_id)
              and (normalize_text(m.text) in seen) == args.seen]
    name = "bm25+aliases" if args.aliases else "bm25"
    store = CatalogStore(catalog)
    with bundled_lexicon(lexicon):
        pipeline = SearchPipeline(store, config=CONFIGS[name]((alias_source("train"),)))
        results = run_mentions(pipeline, chosen, seen)
    metrics = score(results, store.chapter_of)
    store.close()
    facts = json.loads((args.work / "card" / "card.json").read_text("utf-8"))
    keys = ("exact_top1", "category_top1", "chapter_top1", "exact_r@10", "category_r@10")
    subset = "seen" if args.seen else "unseen"
    out = {"config": name, "subset": subset, "n": len(chosen),
           **{k: round(metrics[f"{subset}_{k}"], 4) for k in keys},
           "lexicon_rows": facts["rows"], "held_back": facts["held_back"]}
    sys.stdout.write(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
