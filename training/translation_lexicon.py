"""Learn the Spanish -> English word lexicon that lets BM25 reach English titles.

    python -m training.translation_lexicon            # writes resources/translation_es_en.tsv
    python -m training.manifest                       # then rehash resources/

Nine codes in ten have no Spanish title of their own, so a Spanish query word ("húmero",
"sucesivo", "derecho") never meets the English words of the titles that carry site,
laterality and episode. This command learns word translations from parallel text Cielo
already has, with IBM Model 1 (EM over word co-occurrence, a NULL source word):

- WHO ICD-10 Spanish titles against the ICD-10-CM English title of the same code, where the
  catalog attached the WHO title to the code itself (meanings checked to agree);
- CodiEsp **train** diagnosis mentions against their gold code's English title;
- the curated qualifier glossary of ``training.data.glossary`` and the CIE-10-ES wording of
  the 7th-character meanings (``app.catalog.seventh_es``), each pair counted three times.

It keeps, for each Spanish word seen at least ``--min-count`` times, the English words with
t(e|s) >= ``--min-prob`` (at most two), drops stop words and words that translate to
themselves (cognates already match), and writes
``spanish<TAB>english<TAB>probability<TAB>count<TAB>keep`` sorted by Spanish word
(``keep``: the Spanish word is also an English title word, so the translated query keeps it
beside its translation): deterministic for the same inputs. A tenth of the WHO title pairs
(chosen by a hash of the code) is held back from training; the lexicon's precision on it
(a translation counts when it occurs in the pair's English title) is written to the data
card, ``training/reports/translation/card.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from app.catalog.aliases import read_codiesp_mentions
from app.catalog.default import codiesp_file
from app.catalog.store import CatalogStore
from app.codes import format_code
from app.paths import resources_dir
from app.search.normalize import tokenize
from app.search.query import STOP_WORDS
from app.search.translation import Cognates
from training.catalogs import train_catalog

log = logging.getLogger(__name__)

LEXICON_FILE = "translation_es_en.tsv"
HEADER = ("spanish", "english", "probability", "count", "keep", "source")
NULL = "<null>"
#: How many times each curated glossary pair counts in EM.
GLOSSARY_WEIGHT = 3

Pair = tuple[list[str], list[str]]
Row = tuple[str, str, float, int, int, str]



def content(text: str) -> list[str]:
    """Folded content words (no stop words, no pure numbers)."""
    return [t for t in tokenize(text) if t not in STOP_WORDS and not t.isdigit()]


def held_back(code: str) -> bool:
    """True for the tenth of codes whose title pair is held back for the precision check."""
    return hashlib.sha256(code.encode()).digest()[0] < 26


def title_pairs(store: CatalogStore) -> list[tuple[str, Pair]]:
    """``(code, (spanish words, english words))`` for codes with their own WHO title."""
    rows = store.query(
        "SELECT code, title_es, title_en FROM codes WHERE title_es IS NOT NULL "
        "AND title_es_source = 'who' AND title_es_from = code ORDER BY id"
    )
    return [(code, (content(es), content(en))) for code, es, en in rows]


def mention_pairs(store: CatalogStore, path: Path) -> list[Pair]:
    """(mention words, gold English title words) for CodiEsp mentions of known codes."""
    pairs = []
    for mention in read_codiesp_mentions(path):
        record = store.find(format_code(mention.code))
        if record is not None:
            pairs.append((content(mention.text), content(record.title_en)))
    return pairs


def glossary_pairs(store: CatalogStore) -> list[Pair]:
    """Curated Spanish/English phrase pairs Cielo already has: the qualifier glossary of the
    training data (sides, body parts, "with/without ..." phrases, acute/chronic) and the
    CIE-10-ES wording of the catalog's 7th-character meanings (``app.catalog.seventh_es``)."""
    from app.catalog.seventh_es import spanish_meaning
    from training.data.glossary import (
        BODY_PARTS,
        GENDERED_QUALIFIERS,
        QUALIFIER_PHRASES,
        SIDE_WORDS,
    )

    pairs: list[tuple[str, str]] = []
    for english, words in SIDE_WORDS.items():
        pairs.extend((spanish, english) for spanish in dict.fromkeys(words))
    for english, names in BODY_PARTS.items():
        pairs.extend((spanish, english) for spanish, _gender in names)
    pairs.extend((spanish, english) for english, spanish in QUALIFIER_PHRASES.items())
    for english, forms in GENDERED_QUALIFIERS.items():
        pairs.extend((spanish, english) for spanish in forms)
    for (meaning,) in store.query("SELECT DISTINCT meaning FROM seventh_chars ORDER BY meaning"):
        spanish = spanish_meaning(meaning)
        if spanish:
            pairs.append((spanish, meaning))
    return [(content(es), content(en)) for es, en in pairs]


