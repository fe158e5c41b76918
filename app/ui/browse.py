"""Data for the Browse tree, read in background calls (no Qt)."""

from __future__ import annotations

from app.catalog.store import CatalogStore, CodeRecord

#: Chapter numbers probed for the tree's top level (ICD-10-CM has 22).
MAX_CHAPTERS = 30


def chapters(store: CatalogStore) -> list[CodeRecord]:
    """The chapters of the catalog in order. Example: ``chapters(store)[0].code == "1"``"""
    found = (store.find(str(n)) for n in range(1, MAX_CHAPTERS + 1))
    return [r for r in found if r is not None and r.kind == "chapter"]


def path_children(store: CatalogStore, code: str) -> list[tuple[str, list[CodeRecord]]]:
    """For each ancestor of ``code`` (chapter first), its children: what the tree needs
    to reveal ``code``.

    Example: ``[p for p, _ in path_children(store, "S72.0")] == ["19", "S70-S79", "S72"]``
    """
    return [(a.code, store.children(a.code)) for a in store.ancestors(code)]
