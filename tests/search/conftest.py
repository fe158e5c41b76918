"""Dense-search fixtures: the bundled encoder and small catalogs with their own indexes.

Encoding the whole catalog takes minutes, so these tests embed a few hundred codes: a
subset index of the session catalog, and a small catalog (a copy of the session catalog
cut down to those codes) whose *full* index can serve it.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from app.catalog.store import CatalogStore
from app.paths import resources_dir
from app.search.fingerprint import EMBEDDED_KINDS, META_FORMAT_KEY, META_KEY, embedded_codes

MODEL_DIR = resources_dir() / "model"
#: Codes the tests search for; the rest of the subset is a stride through the catalog.
ANCHORS = (
    "I10",
    "I21.19",
    "I21.4",
    "E11.9",
    "E11.21",
    "J18.9",
    "J44.1",
    "N39.0",
    "R07.89",
    "R07.9",
    "S72.001A",
    "S72.002A",
    "S72.141A",
    "K35.80",
    "F32.9",
    "M17.11",
)


def _encoder_or_skip():
    from app.search.encoder import TextEncoder

    if not (MODEL_DIR / "encoder.onnx").is_file():
        pytest.skip(f"no bundled encoder in {MODEL_DIR}")
    return TextEncoder(MODEL_DIR)


@pytest.fixture(scope="session")
def encoder():
    """The bundled ONNX encoder (skips when resources/model is absent)."""
    return _encoder_or_skip()


@pytest.fixture(scope="session")
def subset_codes(store: CatalogStore) -> list[str]:
    """About 80 embedded codes: the anchors plus a stride through the catalog."""
    codes = embedded_codes(store)
    return list(dict.fromkeys([*ANCHORS, *codes[::1500]]))


@pytest.fixture(scope="session")
def small_catalog(
    tmp_path_factory: pytest.TempPathFactory,
    catalog_path: Path,
    store: CatalogStore,
    subset_codes: list[str],
) -> Path:
    """The session catalog cut down to ``subset_codes`` and their ancestors, without a stored
    fingerprint (as an older catalog: it is computed on open)."""
    keep = {a.code for c in subset_codes for a in store.ancestors(c)} | set(subset_codes)
    path = tmp_path_factory.mktemp("small") / "small.db"
    shutil.copyfile(catalog_path, path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TEMP TABLE keep (code TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO keep VALUES (?)", [(c,) for c in sorted(keep)])
        marks = ",".join("?" * len(EMBEDDED_KINDS))
        conn.execute(
            f"DELETE FROM codes WHERE kind IN ({marks}) AND code NOT IN (SELECT code FROM keep)",
            EMBEDDED_KINDS,
        )
        conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (META_KEY, META_FORMAT_KEY))
        conn.execute("UPDATE meta SET value = 'small-test' WHERE key = 'edition'")
    conn.close()
    return path


@pytest.fixture(scope="session")
def small_store(small_catalog: Path) -> CatalogStore:
    """A read-only store over the small catalog."""
    return CatalogStore(small_catalog)


@pytest.fixture(scope="session")
def small_resources(
    tmp_path_factory: pytest.TempPathFactory, small_store: CatalogStore, encoder, seal_resources
) -> Path:
    """A resources folder whose bundled index serves the small catalog (links to the real
    model and data files)."""
    from app.search.vector_index import build_index

    root = tmp_path_factory.mktemp("resources")
    for item in resources_dir().iterdir():
        if item.name != "index":
            (root / item.name).symlink_to(item)
    build_index(small_store, encoder, root / "index")
    return seal_resources(root)


@pytest.fixture()
def make_resources(tmp_path: Path, seal_resources):
    """``make_resources(index_from=None)``: a resources folder linking the real files, with
    no index or a copy of ``index_from / "index"``."""

    def make(index_from: Path | None = None) -> Path:
        root = tmp_path / "resources"
        root.mkdir()
        for item in resources_dir().iterdir():
            if item.name != "index":
                (root / item.name).symlink_to(item)
        if index_from is not None:
            shutil.copytree(index_from / "index", root / "index")
        return seal_resources(root)

    return make