def english_words(store: CatalogStore) -> dict[str, int]:
    """Every word of the English titles and inclusion terms, with how many distinct texts
    hold it."""
    words: Counter[str] = Counter()
    for (text,) in store.query(
        "SELECT DISTINCT text FROM search_docs WHERE field IN ('title_en', 'inclusion')"
    ):
        words.update(set(tokenize(text)))
    return dict(words)


def ibm1(pairs: Sequence[Pair], iterations: int = 8) -> dict[str, dict[str, float]]:
    """IBM Model 1 word translation probabilities t(english | spanish), by EM.

    Example: ``ibm1([(["fractura"], ["fracture"])])["fractura"]["fracture"] > 0.5``
    """
    pairs = [(s + [NULL], e) for s, e in pairs if s and e]
    t: dict[tuple[str, str], float] = {}
    for spanish, english in pairs:
        for e in english:
            for s in spanish:
                t[e, s] = 1.0
    for _ in range(iterations):
        counts: dict[tuple[str, str], float] = defaultdict(float)
        totals: dict[str, float] = defaultdict(float)
        for spanish, english in pairs:
            for e in english:
                z = sum(t[e, s] for s in spanish)
                for s in spanish:
                    c = t[e, s] / z
                    counts[e, s] += c
                    totals[s] += c
        t = {(e, s): c / totals[s] for (e, s), c in counts.items()}
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for (e, s), p in t.items():
        if s != NULL:
            table[s][e] = p
    return table


def select(
    table: dict[str, dict[str, float]],
    counts: Counter[str],
    min_count: int,
    min_prob: float,
    per_word: int = 2,
    english: set[str] | frozenset[str] = frozenset(),
) -> list[Row]:
    """The lexicon rows worth keeping, sorted by Spanish word then probability. A Spanish
    word that is also a word of the English titles ("renal", "proximal") is marked
    ``keep``: the translated query says it beside its translation ("renal kidney")."""
    rows = []
    for spanish in sorted(table):
        if counts[spanish] < min_count or spanish in STOP_WORDS or len(spanish) < 3:
            continue
        ranked = sorted(table[spanish].items(), key=lambda kv: (-kv[1], kv[0]))
        kept = [
            (e, p) for e, p in ranked[:per_word] if p >= min_prob and e != spanish and len(e) >= 3
        ]
        keep = int(spanish in english)
        rows.extend((spanish, e, round(p, 4), counts[spanish], keep, "ibm1") for e, p in kept)
    return rows


def precision(rows: Iterable[Row], pairs: Sequence[Pair]) -> dict:
    """How often a translation of a held-back Spanish title word occurs in its English title,
    taking each word's first translation (the most probable learned one, else its cognate);
    ``cognate_*`` count the words whose only translation is a cognate."""
    best: dict[str, tuple[str, str]] = {}
    for spanish, english, *rest in rows:
        best.setdefault(spanish, (english, rest[-1] if len(rest) == 4 else "ibm1"))
    hits = predicted = words = cognates = cognate_hits = 0
    for spanish, english in pairs:
        target = set(english)
        for s in spanish:
            words += 1
            if s in best:
                predicted += 1
                hit = best[s][0] in target
                hits += hit
                if best[s][1] == "cognate":
                    cognates += 1
                    cognate_hits += hit
    return {
        "held_back_pairs": len(pairs),
        "spanish_words": words,
        "translated": predicted,
        "coverage": round(predicted / words, 4) if words else 0.0,
        "precision": round(hits / predicted, 4) if predicted else 0.0,
        "cognate_only": cognates,
        "cognate_precision": round(cognate_hits / cognates, 4) if cognates else 0.0,
    }


