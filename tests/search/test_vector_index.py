"""The vector index: round trip, manifest, damaged files, atomic builds (real encoder, real
USearch, a subset of the session catalog)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.catalog.store import CatalogStore
from app.errors import ModelError
from app.search.fingerprint import catalog_fingerprint, embedded_records, passages_sha256
from app.search.passages import passage_text
from app.search.vector_index import (
    INDEX_FILE,
    KEYS_FILE,
    MANIFEST_FILE,
    DenseIndex,
    IndexManifest,
    build_index,
    file_sha256,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["i8", "f16"])
def built(request, tmp_path_factory, store: CatalogStore, encoder, subset_codes) -> Path:
    """A subset index of each dtype."""
    out = tmp_path_factory.mktemp(f"index-{request.param}") / "index"
    build_index(store, encoder, out, dtype=request.param, codes=subset_codes)
    return out


def _distinct_records(store: CatalogStore, codes: list[str]) -> list:
    records = embedded_records(store, codes)
    texts = [passage_text(r) for r in records]
    return [r for r, t in zip(records, texts, strict=True) if texts.count(t) == 1]


def test_own_passage_finds_its_code_first(built: Path, store, encoder, subset_codes) -> None:
    index = DenseIndex.open(built)
    records = _distinct_records(store, subset_codes)
    vectors = encoder.encode([passage_text(r) for r in records], "passage")
    for record, vector in zip(records, vectors, strict=True):
        (code, similarity), *_ = index.search(vector, 5)
        assert code == record.code
        assert similarity > 0.97


def test_manifest_and_keys_describe_the_files(built: Path, store, encoder, subset_codes) -> None:
    manifest = IndexManifest.read(built)
    records = embedded_records(store, subset_codes)
    assert manifest.count == len(records) == len(DenseIndex.open(built))
    assert manifest.dim == encoder.dim and manifest.metric == "cos"
    assert manifest.dtype in ("i8", "f16") and manifest.usearch_version == "2.26.1"
    assert manifest.encoder_sha256 == file_sha256(encoder.model_dir / "encoder.onnx")
    assert manifest.index_bytes == (built / INDEX_FILE).stat().st_size
    assert manifest.catalog_edition == store.edition
    # a subset has its own fingerprint: it can never pass for the whole catalog
    expected = passages_sha256((r.code, passage_text(r)) for r in records)
    assert manifest.catalog_fingerprint == expected != catalog_fingerprint(store)
    keys = (built / KEYS_FILE).read_text(encoding="utf-8").splitlines()
    assert keys == [r.code for r in records]
    assert {p.name for p in built.iterdir()} == {INDEX_FILE, KEYS_FILE, MANIFEST_FILE}
    assert not list(built.parent.glob(".*"))  # no build leftovers beside it


def test_query_kind_search_returns_similarities(built: Path, encoder) -> None:
    hits = DenseIndex.open(built).search(encoder.encode_query("hipertensión esencial"), 3)
    assert len(hits) == 3
    assert all(-1.0 <= s <= 1.0 for _, s in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    with pytest.raises(ValueError, match="dims"):
        DenseIndex.open(built).search(encoder.encode_query("x")[:10], 3)


def test_precomputed_vectors_are_used(tmp_path: Path, store, encoder) -> None:
    codes = ["I10", "J18.9", "N39.0"]
    records = embedded_records(store, codes)
    vectors = encoder.encode([passage_text(r) for r in records], "passage")

    class NoEncoding:
        dim, model_dir = encoder.dim, encoder.model_dir

        def encode(self, texts, kind="query"):
            raise AssertionError("nothing should be encoded")

    given = {r.code: v * 3.0 for r, v in zip(records, vectors, strict=True)}  # not unit length
    build_index(store, NoEncoding(), tmp_path / "ix", codes=codes, vectors=given)
    index = DenseIndex.open(tmp_path / "ix")
    assert index.search(vectors[1], 1)[0][0] == "J18.9"


def test_unknown_dtype_is_refused(tmp_path: Path, store, encoder) -> None:
    with pytest.raises(ValueError, match="dtype"):
        build_index(store, encoder, tmp_path / "ix", dtype="f32", codes=["I10"])


@pytest.fixture()
def damaged(tmp_path: Path, built: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    return copy


def _rewrite_manifest(directory: Path, **changes) -> None:
    path = directory / MANIFEST_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_garbage_index_file_is_a_model_error(damaged: Path) -> None:
    path = damaged / INDEX_FILE
    size = path.stat().st_size
    path.write_bytes(b"\x00garbage" * (size // 8) + b"\x00" * (size % 8))
    with pytest.raises(ModelError, match="not a readable USearch index.*cielo catalog embed"):
        DenseIndex.open(damaged)


def test_truncated_index_file_is_a_model_error(damaged: Path) -> None:
    path = damaged / INDEX_FILE
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelError, match="damaged: 1000 bytes"):
        DenseIndex.open(damaged)


def test_flipped_byte_is_caught_by_verify(damaged: Path) -> None:
    path = damaged / INDEX_FILE
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        DenseIndex.open(damaged, verify=True)


def test_keys_file_that_disagrees_is_a_model_error(damaged: Path) -> None:
    keys = damaged / KEYS_FILE
    keys.write_text("\n".join(keys.read_text(encoding="utf-8").splitlines()[:-1]) + "\n")
    with pytest.raises(ModelError, match=r"lists \d+ codes"):
        DenseIndex.open(damaged)
    keys.unlink()
    with pytest.raises(ModelError, match="keys.txt is missing"):
        DenseIndex.open(damaged)


def test_manifest_that_disagrees_is_a_model_error(damaged: Path) -> None:
    manifest = IndexManifest.read(damaged)
    _rewrite_manifest(damaged, count=manifest.count + 1)
    with pytest.raises(ModelError, match="holds .* vectors"):
        DenseIndex.open(damaged)
    (damaged / MANIFEST_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="unreadable"):
        DenseIndex.open(damaged)
    (damaged / MANIFEST_FILE).unlink()
    with pytest.raises(ModelError, match="index.json is missing"):
        DenseIndex.open(damaged)


class _FailingEncoder:
    """Encodes the first batch, then fails as a Ctrl-C would."""

    def __init__(self, encoder):
        self.encoder, self.dim, self.model_dir = encoder, encoder.dim, encoder.model_dir
        self.calls = 0

    def encode(self, texts, kind="query"):
        self.calls += 1
        if self.calls > 1:
            raise KeyboardInterrupt
        return self.encoder.encode(texts, kind)


def test_interrupted_build_leaves_no_index(tmp_path: Path, store, encoder) -> None:
    out = tmp_path / "indexes" / "fp"
    with pytest.raises(KeyboardInterrupt):
        build_index(
            store, _FailingEncoder(encoder), out, codes=["I10", "J18.9", "N39.0"], batch_size=1
        )
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def test_interrupted_rebuild_keeps_the_previous_index(tmp_path: Path, store, encoder) -> None:
    out = tmp_path / "ix"
    build_index(store, encoder, out, codes=["I10", "J18.9"])
    before = IndexManifest.read(out)
    with pytest.raises(KeyboardInterrupt):
        build_index(
            store, _FailingEncoder(encoder), out, codes=["I10", "J18.9", "N39.0"], batch_size=1
        )
    assert IndexManifest.read(out) == before and len(DenseIndex.open(out)) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["ix"]
    build_index(store, encoder, out, codes=["I10", "J18.9", "N39.0"])  # replaces it
    assert len(DenseIndex.open(out)) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["ix"]


def test_killed_build_leaves_nothing_that_is_used(tmp_path: Path, catalog_path: Path) -> None:
    out = tmp_path / "indexes" / "fp"
    script = (
        "import time\n"
        "from pathlib import Path\n"
        "from app.catalog.store import CatalogStore\n"
        "from app.paths import resources_dir\n"
        "from app.search.encoder import TextEncoder\n"
        "from app.search.vector_index import build_index\n"
        "enc = TextEncoder(resources_dir() / 'model')\n"
        "class Slow:\n"
        "    dim, model_dir = enc.dim, enc.model_dir\n"
        "    def encode(self, texts, kind='query'):\n"
        "        time.sleep(60)\n"
        f"build_index(CatalogStore(Path({str(catalog_path)!r})), Slow(), Path({str(out)!r}),"
        " codes=['I10'])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    deadline = time.monotonic() + 60
    while not list(out.parent.glob(".fp.building-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(out.parent.glob(".fp.building-*")), "the child never started building"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # only the hidden work folder is left, and nothing reads it
    with pytest.raises(ModelError):
        DenseIndex.open(out)


def test_next_build_removes_leftovers(tmp_path: Path, store, encoder) -> None:
    out = tmp_path / "ix"
    (tmp_path / ".ix.building-dead").mkdir()
    (tmp_path / ".ix.old-dead").mkdir()
    build_index(store, encoder, out, codes=["I10"])
    assert [p.name for p in tmp_path.iterdir()] == ["ix"]
