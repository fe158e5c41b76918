"""The dense vector index: one USearch file, a keys file and an ``index.json`` manifest.

An index directory holds:

- ``vectors.usearch``: cosine HNSW over the passage vectors (dtype ``i8`` or ``f16``);
- ``keys.txt``: one canonical code per line; line ``n`` (from 0) is the code of key ``n``;
- ``index.json``: counts, dimension, dtype, versions, the catalog fingerprint and the
  encoder's SHA-256 (see :class:`IndexManifest`), written last.

Builds go into a hidden directory beside the destination and are renamed into place only
when complete, so a killed build never leaves an index that would be picked up.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

# onnxruntime must be imported before usearch: the reverse order crashes the process
# (SIGSEGV) with some usearch/onnxruntime versions (DESIGN.md, "Known pitfalls");
# tests/search/test_import_order.py guards it.
import onnxruntime  # noqa: F401
import usearch
from usearch.index import Index

from app.atomic import atomic_text_writer
from app.catalog.build import Progress
from app.catalog.store import CatalogStore
from app.errors import ModelError
from app.integrity import file_sha256
from app.search.encoder import MODEL_FILE, TextEncoder, l2_normalize
from app.search.fingerprint import embedded_records, passages_sha256
from app.search.passages import passage_text

log = logging.getLogger(__name__)

INDEX_FILE = "vectors.usearch"
KEYS_FILE = "keys.txt"
MANIFEST_FILE = "index.json"
FORMAT_VERSION = 1
DTYPES = ("i8", "f16")
METRIC = "cos"
#: HNSW parameters, pinned so builds are comparable (USearch's own defaults today).
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 64

REBUILD_HINT = "rebuild it with `cielo catalog embed`"


@dataclass(frozen=True)
class IndexManifest:
    """What ``index.json`` records about an index (and what opening it checks)."""

    count: int
    dim: int
    dtype: str
    metric: str
    usearch_version: str
    catalog_fingerprint: str
    catalog_edition: str
    encoder_sha256: str
    index_bytes: int
    index_sha256: str
    connectivity: int = CONNECTIVITY
    expansion_add: int = EXPANSION_ADD
    expansion_search: int = EXPANSION_SEARCH
    format_version: int = FORMAT_VERSION

    @classmethod
    def read(cls, directory: Path) -> IndexManifest:
        """Read ``directory/index.json``.

        Raises:
            ModelError: the file is missing, not JSON or lacks fields.
        """
        path = Path(directory) / MANIFEST_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            known = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in data.items() if k in known})
        except FileNotFoundError as exc:
            raise ModelError(
                f"{path} is missing: the vector index is incomplete; {REBUILD_HINT}"
            ) from exc
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ModelError(f"{path} is unreadable ({exc}); {REBUILD_HINT}") from exc

    def write(self, directory: Path) -> None:
        """Write ``directory/index.json``."""
        text = json.dumps(asdict(self), indent=2, sort_keys=True)
        with atomic_text_writer(Path(directory) / MANIFEST_FILE) as fh:
            fh.write(text + "\n")


def build_index(
    store: CatalogStore,
    encoder: TextEncoder,
    out_dir: Path,
    dtype: str = "i8",
    codes: Sequence[str] | None = None,
    progress: Progress | None = None,
    batch_size: int = 256,
    vectors: Mapping[str, np.ndarray] | None = None,
) -> IndexManifest:
    """Embed catalog passages and write an index directory at ``out_dir``, atomically.

    Args:
        store: the catalog whose entries are embedded.
        encoder: the passage encoder (its ``dim`` is the index dimension).
        out_dir: destination directory; an existing index there is replaced only once the
            new one is complete.
        dtype: ``"i8"`` or ``"f16"``.
        codes: embed only these codes (default: every category, subcategory and extended
            code). A subset gets its own fingerprint, so it never passes for the catalog.
        progress: optional ``(stage, done, total)`` callback.
        batch_size: passages per encoder call between progress reports.
        vectors: passage vectors already computed with ``encoder``, by code (e.g. by a
            bundle build's sweep); they are cut to ``encoder.dim`` and L2-normalised, and
            codes without one are encoded.

    Returns:
        The manifest written to ``out_dir/index.json``.

    Raises:
        ValueError: unknown ``dtype`` or nothing to embed.
        ModelError: ``encoder.onnx`` changed on disk during the build.

    Example: ``build_index(store, TextEncoder(model_dir), data_dir() / "indexes" / "x")``
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    notify = progress or (lambda stage, done, total: None)
    records = embedded_records(store, codes)
    if not records:
        raise ValueError("no catalog entries to embed")
    texts = [passage_text(r) for r in records]
    model_file = encoder.model_dir / MODEL_FILE
    encoder_sha = file_sha256(model_file)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out_dir)
    work = out_dir.parent / f".{out_dir.name}.building-{uuid.uuid4().hex[:12]}"
    work.mkdir()
    try:
        index = Index(
            ndim=encoder.dim,
            metric=METRIC,
            dtype=dtype,
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        total = len(texts)
        notify("embedding", 0, total)
        for start in range(0, total, batch_size):
            stop = min(start + batch_size, total)
            batch = _passage_vectors(encoder, records, texts, start, stop, vectors)
            index.add(np.arange(start, stop, dtype=np.uint64), batch)
            notify("embedding", stop, total)
        if file_sha256(model_file) != encoder_sha:
            raise ModelError(f"{model_file} changed during the build; run it again")
        index.save(str(work / INDEX_FILE))
        (work / KEYS_FILE).write_text("".join(r.code + "\n" for r in records), encoding="utf-8")
        manifest = IndexManifest(
            count=total,
            dim=encoder.dim,
            dtype=dtype,
            metric=METRIC,
            usearch_version=usearch.__version__,
            catalog_fingerprint=passages_sha256(zip((r.code for r in records), texts, strict=True)),
            catalog_edition=store.edition,
            encoder_sha256=encoder_sha,
            index_bytes=(work / INDEX_FILE).stat().st_size,
            index_sha256=file_sha256(work / INDEX_FILE),
        )
        manifest.write(work)
        _swap_into_place(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.info("built vector index %s: %d vectors, %d dims, %s", out_dir, total, encoder.dim, dtype)
    return manifest


def _passage_vectors(
    encoder: TextEncoder,
    records: Sequence,
    texts: Sequence[str],
    start: int,
    stop: int,
    given: Mapping[str, np.ndarray] | None,
) -> np.ndarray:
    batch = np.zeros((stop - start, encoder.dim), dtype=np.float32)
    todo = []
    for row in range(start, stop):
        vector = given.get(records[row].code) if given is not None else None
        if vector is None:
            todo.append(row)
            continue
        vector = np.asarray(vector, dtype=np.float32)
        if vector.ndim != 1 or vector.shape[0] < encoder.dim:
            raise ValueError(
                f"vector of {records[row].code} has shape {vector.shape}, "
                f"expected at least {encoder.dim} dims"
            )
        batch[row - start] = vector[: encoder.dim]
    if todo:
        encoded = encoder.encode([texts[row] for row in todo], kind="passage")
        batch[[row - start for row in todo]] = encoded
    return l2_normalize(batch)


def _remove_leftovers(out_dir: Path) -> None:
    for pattern in (f".{out_dir.name}.building-*", f".{out_dir.name}.old-*"):
        for leftover in out_dir.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def _swap_into_place(work: Path, out_dir: Path) -> None:
    """Rename ``work`` to ``out_dir``; an existing ``out_dir`` is moved aside first."""
    old = None
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"{out_dir} exists and is not a directory")
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:12]}"
        os.replace(out_dir, old)
    os.replace(work, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class DenseIndex:
    """A read-only, memory-mapped index directory and its key-to-code map.

    Use :meth:`open`; ``search`` returns ``(code, cosine similarity)`` pairs.

    Example: ``DenseIndex.open(resources_dir() / "index").search(vector, 10)[0]``
    """

    def __init__(self, directory: Path, manifest: IndexManifest, index: Index, codes: list[str]):
        self.directory = directory
        self.manifest = manifest
        self.index = index
        self.codes = codes

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self.manifest.dim

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def open(cls, directory: Path, verify: bool = False) -> DenseIndex:
        """Memory-map an index directory after checking it against its manifest.

        Args:
            directory: an index directory written by :func:`build_index`.
            verify: also check the index file's SHA-256 (reads the whole file).

        Raises:
            ModelError: a file is missing, damaged or disagrees with ``index.json``.
        """
        directory = Path(directory)
        manifest = IndexManifest.read(directory)
        path = directory / INDEX_FILE
        if not path.is_file():
            raise ModelError(f"{path} is missing; {REBUILD_HINT}")
        size = path.stat().st_size
        if size != manifest.index_bytes:
            raise ModelError(
                f"{path} is damaged: {size} bytes, {MANIFEST_FILE} says {manifest.index_bytes};"
                f" {REBUILD_HINT}"
            )
        if verify and file_sha256(path) != manifest.index_sha256:
            raise ModelError(
                f"{path} is damaged: its SHA-256 differs from {MANIFEST_FILE}; {REBUILD_HINT}"
            )
        try:
            index = Index.restore(str(path), view=True, expansion_search=manifest.expansion_search)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"{path} is not a readable USearch index ({exc}); {REBUILD_HINT}"
            ) from exc
        if index is None:
            raise ModelError(f"{path} is missing; {REBUILD_HINT}")
        found = (len(index), index.ndim)
        if found != (manifest.count, manifest.dim):
            raise ModelError(
                f"{path} holds {found[0]} vectors of {found[1]} dims, {MANIFEST_FILE} says "
                f"{manifest.count} of {manifest.dim}; {REBUILD_HINT}"
            )
        codes = _read_keys(directory / KEYS_FILE, manifest.count)
        return cls(directory, manifest, index, codes)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest codes to a unit vector, as ``(code, cosine similarity)``.

        Example: ``index.search(encoder.encode_query("fractura de cadera"), 5)``
        """
        k = min(k, len(self.codes))
        if k <= 0:
            return []
        vector = np.asarray(vector, dtype=np.float32)
        if vector.shape != (self.dim,):
            raise ValueError(f"expected a vector of {self.dim} dims, got shape {vector.shape}")
        matches = self.index.search(vector, k)
        return [
            (self.codes[int(key)], 1.0 - float(dist))
            for key, dist in zip(matches.keys, matches.distances, strict=True)
        ]


def _read_keys(path: Path, count: int) -> list[str]:
    try:
        codes = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise ModelError(f"{path} is missing; {REBUILD_HINT}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is unreadable ({exc}); {REBUILD_HINT}") from exc
    if len(codes) != count or not all(codes):
        raise ModelError(
            f"{path} lists {len(codes)} codes, {MANIFEST_FILE} says {count}; {REBUILD_HINT}"
        )
    return codes
