"""What a prompt knows about a code: its titles, parent, inclusion terms and the siblings it
must be told apart from, with the words that distinguish each (from the catalog alone)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from app.catalog.store import CodeRecord
from app.search.explain import difference
from training.data.catalog_view import CatalogView
from training.data.qualifiers import render
from training.rerank.groups import NegativeMiner


@dataclass(frozen=True)
class Sibling:
    """A code to tell apart from the target, and how it differs.

    Attributes:
        code: the sibling's code.
        title_en: its CM title.
        title_es: its Spanish text (own title or qualified rendering), or None.
        aspect: the main differing aspect (``laterality``, ``episode``, ``other`` ...).
        this: words only in the target's title.
        other: words only in the sibling's title.
    """

    code: str
    title_en: str
    title_es: str | None
    aspect: str
    this: tuple[str, ...]
    other: tuple[str, ...]


@dataclass(frozen=True)
class CodeContext:
    """Everything a prompt states about one code.

    Example: ``ground(view, miner, view.records["S72.001A"]).siblings[0].aspect``
    """

    code: str
    chapter: str
    title_en: str
    title_es: str | None
    parent_code: str | None
    parent_title: str | None
    inclusions: tuple[str, ...]
    siblings: tuple[Sibling, ...]

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def spanish_text(view: CatalogView, record: CodeRecord) -> str | None:
    """The code's own Spanish title, or its category's plus glossary qualifiers, or None."""
    rendering = render(view, record)
    return rendering.text if rendering is not None else None


def ground(
    view: CatalogView, miner: NegativeMiner, record: CodeRecord, max_siblings: int = 6
) -> CodeContext:
    """The context of ``record``: qualifier variants first, then other siblings, each with
    what distinguishes it (siblings whose titles do not differ in words are skipped)."""
    parent = view.parent(record)
    seen: set[str] = set()
    siblings: list[Sibling] = []
    for code in [*miner.qualifier_variants(record.code), *miner.siblings(record.code)]:
        if len(siblings) >= max_siblings or code in seen:
            continue
        seen.add(code)
        other = view.records[code]
        diff = difference(record, other)
        if diff is None:
            continue
        siblings.append(
            Sibling(
                code, other.title_en, spanish_text(view, other), diff.aspect, diff.this, diff.other
            )  # fmt: skip
        )
    inclusions = view.inclusions.get(record.code, [])
    return CodeContext(
        code=record.code,
        chapter=record.chapter or "",
        title_en=record.title_en,
        title_es=spanish_text(view, record),
        parent_code=parent.code if parent else None,
        parent_title=(parent.title_es or parent.title_en) if parent else None,
        inclusions=tuple(inclusions[:8]),
        siblings=tuple(siblings),
    )


def select_codes(
    view: CatalogView, chapters: Sequence[str], per_chapter: int, rng: random.Random
) -> list[CodeRecord]:
    """``per_chapter`` billable codes drawn from each chapter (``("all",)``: every chapter),
    in classification order."""
    by_chapter: dict[str, list[CodeRecord]] = defaultdict(list)
    for record in view.codes():
        if record.valid and record.chapter:
            by_chapter[record.chapter].append(record)
    wanted = sorted(by_chapter, key=_chapter_key) if tuple(chapters) == ("all",) else chapters
    unknown = [c for c in wanted if c not in by_chapter]
    if unknown:
        raise ValueError(f"unknown chapter(s): {', '.join(unknown)}")
    chosen: set[str] = set()
    for chapter in wanted:
        pool = by_chapter[chapter]
        chosen.update(r.code for r in rng.sample(pool, min(per_chapter, len(pool))))
    return [r for r in view.codes() if r.code in chosen]


def _chapter_key(chapter: str) -> tuple[int, str]:
    return (int(chapter), chapter) if chapter.isdigit() else (99, chapter)
