"""The catalog a training command reads: the one given, or a default one built for the run."""

from __future__ import annotations

from pathlib import Path

from app.catalog.default import build_default_catalog
from app.catalog.store import CatalogStore


def train_catalog(catalog: Path | None, work: Path) -> CatalogStore:
    """``catalog`` opened, or the default catalog with CodiEsp **train** aliases only, built in
    ``work`` (a temporary folder: building takes minutes, so pass ``--catalog`` to reuse one).
    """
    if catalog is None:
        catalog = work / "catalog.db"
        build_default_catalog(catalog, alias_splits=("train",))
    return CatalogStore(catalog)
