"""Learn the document spotter's statistics from CodiEsp **train** case texts.

    python -m training.document_lexicon [--codiesp ../shared/data/codiesp]
        [--out resources/document/spotter_stats.tsv] [--catalog CATALOG]

Reads every train text and its gold diagnosis mentions and counts, for each lexicon phrase
(aliases + Spanish titles of a catalog with **train** aliases only, as
``app.document.lexicon.Lexicon``) and each abbreviation, how often it occurs inside a
phrase of the text, how often a gold mention is exactly it and how often it overlaps one;
and for each word, how often it occurs, begins a gold mention and lies inside one. Words
never inside a gold mention are left out. Dev is never read (``--split`` refuses anything
but train), so the statistics can be measured on dev.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from app.catalog.default import build_default_catalog
from app.catalog.store import CatalogStore
from app.document.lexicon import Counts, Lexicon, SpotterStats, default_stats_path
from app.document.segment import Token, phrases, sentences, tokens
from app.document.spotter import CONNECTORS, MAX_CONNECTORS
from app.search.abbreviations import AbbreviationTable
from training.codiesp_documents import DEFAULT_CODIESP, Document, read_documents

log = logging.getLogger(__name__)

#: The only split statistics may come from.
TRAIN_SPLIT = "train"


def _overlaps(start: int, end: int, fragments: Sequence[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in fragments)


def _count_continuations(
    toks: Sequence[Token], fragments: Sequence[tuple[int, int]], counts: dict[str, Counter[str]]
) -> None:
    """Per word that follows a gold-mention word (through connectors): how often it goes on
    with that mention (``covered``) and how often the mention ends at it (``exact``)."""
    for j, tok in enumerate(toks):
        if tok.norm in CONNECTORS:
            continue
        k = j - 1
        while k >= 0 and j - k <= MAX_CONNECTORS and toks[k].norm in CONNECTORS:
            k -= 1
        if k < 0 or toks[k].norm in CONNECTORS:
            continue
        inside = [f for f in fragments if f[0] <= toks[k].start and toks[k].end <= f[1]]
        if not inside:
            continue
        entry = counts.setdefault(tok.norm, Counter())
        entry["seen"] += 1
        same = [f for f in inside if f[0] <= tok.start and tok.end <= f[1]]
        entry["covered"] += bool(same)
        entry["exact"] += any(f[1] == tok.end for f in same)


def count_document(
    doc: Document,
    lexicon: Lexicon,
    abbreviations: AbbreviationTable | None,
    phrase_counts: dict[str, Counter[str]],
    word_counts: dict[str, Counter[str]],
    next_counts: dict[str, Counter[str]],
) -> None:
    """Add one document's counts (``seen``/``exact``/``covered`` per phrase, per word and
    per word following a mention word)."""
    text = doc.text
    fragments = [f for g in doc.gold for f in g.fragments]
    exact_spans = {(g.start, g.end) for g in doc.gold if g.contiguous}
    starts = {g.start for g in doc.gold}
    for sentence in sentences(text):
        for phrase in phrases(text, sentence):
            toks = tokens(text, phrase.start, phrase.end)
            norms = [t.norm for t in toks]
            found: list[tuple[str, int, int]] = []
            for i in range(len(toks)):
                longest = lexicon.longest.get(norms[i], 0)
                for length in range(1, min(longest, len(toks) - i) + 1):
                    words = norms[i : i + length]
                    if tuple(words) in lexicon:
                        found.append((" ".join(words), toks[i].start, toks[i + length - 1].end))
            if abbreviations is not None:
                chunk = text[phrase.start : phrase.end]
                for exp in abbreviations.find(chunk):
                    for tok in toks:
                        if tok.start == phrase.start + exp.start and (tok.norm,) not in lexicon:
                            found.append((tok.norm, tok.start, tok.end))
            for norm, start, end in found:
                counts = phrase_counts.setdefault(norm, Counter())
                counts["seen"] += 1
                counts["exact"] += (start, end) in exact_spans
                counts["covered"] += _overlaps(start, end, fragments)
            for tok in toks:
                counts = word_counts.setdefault(tok.norm, Counter())
                counts["seen"] += 1
                counts["exact"] += tok.start in starts
                counts["covered"] += _overlaps(tok.start, tok.end, fragments)
            _count_continuations(toks, fragments, next_counts)


def learn_stats(
    docs: Sequence[Document], lexicon: Lexicon, abbreviations: AbbreviationTable | None
) -> SpotterStats:
    """Statistics over ``docs`` (words never inside a gold mention are dropped).

    Example: ``learn_stats(read_documents(root, "train"), lexicon, table).words["sindrome"]``
    """
    phrase_counts: dict[str, Counter[str]] = {}
    word_counts: dict[str, Counter[str]] = {}
    next_counts: dict[str, Counter[str]] = {}
    for doc in docs:
        count_document(doc, lexicon, abbreviations, phrase_counts, word_counts, next_counts)
    stats = SpotterStats()
    for norm, c in phrase_counts.items():
        stats.phrases[norm] = Counts(c["seen"], c["exact"], c["covered"])
    for norm, c in word_counts.items():
        if c["covered"] or c["exact"]:
            stats.words[norm] = Counts(c["seen"], c["exact"], c["covered"])
    for norm, c in next_counts.items():
        if c["covered"]:
            stats.following[norm] = Counts(c["seen"], c["exact"], c["covered"])
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m training.document_lexicon",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--codiesp", type=Path, default=DEFAULT_CODIESP,
                        help="CodiEsp corpus root (holds train/text_files and train/trainX.tsv).")
    parser.add_argument("--split", default=TRAIN_SPLIT,
                        help="Split to learn from; only 'train' is accepted (dev is for "
                             "measurement).")
    parser.add_argument("--catalog", type=Path,
                        help="A catalog with CodiEsp train aliases only (default: build one, "
                             "about 10 s).")
    parser.add_argument("--out", type=Path, default=default_stats_path(),
                        help="Output TSV.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.split != TRAIN_SPLIT:
        parser.error(f"statistics come from CodiEsp train only, not {args.split!r}")
    docs = read_documents(args.codiesp, TRAIN_SPLIT)
    with tempfile.TemporaryDirectory() as tmp:
        catalog = args.catalog
        if catalog is None:
            catalog = Path(tmp) / "catalog.db"
            log.info("building a catalog with CodiEsp train aliases")
            build_default_catalog(catalog, alias_splits=(TRAIN_SPLIT,))
        store = CatalogStore(catalog)
        sources = {r[0] for r in store.query("SELECT DISTINCT source FROM aliases")}
        if sources - {"codiesp-train"}:
            parser.error(f"the catalog holds aliases from {sorted(sources)}; use train only")
        lexicon = Lexicon.from_store(store)
        store.close()
    stats = learn_stats(docs, lexicon, AbbreviationTable.default())
    stats.write(args.out)
    log.info(
        "%d train documents, %d lexicon phrases: %d phrase, %d word and %d next rows -> %s",
        len(docs), len(lexicon), len(stats.phrases), len(stats.words), len(stats.following),
        args.out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
