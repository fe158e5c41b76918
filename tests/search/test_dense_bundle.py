"""Which index serves a catalog, dense and hybrid retrieval, and what happens when none does.

The small catalog (see conftest) has a full index of its own, so the fingerprint rules are
exercised for real without embedding the whole catalog.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from app.catalog.store import CatalogStore
from app.errors import BundleMismatch, ModelError
from app.search.bundle import index_status, load_dense, open_pipeline, user_index_dir
from app.search.dense import DenseRetriever
from app.search.fingerprint import (
    META_FORMAT_KEY,
    META_KEY,
    catalog_fingerprint,
    embedded_records,
    passages_sha256,
)
from app.search.passages import passage_text
from app.search.pipeline import PipelineConfig, SearchPipeline, build_retriever
from app.search.query import analyze_query
from app.search.vector_index import INDEX_FILE, MANIFEST_FILE, build_index


def test_stored_fingerprint_equals_the_computed_one(
    tmp_path: Path, catalog_path: Path, store: CatalogStore
) -> None:
    stored = catalog_fingerprint(store)
    copy = tmp_path / "old.db"
    shutil.copyfile(catalog_path, copy)
    with sqlite3.connect(copy) as conn:  # as a catalog built before fingerprints existed
        conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (META_KEY, META_FORMAT_KEY))
    old = CatalogStore(copy)
    assert catalog_fingerprint(old) == stored
    records = embedded_records(store)
    assert {r.kind for r in records} == {"category", "subcategory", "extended"}
    assert passages_sha256((r.code, passage_text(r)) for r in records) == stored
    old.close()


def test_stored_fingerprint_of_another_format_is_recomputed(
    tmp_path: Path, small_catalog: Path, small_store: CatalogStore
) -> None:
    copy = tmp_path / "other-format.db"
    shutil.copyfile(small_catalog, copy)
    with sqlite3.connect(copy) as conn:
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)", [(META_KEY, "0" * 64), (META_FORMAT_KEY, "0")]
        )
    assert catalog_fingerprint(CatalogStore(copy)) == catalog_fingerprint(small_store)


def test_bundled_index_serves_its_catalog(small_store, small_resources, tmp_path) -> None:
    load = load_dense(small_store, resources=small_resources, data=tmp_path)
    assert isinstance(load.retriever, DenseRetriever) and load.error is None
    assert load.location is not None and load.location.kind == "bundled"
    assert load.status.to_dict()["status"] == "bundled"
    hits = load.retriever.retrieve(analyze_query("hipertensión esencial (primaria)"), 5)
    assert hits[0].code == "I10" and hits[0].retriever == "dense"
    assert load.retriever.retrieve(analyze_query("de la con"), 5) == []


def _changed_catalog(tmp_path: Path, small_catalog: Path) -> CatalogStore:
    copy = tmp_path / "changed.db"
    shutil.copyfile(small_catalog, copy)
    with sqlite3.connect(copy) as conn:  # e.g. an official edition with its own titles
        conn.execute("UPDATE codes SET title_es = 'Hipertensión arterial' WHERE code = 'I10'")
        conn.execute("UPDATE meta SET value = 'cie10es-test' WHERE key = 'edition'")
    return CatalogStore(copy)


def test_changed_catalog_disables_dense_with_a_reason(
    tmp_path, small_catalog, small_resources
) -> None:
    changed = _changed_catalog(tmp_path, small_catalog)
    load = load_dense(changed, resources=small_resources, data=tmp_path / "data")
    assert load.retriever is None and isinstance(load.error, BundleMismatch)
    assert "built for catalog small-test" in load.reason
    assert "not for the active catalog cie10es-test" in load.reason
    assert "cielo catalog embed" in load.reason
    with pytest.raises(BundleMismatch, match="cielo catalog embed"):
        open_pipeline(changed, PipelineConfig(retriever="dense"), small_resources, tmp_path)
    pipeline, note = open_pipeline(changed, PipelineConfig(), small_resources, tmp_path)
    assert note is not None and "Searching with BM25 + aliases" in note
    assert "\n" not in note
    assert all("dense" not in r.retrievers for r in pipeline.search("hipertension", top_k=10))


def test_user_index_serves_an_imported_catalog(
    tmp_path, small_catalog, small_resources, encoder
) -> None:
    changed = _changed_catalog(tmp_path, small_catalog)
    data = tmp_path / "data"
    target = user_index_dir(catalog_fingerprint(changed), data)
    build_index(changed, encoder, target)
    load = load_dense(changed, resources=small_resources, data=data)
    assert load.retriever is not None and load.location.kind == "user"
    assert load.location.path == target
    # the bundled index still serves its own catalog first
    assert index_status(CatalogStore(small_catalog), small_resources, data).match.kind == "bundled"


def test_index_of_another_encoder_is_not_used(
    tmp_path, small_store, small_resources, make_resources
) -> None:
    resources = make_resources(small_resources)
    manifest = json.loads((resources / "index" / MANIFEST_FILE).read_text())
    manifest["encoder_sha256"] = "f" * 64
    (resources / "index" / MANIFEST_FILE).write_text(json.dumps(manifest))
    load = load_dense(small_store, resources=resources, data=tmp_path / "data")
    assert load.retriever is None and "another encoder" in load.reason


def test_missing_index_says_so(tmp_path, small_store, make_resources) -> None:
    resources = make_resources()
    status = index_status(small_store, resources, tmp_path / "data")
    assert status.match is None
    assert status.reason.startswith("no vector index for catalog small-test (passages ")
    assert "cielo catalog embed" in status.reason
    assert status.to_dict()["status"] == "missing"


def test_damaged_index_is_a_model_error_for_dense_and_a_note_for_hybrid(
    tmp_path, small_store, small_resources, make_resources
) -> None:
    resources = make_resources(small_resources)
    path = resources / "index" / INDEX_FILE
    path.write_bytes(b"\x00" * path.stat().st_size)
    load = load_dense(small_store, resources=resources, data=tmp_path / "data")
    assert load.retriever is None and isinstance(load.error, ModelError)
    with pytest.raises(ModelError, match="not a readable USearch index"):
        open_pipeline(small_store, PipelineConfig(retriever="dense"), resources, tmp_path)
    _, note = open_pipeline(small_store, PipelineConfig(), resources, tmp_path)
    assert "not a readable USearch index" in note


def test_damaged_bundled_index_falls_back_to_a_user_index(
    tmp_path, small_store, small_resources, encoder, make_resources
) -> None:
    resources = make_resources(small_resources)
    (resources / "index" / INDEX_FILE).write_bytes(b"broken")
    data = tmp_path / "data"
    build_index(small_store, encoder, user_index_dir(catalog_fingerprint(small_store), data))
    load = load_dense(small_store, resources=resources, data=data)
    assert load.retriever is not None and load.location.kind == "user"


def test_hybrid_pipeline_fuses_dense_candidates(small_store, small_resources, tmp_path) -> None:
    pipeline, note = open_pipeline(small_store, PipelineConfig(), small_resources, tmp_path)
    assert note is None
    results = pipeline.search("neumonía", top_k=20)
    assert results
    assert any("dense" in r.retrievers for r in results)
    assert any("bm25" in r.retrievers for r in results)
    dense_only = SearchPipeline(
        small_store,
        config=PipelineConfig(retriever="dense", aliases=False),
        dense=load_dense(small_store, small_resources, tmp_path).retriever,
    )
    assert {r.retrievers for r in dense_only.search("neumonía", top_k=5)} == {("dense",)}


def test_build_retriever_members(small_store, small_resources, tmp_path) -> None:
    dense = load_dense(small_store, small_resources, tmp_path).retriever
    names = {
        (kind, aliases): [m.name for m, _ in getattr(r, "members", [(r, 1.0)])]
        for kind in ("bm25", "dense", "hybrid")
        for aliases in (False, True)
        for r in [
            build_retriever(small_store, PipelineConfig(retriever=kind, aliases=aliases), dense)
        ]
    }
    assert names == {
        ("bm25", False): ["bm25"],
        ("bm25", True): ["alias", "bm25"],
        ("dense", False): ["dense"],
        ("dense", True): ["alias", "dense"],
        ("hybrid", False): ["bm25", "dense"],
        ("hybrid", True): ["alias", "bm25", "dense"],
    }
    # without a dense stage, hybrid is the lexical pipeline it always was
    assert build_retriever(small_store, PipelineConfig(aliases=False)).name == "bm25"
    with pytest.raises(ValueError, match="dense stage"):
        build_retriever(small_store, PipelineConfig(retriever="dense"))
    with pytest.raises(ValueError, match="retriever must be"):
        build_retriever(small_store, PipelineConfig(retriever="magic"))


def test_missing_encoder_says_reinstall(tmp_path, small_store, small_resources) -> None:
    resources = tmp_path / "resources"
    resources.mkdir()
    shutil.copytree(small_resources / "index", resources / "index")
    load = load_dense(small_store, resources=resources, data=tmp_path / "data")
    assert load.retriever is None
    assert "the encoder is missing" in load.reason and "reinstall Cielo" in load.reason