def spanish_words(store: CatalogStore, mentions: Path) -> Counter[str]:
    """Spanish words Cielo has: of the WHO Spanish titles and the CodiEsp train mentions,
    each with how many of those texts hold it."""
    counts: Counter[str] = Counter()
    for (text,) in store.query("SELECT DISTINCT title_es FROM codes WHERE title_es IS NOT NULL"):
        counts.update(set(content(text)))
    for mention in read_codiesp_mentions(mentions):
        counts.update(set(content(mention.text)))
    return counts


def cognate_rows(
    rows: Sequence[Row],
    words: Counter[str],
    english: dict[str, int],
    min_count: int = 1,
) -> list[Row]:
    """Cognate translations (``source`` = ``cognate``, probability 1): for a word the model
    translated, its cognate when the model's words miss it ("fosa" -> "fossa" beside
    "lower", "quadrant"); for a Spanish word the model did not keep (``words``, seen at
    least ``min_count`` times) and English titles do not use as it is, its cognate."""
    finder = Cognates(english)
    translated: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        translated[row[0]].add(row[1])
    out = []
    for spanish in sorted(set(translated) | {w for w, n in words.items() if n >= min_count}):
        if len(spanish) < 5 or spanish in STOP_WORDS or not spanish.isalpha():
            continue
        if spanish not in translated and spanish in english:
            continue
        found = finder.find(spanish)
        if found is None or found == spanish or found in translated.get(spanish, ()):
            continue
        out.append((spanish, found, 1.0, words.get(spanish, 0), int(spanish in english),
                    "cognate"))
    return out


