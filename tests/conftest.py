"""Session fixtures: one real catalog built from the bundled sources, shared read-only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.catalog.default import build_default_catalog
from app.catalog.store import CatalogStore

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def catalog_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog with CodiEsp train aliases (as evaluation on dev uses)."""
    path = tmp_path_factory.mktemp("catalog") / "catalog.db"
    build_default_catalog(path, alias_splits=("train",))
    return path


@pytest.fixture(scope="session")
def store(catalog_path: Path) -> CatalogStore:
    """A read-only store over the session catalog."""
    return CatalogStore(catalog_path)


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog_path: Path) -> Path:
    """A user data folder (``CIELO_DATA_DIR``) whose active catalog is the session one."""
    from app.catalog.editions import EditionManager
    from app.catalog.open import catalogs_dir

    root = tmp_path / "data"
    monkeypatch.setenv("CIELO_DATA_DIR", str(root))
    EditionManager(catalogs_dir(root)).install(
        "icd10cm-2026", lambda path: shutil.copyfile(catalog_path, path)
    )
    return root


def _seal(root: Path) -> Path:
    """Give a test's resources folder its own manifest (the app refuses unlisted files), with
    the other keys of the bundled one."""
    from app.integrity import MANIFEST_FILE, write_manifest
    from app.paths import resources_dir

    bundled = json.loads((resources_dir() / MANIFEST_FILE).read_text(encoding="utf-8"))
    (root / MANIFEST_FILE).unlink(missing_ok=True)
    write_manifest(root, bundled)
    return root


@pytest.fixture(scope="session")
def seal_resources():
    """``seal_resources(root)``: write ``root/manifest.json`` for the files now in ``root``."""
    return _seal
