"""Curation of candidate examples: rule checks, exact and semantic de-duplication,
language consistency and a per-code cap, with counts of everything dropped by reason.

Examples are processed in authority order (:data:`SOURCE_AUTHORITY`, then input order), so
when two examples collide the more authoritative one survives: a coder's real mention or a
catalog title over a WHO translation, and that over a synthetic variant.
"""

from __future__ import annotations

import logging
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.search.normalize import normalize_text
from training.data.examples import Example
from training.data.language import LanguageIdentifier

logger = logging.getLogger(__name__)

#: An embedder: texts -> (n, d) array of L2-normalised vectors.
Embed = Callable[[Sequence[str]], np.ndarray]

#: Lower is more authoritative; unknown sources rank last.
SOURCE_AUTHORITY = {
    "codiesp-train": 0, "catalog": 0, "gnuhealth": 1, "synthetic": 2, "recipe": 2,
}  # fmt: skip
_LAST = max(SOURCE_AUTHORITY.values())
#: Sources whose texts are translations or generated, not a catalog's or a coder's own.
DERIVED_SOURCES = frozenset({"gnuhealth", "synthetic", "recipe"})

EMPTY = "empty"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
CODE_IN_QUERY = "code_in_query"
QUERY_IS_CODE = "query_is_code"
UNKNOWN_CODE = "unknown_code"
DUPLICATE = "duplicate"
CONFLICT_LOWER_AUTHORITY = "conflict_lower_authority"
CONFLICT_DERIVED = "conflict_derived"
CONFLICT_ANCESTOR = "conflict_ancestor"
LANGUAGE_MISMATCH = "language_mismatch"
NEAR_DUPLICATE = "near_duplicate"
MAX_PER_CODE = "max_per_code"
#: Every drop reason, in pipeline order.
DROP_REASONS = (EMPTY, TOO_SHORT, TOO_LONG, CODE_IN_QUERY, QUERY_IS_CODE, UNKNOWN_CODE,
                DUPLICATE, CONFLICT_LOWER_AUTHORITY, CONFLICT_ANCESTOR, CONFLICT_DERIVED,
                LANGUAGE_MISMATCH,
                NEAR_DUPLICATE, MAX_PER_CODE)  # fmt: skip

# A code inside free text: dotted ("S72.0", "t81.31xa", "I70.21-", "C50.-"), dotless with at
# least four characters ("S7200") or a range ("C51-C63"); "B12" (vitamin) or "H1N1" are not.
_CODE_IN_TEXT = re.compile(
    r"""(?<![0-9A-Za-z])[A-Za-z][0-9]{2}(?:
        \.[0-9A-Za-z]{1,4}(?![0-9A-Za-z])
      | \.-
      | [0-9][0-9A-Za-z]{0,3}(?![0-9A-Za-z])
      | -[A-Za-z][0-9]{2}
    )""",
    re.VERBOSE,
)


_KEY_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class CurationConfig:
    """Thresholds of the curation steps.

    Attributes:
        min_chars: shortest query kept (characters, stripped).
        max_chars: longest query kept.
        semantic_threshold: cosine at or above which two queries of one code are
            near-duplicates (only with an embedder). With the e5-small bundle, 0.95 drops
            about 40% of the full build's pairs (translations and typo variants included),
            0.98 about 20%, 0.99 about 8%.
        semantic_exempt_styles: styles that are deliberate perturbations of another query
            (typos, lost accents, abbreviations): never dropped as near-duplicates, since
            being close to the clean text is their point.
        check_language: run the language check (needs py3langid).
    """

    min_chars: int = 2
    max_chars: int = 256
    semantic_threshold: float = 0.98
    semantic_exempt_styles: tuple[str, ...] = (
        "typo_swap", "typo_drop", "no_accents", "abbreviation", "side_abbreviation", "episode"
    )  # fmt: skip
    check_language: bool = True


@dataclass
class CurationReport:
    """What curation dropped and noticed.

    Attributes:
        dropped: reason -> count.
        language_mismatches: ``"label->found"`` -> count.
        language_samples: up to 20 dropped ``(label, found, query)``, sorted.
        conflicts: normalised queries still naming several codes (kept: real ambiguity).
        conflict_samples: up to 20 ``(query, [codes])``, sorted.
        semantic: how semantic de-duplication ran ("skipped: ..." or the threshold).
    """

    dropped: Counter[str] = field(default_factory=Counter)
    language_mismatches: Counter[str] = field(default_factory=Counter)
    language_samples: list[tuple[str, str, str]] = field(default_factory=list)
    conflicts: int = 0
    conflict_samples: list[tuple[str, list[str]]] = field(default_factory=list)
    semantic: str = "skipped: no embedder"


def authority(example: Example) -> int:
    """Rank of an example's source (0 most authoritative). Example: ``authority(e) == 2``"""
    return SOURCE_AUTHORITY.get(example.source, _LAST)


def dedup_key(text: str) -> str:
    """The text compared by exact de-duplication: case folded, punctuation and blanks
    collapsed, accents kept (an unaccented query is a different input to the encoder).

    Example: ``dedup_key(" Fractura  del FÉMUR.") == "fractura del fémur"``
    """
    return " ".join(_KEY_WORD.findall(text.casefold()))


