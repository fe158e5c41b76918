"""From checkpointed replies to curated examples and Spanish listwise groups.

Order: recipe rules (the mention is not the code's or its parent's title; a reviewer did not
reject it), then :func:`training.data.curate.curate` (length bounds, no code strings,
exact de-duplication, texts naming several codes, language identification, semantic
de-duplication with the current encoder), then the optional agreement filter (the current
encoder ranks the mention's code within ``agreement_k`` of the code and its prompt's
siblings). Hard negatives are kept as mentions of their sibling code (style
``hard_negative``); every kept Spanish mention becomes a group whose first negatives are the
codes its task flipped to, filled with mined siblings and qualifier variants.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from app.search.normalize import normalize_text
from training.data.curate import CurationConfig, CurationReport, curate
from training.data.examples import Example
from training.data.language import LanguageIdentifier
from training.recipe.checkpoint import OK, TaskResult
from training.recipe.config import CurationSettings
from training.recipe.prompts import Reply, Task
from training.rerank.groups import Group, NegativeMiner, build_group

SOURCE = "recipe"
HARD_NEGATIVE = "hard_negative"
EQUALS_TITLE = "equals_title"
REVIEWER_REJECTED = "reviewer_rejected"
DISAGREEMENT = "disagreement"
RECIPE_REASONS = (EQUALS_TITLE, REVIEWER_REJECTED, DISAGREEMENT)
FLIPPED = "flipped"


class Encoder(Protocol):
    """What curation needs of the runtime encoder (``app.search.encoder.TextEncoder``)."""

    def encode(self, texts: Sequence[str], kind: str = "query") -> np.ndarray: ...


@dataclass
class Candidate:
    """A generated mention with what its task knew (for titles, agreement and groups)."""

    example: Example
    task: Task
    flips: tuple[str, ...] = ()


@dataclass
class RecipeCuration:
    """Curation's output.

    Attributes:
        examples: kept examples.
        groups: Spanish listwise groups.
        report: the shared curation report (its ``dropped`` has the recipe reasons too).
        candidates: examples before curation.
        groups_by_negative: negatives in the groups by kind.
    """

    examples: list[Example]
    groups: list[Group]
    report: CurationReport
    candidates: list[Example]
    groups_by_negative: Counter[str] = field(default_factory=Counter)


def candidates_of(results: Mapping[str, TaskResult], tasks: Sequence[Task]) -> list[Candidate]:
    """Every mention and hard negative of the ok results, in task order."""
    out: list[Candidate] = []
    for task in tasks:
        result = results.get(task.id)
        if result is None or result.status != OK or result.reply is None:
            continue
        reply = Reply.from_dict(result.reply)
        code, lang = task.context.code, task.language
        flips = tuple(dict.fromkeys(c for _, c, _ in reply.negatives))
        for text, style in reply.mentions:
            out.append(Candidate(Example(text, code, lang, SOURCE, style), task, flips))
        for text, sibling, _ in reply.negatives:
            out.append(
                Candidate(Example(text, sibling, lang, SOURCE, HARD_NEGATIVE), task, (code,))
            )
    return out


def _titles(task: Task, code: str) -> set[str]:
    ctx = task.context
    if code == ctx.code:
        titles = [ctx.title_en, ctx.title_es, ctx.parent_title]
    else:
        titles = [t for s in ctx.siblings if s.code == code for t in (s.title_en, s.title_es)]
    return {normalize_text(t) for t in titles if t}


def agreement_ranks(
    candidates: Sequence[Candidate], encoder: Encoder, titles: Mapping[str, str]
) -> list[int]:
    """Rank (1 = best) of each mention's code among its task's code and siblings, by the
    encoder's cosine between the mention (query) and the codes' titles (passages)."""
    if not candidates:
        return []
    codes = sorted({c for cand in candidates for c in _pool(cand)})
    index = {code: i for i, code in enumerate(codes)}
    passages = encoder.encode([titles[c] for c in codes], kind="passage")
    queries = encoder.encode([c.example.query for c in candidates], kind="query")
    ranks = []
    for cand, vector in zip(candidates, queries, strict=True):
        pool = _pool(cand)
        scores = passages[[index[c] for c in pool]] @ vector
        target = scores[pool.index(cand.example.code)]
        ranks.append(1 + int((scores > target).sum()))
    return ranks


def _pool(candidate: Candidate) -> list[str]:
    ctx = candidate.task.context
    return [ctx.code, *(s.code for s in ctx.siblings)]


def curate_recipe(
    candidates: Sequence[Candidate],
    known: set[str],
    settings: CurationSettings,
    miner: NegativeMiner,
    seed: int,
    *,
    rejected: AbstractSet[tuple[str, str]] = frozenset(),
    encoder: Encoder | None = None,
    identifier: LanguageIdentifier | None = None,
    titles: Mapping[str, str] | None = None,
    group_size: int = 16,
) -> RecipeCuration:
    """Curate ``candidates`` and build the Spanish groups (see the module doc).

    Args:
        rejected: ``(mention, code)`` pairs a reviewer rejected.
        titles: code -> text the agreement filter embeds (needed with an encoder and
            ``settings.agreement``).
    """
    dropped: Counter[str] = Counter()
    passed: list[Candidate] = []
    for cand in candidates:
        e = cand.example
        if (e.query, e.code) in rejected:
            dropped[REVIEWER_REJECTED] += 1
        elif normalize_text(e.query) in _titles(cand.task, e.code):
            dropped[EQUALS_TITLE] += 1
        else:
            passed.append(cand)
    config = CurationConfig(
        min_chars=settings.min_chars,
        max_chars=settings.max_chars,
        semantic_threshold=settings.semantic_threshold,
        semantic_exempt_styles=(),
        check_language=settings.check_language,
    )
    embed = (lambda texts: encoder.encode(list(texts), kind="query")) if encoder else None
    kept, report = curate([c.example for c in passed], known, config, embed=embed,
                          identifier=identifier)  # fmt: skip
    if encoder is None:
        report.semantic = "skipped: no --encoder given"
    by_example: dict[Example, Candidate] = {}
    for cand in passed:
        by_example.setdefault(cand.example, cand)
    survivors = [by_example[e] for e in kept]
    if settings.agreement and encoder is not None and titles is not None:
        ranks = agreement_ranks(survivors, encoder, titles)
        agreed = [c for c, r in zip(survivors, ranks, strict=True) if r <= settings.agreement_k]
        dropped[DISAGREEMENT] += len(survivors) - len(agreed)
        survivors = agreed
    report.dropped.update(dropped)
    rng = random.Random(f"{seed}/groups")
    groups: list[Group] = []
    kinds: Counter[str] = Counter()
    for cand in survivors:
        e = cand.example
        if e.lang != "es":
            continue
        mined = build_group(e.query, e.code, miner, rng, group_size, (), ("qualifier", "sibling"),
                            SOURCE)  # fmt: skip
        negatives = [(c, FLIPPED) for c in cand.flips if c != e.code and c in miner.records]
        taken = {c for c, _ in negatives} | {e.code}
        if mined is not None:
            negatives += [(c, k) for c, k in mined.negatives if c not in taken]
        if not negatives:
            continue
        group = Group(e.query, e.code, tuple(negatives[: group_size - 1]), SOURCE)
        kinds.update(k for _, k in group.negatives)
        groups.append(group)
    return RecipeCuration([c.example for c in survivors], groups, report,
                          [c.example for c in candidates], kinds)  # fmt: skip


def rejected_feedback(
    rejections: Sequence[tuple[str, str, str]],
) -> dict[tuple[str, str], list[str]]:
    """``(code, language) -> rejected mentions`` for the prompts, from ``(mention, code,
    language)`` rows."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for mention, code, lang in rejections:
        out[(code, lang)].append(mention)
    return dict(out)
