"""Open the active catalog, building the bundled default on first use."""

from __future__ import annotations

from pathlib import Path

from app.catalog.build import Progress
from app.catalog.default import DEFAULT_EDITION, build_default_catalog
from app.catalog.editions import EditionManager
from app.catalog.store import CatalogStore
from app.errors import CatalogNotFound
from app.paths import data_dir


def catalogs_dir(root: Path | None = None) -> Path:
    """Folder of the user's catalog editions. Example: ``catalogs_dir().name == "catalogs"``"""
    return (root or data_dir()) / "catalogs"


def open_catalog(
    root: Path | None = None, *, build_if_missing: bool = True, progress: Progress | None = None
) -> CatalogStore:
    """The active catalog; the default edition is built (offline, ~15 s) if none exists.

    Raises:
        CatalogNotFound: there is none and ``build_if_missing`` is False.
        CatalogCorrupt: the active catalog fails its checks.

    Example: ``store = open_catalog(progress=None)``
    """
    manager = EditionManager(catalogs_dir(root))
    try:
        return CatalogStore(manager.active().path)
    except CatalogNotFound:
        if not build_if_missing:
            raise
    manager.install(DEFAULT_EDITION, lambda path: build_default_catalog(path, progress=progress))
    return CatalogStore(manager.active().path)