def rule_violation(example: Example, known: set[str], config: CurationConfig) -> str | None:
    """The first rule an example breaks, or None.

    Rules: non-empty query; length within bounds; no code string inside the query; the
    query is not the code itself; the code exists in the catalog.

    Example: ``rule_violation(Example("S72.0 fractura", "S72.0", ...), known, cfg)`` is
    ``"code_in_query"``
    """
    query = example.query.strip()
    if not normalize_text(query):
        return EMPTY
    if len(query) < config.min_chars:
        return TOO_SHORT
    if len(query) > config.max_chars:
        return TOO_LONG
    if normalize_text(query) == normalize_text(example.code):
        return QUERY_IS_CODE
    if _CODE_IN_TEXT.search(query):
        return CODE_IN_QUERY
    if example.code not in known:
        return UNKNOWN_CODE
    return None


def dedupe_exact(examples: Sequence[Example], report: CurationReport) -> list[Example]:
    """Drop repeated (query, code) pairs (queries compared by :func:`dedup_key`), then
    resolve queries naming several codes: examples from a less authoritative source than
    the best one for that query are dropped when their code differs from the best source's
    codes; an example whose code is an ancestor of another code of the same query is
    dropped (CM repeats a header's title on its "unspecified" child, "Acute sinusitis,
    unspecified" is J01.9 and J01.90: the codable child is kept); a query that only derived
    sources (:data:`DERIVED_SOURCES`) give to several codes is dropped (a translated
    fragment such as WHO German "Fahrer bei Zusammenstoß ..." for V19.0-V79.0, or a
    generated text, that cannot tell codes apart teaches nothing); the remaining conflicts
    are real ambiguity (coders gave one mention different codes) and are kept and reported.

    Args:
        examples: in authority order.
        report: updated in place.
    """
    seen: set[tuple[str, str]] = set()
    unique: list[Example] = []
    for example in examples:
        key = (dedup_key(example.query), example.code)
        if key in seen:
            report.dropped[DUPLICATE] += 1
            continue
        seen.add(key)
        unique.append(example)
    by_norm: dict[str, list[int]] = defaultdict(list)
    for i, example in enumerate(unique):
        by_norm[dedup_key(example.query)].append(i)
    drop: dict[int, str] = {}
    for indices in by_norm.values():
        if len({unique[i].code for i in indices}) < 2:
            continue
        best = min(authority(unique[i]) for i in indices)
        best_codes = {unique[i].code for i in indices if authority(unique[i]) == best}
        for i in indices:
            if authority(unique[i]) > best and unique[i].code not in best_codes:
                drop[i] = CONFLICT_LOWER_AUTHORITY
        left = [i for i in indices if i not in drop]
        codes = {unique[i].code for i in left}
        for i in left:
            if any(c != unique[i].code and c.startswith(unique[i].code) for c in codes):
                drop[i] = CONFLICT_ANCESTOR
        left = [i for i in left if i not in drop]
        codes = sorted({unique[i].code for i in left})
        if len(codes) < 2:
            continue
        if all(unique[i].source in DERIVED_SOURCES for i in left):
            drop.update((i, CONFLICT_DERIVED) for i in left)
            continue
        report.conflicts += 1
        report.conflict_samples.append((unique[left[0]].query, codes))
    report.conflict_samples = sorted(report.conflict_samples)[:20]
    for reason in drop.values():
        report.dropped[reason] += 1
    return [e for i, e in enumerate(unique) if i not in drop]


def check_languages(
    examples: Sequence[Example], identifier: LanguageIdentifier, report: CurationReport
) -> list[Example]:
    """Drop examples confidently identified as another language than their label."""
    kept = []
    for example in examples:
        found = identifier.mismatch(example.query, example.lang)
        if found is None:
            kept.append(example)
            continue
        report.dropped[LANGUAGE_MISMATCH] += 1
        report.language_mismatches[f"{example.lang}->{found}"] += 1
        report.language_samples.append((example.lang, found, example.query))
    report.language_samples = sorted(report.language_samples)[:20]
    return kept


