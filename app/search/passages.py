"""The text a catalog entry is embedded as: one definition for the bundle build, the
re-embedding of an imported edition and the training data."""

from __future__ import annotations

from app.catalog.store import CodeRecord

SEPARATOR = " | "


def passage_text(record: CodeRecord) -> str:
    """Spanish title (own, or the category's) followed by the English title.

    Both languages go in: most ICD-10-CM codes have only an ancestor's Spanish title, and the
    English title carries the qualifiers (site, laterality, episode) that tell siblings apart.
    """
    parts = [record.title_es, record.title_en]
    return SEPARATOR.join(p for p in dict.fromkeys(parts) if p)