def write_lexicon(rows: Sequence[Row], path: Path) -> None:
    """Write the TSV (header, one translation per line)."""
    lines = ["\t".join(HEADER)] + ["\t".join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m training.translation_lexicon",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, help="A default catalog (else one is built).")
    parser.add_argument("--mentions", type=Path, default=codiesp_file("train"))
    parser.add_argument("--min-count", type=int, default=1)
    parser.add_argument("--min-prob", type=float, default=0.1)
    parser.add_argument("--per-word", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--cognates", action=argparse.BooleanOptionalAction, default=True,
                        help="Add cognate translations (default: yes).")
    parser.add_argument("--out", type=Path, default=resources_dir() / LEXICON_FILE)
    parser.add_argument("--card", type=Path, default=Path("training/reports/translation"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        store = train_catalog(args.catalog, Path(tmp))
        titles = title_pairs(store)
        mentions = mention_pairs(store, args.mentions)
        glossary = glossary_pairs(store)
        english = english_words(store)
        vocabulary = spanish_words(store, args.mentions)
        store.close()
    train_titles = [pair for code, pair in titles if not held_back(code)]
    test_titles = [pair for code, pair in titles if held_back(code)]
    # The curated pairs are few and sure: they count GLOSSARY_WEIGHT times.
    training_pairs = train_titles + mentions + glossary * GLOSSARY_WEIGHT
    log.info("IBM Model 1 on %d title, %d mention and %d glossary pairs", len(train_titles),
             len(mentions), len(glossary))
    table = ibm1(training_pairs, args.iterations)
    counts: Counter[str] = Counter(s for spanish, _ in training_pairs for s in set(spanish))
    rows = select(table, counts, args.min_count, args.min_prob, args.per_word,
                  english=english)
    learned = len(rows)
    if args.cognates:
        rows = sorted([*rows, *cognate_rows(rows, vocabulary, english)],
                      key=lambda r: (r[0], r[5] != "ibm1", -r[2], r[1]))
    write_lexicon(rows, args.out)
    facts = {
        "title_pairs_train": len(train_titles),
        "mention_pairs_train": len(mentions),
        "glossary_pairs": len(glossary),
        "glossary_weight": GLOSSARY_WEIGHT,
        "spanish_words": len({r[0] for r in rows}),
        "rows": len(rows),
        "ibm1_rows": learned,
        "cognate_rows": len(rows) - learned,
        "min_count": args.min_count,
        "min_prob": args.min_prob,
        "per_word": args.per_word,
        "iterations": args.iterations,
        "held_back": precision(rows, test_titles),
    }
    args.card.mkdir(parents=True, exist_ok=True)
    (args.card / "card.json").write_text(json.dumps(facts, indent=2) + "\n", "utf-8")
    (args.card / "card.md").write_text(render_card(facts, rows), "utf-8")
    sys.stdout.write(json.dumps(facts, indent=2) + "\n")
    return 0


def render_card(facts: dict, rows: Sequence[Row]) -> str:
    """The data card of the lexicon."""
    held = facts["held_back"]
    sample = [r for r in rows if r[3] >= 20][:: max(1, len(rows) // 40)][:25]
    lines = [
        "# Spanish -> English word lexicon (`resources/translation_es_en.tsv`)",
        "",
        "Built by `python -m training.translation_lexicon` (IBM Model 1, "
        f"{facts['iterations']} EM iterations, NULL word). Deterministic for the same inputs.",
        "",
        "## Sources",
        "",
        f"- {facts['title_pairs_train']} WHO ICD-10 Spanish titles (PyPI `cie`, MIT) against "
        "the ICD-10-CM 2026 English title (CDC/NCHS, public domain) of the same code, where "
        "the catalog attached the WHO title to the code itself (meanings checked to agree: "
        "`resources/who_agreement.tsv`, `training.who_agreement`).",
        f"- {facts['mention_pairs_train']} CodiEsp **train** diagnosis mentions (CC-BY-4.0, "
        "Miranda-Escalada et al., Zenodo 3837305) against their gold code's English title. "
        "No dev mention is used.",
        f"- {facts['glossary_pairs']} curated phrase pairs, each counted "
        f"{facts['glossary_weight']} times: the qualifier glossary of `training.data.glossary` "
        "(sides, body parts, with/without phrases, acute/chronic) and the CIE-10-ES wording "
        "of the catalog's 7th-character meanings (`app.catalog.seventh_es`).",
        "",
        "## Filter",
        "",
        f"Spanish words seen in at least {facts['min_count']} training pair(s); per word at "
        f"most {facts['per_word']} English words with t(e|s) >= {facts['min_prob']} (source "
        "`ibm1`); stop words, English words of one or two letters (\"s\" of \"Crohn's\") and "
        "words that translate to themselves dropped. A Spanish word that the English titles "
        "also use (\"renal\", \"proximal\") is kept beside its translation (`keep` = 1).",
        "",
        "## Cognates",
        "",
        f"{facts['cognate_rows']} rows (source `cognate`, probability 1) give a Spanish word the "
        "English title word it is spelled like (`app.search.translation.Cognates`: both "
        "reduced to a common spelling, ph/f, th/t, y/i, -tion/-cion, doubled letters, and "
        "Spanish endings rewritten, -ico/-ic, -oso/-ous, -idad/-ity, -ia/-y, ...; exact "
        "matches only): beside the model's words when they miss it (\"toracico\" -> "
        "\"chest\" and \"thoracic\"), and for the Spanish words of the WHO titles and the "
        "train mentions that the model did not keep. At search time the same reading serves "
        "words that neither the lexicon nor the catalog knows (\"espondilodiscitis\" -> "
        "\"spondylodiscitis\"), and another number or gender of a lexicon word reads as that "
        "word (\"hombros\" -> \"hombro\"; `app.search.translation.stem`).",
        "",
        f"{facts['rows']} rows ({facts['ibm1_rows']} learned, {facts['cognate_rows']} "
        f"cognates) for {facts['spanish_words']} Spanish words. How the thresholds were chosen "
        "(on a slice of CodiEsp train, never on dev): `tuning.md` beside this card.",
        "",
        "## Precision on held-back title pairs",
        "",
        f"A tenth of the WHO title pairs (by a hash of the code, {held['held_back_pairs']} "
        "pairs) took no part in training. Of their "
        f"{held['spanish_words']} Spanish content words, {held['translated']} have a "
        f"translation ({held['coverage']:.1%}); the first one (the most probable learned "
        "word, else the cognate) occurs in the pair's English title for "
        f"{held['precision']:.1%} of them ({held['cognate_only']} words have only a cognate: "
        f"{held['cognate_precision']:.1%}).",
        "",
        "## Sample (words seen 20+ times)",
        "",
        "| spanish | english | t(e\\|s) | pairs |",
        "|---|---|---|---|",
    ]
    lines += [f"| {s} | {e} | {p} | {n} |" for s, e, p, n, _keep, _source in sample]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
