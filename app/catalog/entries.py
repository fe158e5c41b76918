"""Typed records that catalog sources produce and the store persists."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Hierarchy kinds, from the top down. ``extended`` is a 7th-character expansion.
KINDS = ("chapter", "block", "category", "subcategory", "extended")

#: Note kinds, as the tabular names them (snake case), in display order.
NOTE_KINDS = (
    "inclusion_term",
    "includes",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional_code",
    "code_also",
    "notes",
    "seven_chr_note",
)


@dataclass(frozen=True)
class Note:
    """One instructional note line attached to a code."""

    kind: str
    text: str


@dataclass
class CatalogEntry:
    """One node of the classification: chapter, block, category, subcategory or code.

    ``seventh`` holds the 7th-character definitions declared *at* this node; ``seventh_from``
    names the node whose definitions apply to it (itself or an ancestor), if any.
    """

    code: str
    kind: str
    title_en: str
    parent: str | None = None
    chapter: str | None = None
    block: str | None = None
    valid: bool = False
    notes: list[Note] = field(default_factory=list)
    seventh: dict[str, str] = field(default_factory=dict)
    seventh_from: str | None = None
    title_es: str | None = None
    title_es_source: str | None = None
    title_es_from: str | None = None