def dedupe_semantic(
    examples: Sequence[Example],
    embed: Embed,
    threshold: float,
    report: CurationReport,
    *,
    exempt_styles: Sequence[str] = (),
    batch_size: int = 2048,
    block_rows: int = 4096,
) -> list[Example]:
    """Collapse near-duplicate queries of the same code (cosine >= ``threshold``), keeping
    the earliest (most authoritative) of each near-duplicate set. Examples of
    ``exempt_styles`` are kept and do not count as kept neighbours of others.

    Queries are embedded in batches of ``batch_size``; similarities are computed block by
    block over the examples sorted by code (whole codes per block of about ``block_rows``),
    so memory stays at ``block_rows**2`` floats, and then greedily within each code.

    Example: ``dedupe_semantic(examples, toy_embed, 0.95, report)``
    """
    n = len(examples)
    if n == 0:
        return []
    parts = [
        embed([e.query for e in examples[s : s + batch_size]]) for s in range(0, n, batch_size)
    ]
    vectors = np.asarray(np.concatenate(parts), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.maximum(norms, 1e-12)
    order = sorted(range(n), key=lambda i: (examples[i].code, i))
    groups: list[tuple[int, int]] = []
    start = 0
    for pos in range(1, n + 1):
        if pos == n or examples[order[pos]].code != examples[order[start]].code:
            groups.append((start, pos))
            start = pos
    keep = np.ones(n, dtype=bool)
    exempt = np.array([e.style in exempt_styles for e in examples], dtype=bool)
    block: list[tuple[int, int]] = []
    for group in [*groups, None]:
        size = sum(e - s for s, e in block)
        if group is not None and (not block or size + group[1] - group[0] <= block_rows):
            block.append(group)
            continue
        _dedupe_block(block, order, vectors, threshold, keep, exempt)
        block = [group] if group is not None else []
    report.dropped[NEAR_DUPLICATE] += int((~keep).sum())
    report.semantic = f"cosine >= {threshold} within a code"
    return [e for i, e in enumerate(examples) if keep[i]]


def _dedupe_block(
    block: list[tuple[int, int]],
    order: list[int],
    vectors: np.ndarray,
    threshold: float,
    keep: np.ndarray,
    exempt: np.ndarray,
) -> None:
    if not block:
        return
    first = block[0][0]
    rows = order[first : block[-1][1]]
    sims = vectors[rows] @ vectors[rows].T
    for start, end in block:
        if end - start < 2:
            continue
        sub = sims[start - first : end - first, start - first : end - first]
        kept: list[int] = []
        for j in range(end - start):
            if exempt[rows[start - first + j]]:
                continue
            if kept and (sub[j, kept] >= threshold).any():
                keep[rows[start - first + j]] = False
            else:
                kept.append(j)


def cap_per_code(
    examples: Sequence[Example],
    max_per_code: int,
    rng: random.Random,
    report: CurationReport,
    *,
    exempt: Sequence[str] = ("codiesp-train",),
) -> list[Example]:
    """Keep at most ``max_per_code`` examples per code, spread over languages.

    Per code, examples of ``exempt`` sources (real coded mentions) are all kept and not
    counted; the others are taken Spanish first, English second, then Spanish again, another
    language, and so on (:func:`_slot`); within a language the most authoritative source
    comes first, a synthetic text's plain qualified form before its variants, and ``rng``
    decides among equals. Input order is kept among survivors.

    Example: ``cap_per_code(kept, 3, random.Random(13), report)``
    """
    by_code: dict[str, list[int]] = defaultdict(list)
    for i, example in enumerate(examples):
        if example.source not in exempt:
            by_code[example.code].append(i)
    tiebreak = [rng.random() for _ in examples]
    keep = set(range(len(examples))) - {i for group in by_code.values() for i in group}
    for indices in by_code.values():
        ranked = sorted(
            indices,
            key=lambda i: (
                authority(examples[i]),
                examples[i].style != "qualified",
                tiebreak[i],
            ),
        )
        seen: Counter[str] = Counter()
        slots = []
        for rank, i in enumerate(ranked):
            lang = examples[i].lang
            slots.append((_slot(lang, seen[lang]), rank, i))
            seen[lang] += 1
        keep.update(i for *_, i in sorted(slots)[:max_per_code])
    report.dropped[MAX_PER_CODE] += len(examples) - len(keep)
    return [e for i, e in enumerate(examples) if i in keep]


def _slot(lang: str, nth: int) -> float:
    """Position of the ``nth`` example of a language in a code's cap order: Spanish at
    0, 1, 2 ...; English at 0.5, 2.5 ...; other languages at 2.7, 5.7 ... So a cap of 3
    takes es, en, es; 5 takes es, en, es, other, es."""
    if lang == "es":
        return float(nth)
    if lang == "en":
        return 0.5 + 2 * nth
    return 2.7 + 3 * nth


def curate(
    examples: Sequence[Example],
    known: set[str],
    config: CurationConfig,
    *,
    embed: Embed | None = None,
    identifier: LanguageIdentifier | None = None,
) -> tuple[list[Example], CurationReport]:
    """Run rules, exact de-duplication, the language check (when ``identifier`` is given and
    ``config.check_language``) and semantic de-duplication (when ``embed`` is given).

    Returns:
        The kept examples (in authority order) and the report.

    Example: ``kept, report = curate(candidates, known, CurationConfig())``
    """
    report = CurationReport()
    ordered = sorted(examples, key=authority)  # stable: input order within a rank
    valid = []
    for example in ordered:
        reason = rule_violation(example, known, config)
        if reason:
            report.dropped[reason] += 1
        else:
            valid.append(example)
    kept = dedupe_exact(valid, report)
    if config.check_language and identifier is not None:
        kept = check_languages(kept, identifier, report)
    if embed is not None:
        kept = dedupe_semantic(
            kept,
            embed,
            config.semantic_threshold,
            report,
            exempt_styles=config.semantic_exempt_styles,
        )
    for reason, count in sorted(report.dropped.items()):
        logger.info("dropped %-26s %7d", reason, count)
    return kept, report
