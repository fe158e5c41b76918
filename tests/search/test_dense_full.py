"""End to end on the whole default catalog with the bundled index (``resources/index/``).

Skipped when the bundled index is absent (a checkout before the bundle build); the index
is rebuilt whenever the encoder changes, so assertions stay at the level any reasonable
encoder meets.
"""

from __future__ import annotations

import pytest

from app.catalog.store import CatalogStore
from app.paths import resources_dir
from app.search.bundle import index_status, load_dense, open_pipeline
from app.search.fingerprint import catalog_fingerprint, embedded_codes
from app.search.pipeline import PipelineConfig
from app.search.vector_index import IndexManifest

INDEX_DIR = resources_dir() / "index"

pytestmark = pytest.mark.skipif(
    not (INDEX_DIR / "index.json").is_file(),
    reason=f"no bundled vector index in {INDEX_DIR}: build it with "
    "`cielo catalog embed --output resources/index`",
)


@pytest.fixture(scope="module")
def dense(store: CatalogStore):
    load = load_dense(store)
    assert load.retriever is not None, load.reason
    return load.retriever


def test_bundled_index_serves_the_default_catalog(store: CatalogStore) -> None:
    # the session catalog has train aliases only, the shipped one train + dev: aliases are
    # not part of the fingerprint, so the same index serves both
    manifest = IndexManifest.read(INDEX_DIR)
    assert manifest.catalog_fingerprint == catalog_fingerprint(store)
    status = index_status(store)
    assert status.match is not None and status.match.kind == "bundled"
    assert manifest.count == len(embedded_codes(store))


def test_keys_are_the_catalog_codes(store: CatalogStore, dense) -> None:
    assert dense.index.codes == embedded_codes(store)


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ("infarto agudo de miocardio", "I21"),
        ("neumonía", "J1"),
        ("diabetes mellitus tipo 2", "E11"),
        ("fractura de cadera derecha", "S7"),  # S70-S79: hip and thigh
    ],
)
def test_dense_finds_the_category(store: CatalogStore, dense, text: str, prefix: str) -> None:
    pipeline, _ = open_pipeline(store, PipelineConfig(retriever="dense", aliases=False))
    codes = [r.code for r in pipeline.search(text, top_k=20)]
    assert any(c.startswith(prefix) for c in codes), codes


def test_hybrid_keeps_aliases_first_and_adds_dense(store: CatalogStore, dense) -> None:
    pipeline, note = open_pipeline(store)
    assert note is None
    top = pipeline.search("HTA", top_k=10)
    assert top[0].code == "I10" and "alias" in top[0].retrievers
    results = pipeline.search("dolor torácico atípico", top_k=20)
    assert any("dense" in r.retrievers for r in results)
    assert pipeline.search("fractura del cuello del fémur", top_k=5)[0].code.startswith("S72.0")
