"""Find and load the dense stage (encoder + vector index) for the active catalog.

One place decides whether dense search is available, for the CLI, the desktop app and the
evaluation. An index serves a catalog only when its recorded catalog fingerprint equals the
catalog's (:mod:`app.search.fingerprint`) and it was built with the bundled encoder.
Resolution order:

1. ``resources/index/``: the bundled index, built for the default edition;
2. ``<data dir>/indexes/<fingerprint>/``: a user index built by ``cielo catalog embed``
   (e.g. after ``cielo catalog import`` of an official edition).

When neither matches, hybrid search runs without the dense stage and says why in one line;
``--retriever dense`` fails. Keys never map into a catalog they were not built for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.catalog.store import CatalogStore
from app.errors import BundleMismatch, CieloError, ModelError
from app.integrity import cached_file_sha256
from app.paths import data_dir, resources_dir
from app.search.confidence import CALIBRATION_FILE, FirstStageCalibration
from app.search.dense import DenseRetriever
from app.search.encoder import MODEL_FILE, TextEncoder
from app.search.fingerprint import catalog_fingerprint
from app.search.pipeline import PipelineConfig, SearchPipeline
from app.search.ranker import MODEL_FILE as RANKER_FILE
from app.search.ranker import LearnedRanker
from app.search.reranker import MODEL_FILE as RERANKER_FILE
from app.search.reranker import CrossEncoderReranker
from app.search.vector_index import MANIFEST_FILE, DenseIndex, IndexManifest

log = logging.getLogger(__name__)

MODEL_DIR = "model"
RERANKER_DIR = "reranker"
RANKER_DIR = "ranker"
BUNDLED_INDEX_DIR = "index"
USER_INDEXES_DIR = "indexes"
EMBED_HINT = "run `cielo catalog embed` to build one (it takes 10-30 minutes)"


def model_dir(resources: Path | None = None) -> Path:
    """The bundled encoder directory. Example: ``model_dir().name == "model"``"""
    return (resources or resources_dir()) / MODEL_DIR


def reranker_dir(resources: Path | None = None) -> Path:
    """The bundled cross-encoder directory. Example: ``reranker_dir().name == "reranker"``"""
    return (resources or resources_dir()) / RERANKER_DIR


def user_index_dir(fingerprint: str, data: Path | None = None) -> Path:
    """Where ``cielo catalog embed`` puts the index of a catalog with this fingerprint.

    Example: ``user_index_dir("ab12…").parent.name == "indexes"``
    """
    return (data or data_dir()) / USER_INDEXES_DIR / fingerprint


def encoder_sha256(resources: Path | None = None) -> str | None:
    """SHA-256 of the bundled ``encoder.onnx`` (cached per file version); None if absent."""
    try:
        return cached_file_sha256(model_dir(resources) / MODEL_FILE)
    except OSError:
        return None


def _short(fingerprint: str | None) -> str:
    return (fingerprint or "?")[:12]


@dataclass(frozen=True)
class IndexLocation:
    """A place an index may be, and whether it serves the active catalog.

    Attributes:
        kind: ``"bundled"`` or ``"user"``.
        path: the index directory.
        manifest: its ``index.json``, None when absent or unreadable.
        problem: why it does not serve the active catalog (None: it matches).
    """

    kind: str
    path: Path
    manifest: IndexManifest | None
    problem: str | None

    @property
    def exists(self) -> bool:
        """True when the directory holds an ``index.json``."""
        return (self.path / MANIFEST_FILE).exists()

    @property
    def matches(self) -> bool:
        """True when the index was built for this catalog with this encoder."""
        return self.problem is None


@dataclass(frozen=True)
class IndexStatus:
    """Which index, if any, serves the active catalog.

    Attributes:
        edition: the active catalog's edition.
        fingerprint: the active catalog's fingerprint.
        locations: every place looked at, in resolution order.
        reason: one line saying why no index matches (None when one does).
    """

    edition: str
    fingerprint: str
    locations: tuple[IndexLocation, ...]
    reason: str | None

    @property
    def match(self) -> IndexLocation | None:
        """The first matching location."""
        return next((loc for loc in self.locations if loc.matches), None)

    def to_dict(self) -> dict:
        """JSON-ready form (for ``cielo catalog info --json``)."""
        match = self.match
        manifest = match.manifest if match else None
        return {
            "status": match.kind if match else "missing",
            "path": str(match.path) if match else None,
            "catalog_fingerprint": self.fingerprint,
            "count": manifest.count if manifest else None,
            "dim": manifest.dim if manifest else None,
            "dtype": manifest.dtype if manifest else None,
            "reason": self.reason,
            "locations": [
                {
                    "kind": loc.kind,
                    "path": str(loc.path),
                    "exists": loc.exists,
                    "catalog_edition": loc.manifest.catalog_edition if loc.manifest else None,
                    "catalog_fingerprint": (
                        loc.manifest.catalog_fingerprint if loc.manifest else None
                    ),
                    "matches": loc.matches,
                    "problem": loc.problem,
                }
                for loc in self.locations
            ],
        }


def _check(
    kind: str, path: Path, edition: str, fingerprint: str, encoder_sha: str | None
) -> IndexLocation:
    if not (path / MANIFEST_FILE).exists():
        return IndexLocation(kind, path, None, f"no {kind} vector index at {path}")
    try:
        manifest = IndexManifest.read(path)
    except ModelError as exc:
        return IndexLocation(kind, path, None, str(exc))
    if manifest.catalog_fingerprint != fingerprint:
        problem = (
            f"the vector index was built for catalog {manifest.catalog_edition} (passages "
            f"{_short(manifest.catalog_fingerprint)}), not for the active catalog {edition} "
            f"(passages {_short(fingerprint)})"
        )
    elif encoder_sha is None:
        problem = "the encoder is missing"
    elif manifest.encoder_sha256 != encoder_sha:
        problem = (
            f"the vector index at {path} was built with another encoder (SHA-256 "
            f"{_short(manifest.encoder_sha256)}, the installed one is {_short(encoder_sha)})"
        )
    else:
        problem = None
    return IndexLocation(kind, path, manifest, problem)


def index_status(
    store: CatalogStore, resources: Path | None = None, data: Path | None = None
) -> IndexStatus:
    """Look for an index serving ``store`` (reads manifests only: cheap).

    Example: ``index_status(store).match.kind == "bundled"``
    """
    fingerprint = catalog_fingerprint(store)
    encoder_sha = encoder_sha256(resources)
    places = (
        ("bundled", (resources or resources_dir()) / BUNDLED_INDEX_DIR),
        ("user", user_index_dir(fingerprint, data)),
    )
    locations = tuple(
        _check(kind, path, store.edition, fingerprint, encoder_sha) for kind, path in places
    )
    if any(loc.matches for loc in locations):
        reason = None
    else:
        # the most specific problem: a user index that exists, else the bundled one's
        existing = [loc for loc in locations if loc.exists]
        if encoder_sha is None:
            problem = f"the encoder is missing ({model_dir(resources) / MODEL_FILE})"
            hint = "reinstall Cielo"
        elif not existing:
            problem = (
                f"no vector index for catalog {store.edition} (passages {_short(fingerprint)})"
                f" in {locations[0].path} or {locations[1].path}"
            )
            hint = EMBED_HINT
        else:
            problem, hint = existing[-1].problem, EMBED_HINT
        reason = f"{problem}; {hint}"
    return IndexStatus(store.edition, fingerprint, locations, reason)


@dataclass(frozen=True)
class DenseLoad:
    """The dense stage, or why there is none.

    Attributes:
        retriever: the loaded retriever (None when unavailable).
        status: what :func:`index_status` found.
        location: where the loaded index came from.
        error: the error that ``--retriever dense`` raises when ``retriever`` is None.
    """

    retriever: DenseRetriever | None
    status: IndexStatus
    location: IndexLocation | None = None
    error: CieloError | None = None

    @property
    def reason(self) -> str | None:
        """One line saying why there is no dense stage (None when there is one)."""
        return str(self.error) if self.error is not None else None


def load_dense(
    store: CatalogStore,
    resources: Path | None = None,
    data: Path | None = None,
    threads: int | None = None,
) -> DenseLoad:
    """Load the encoder and the first index that serves ``store`` (memory-mapped).

    Never raises for a missing, mismatched or damaged index: the error is in the result,
    so a caller can fall back to lexical search and say why.

    Args:
        store: the active catalog.
        resources: the resources folder (default: :func:`app.paths.resources_dir`).
        data: the user data folder (default: :func:`app.paths.data_dir`).
        threads: encoder threads (default: onnxruntime's choice).

    Example: ``load = load_dense(store); load.retriever or print(load.reason)``
    """
    status = index_status(store, resources, data)
    if status.match is None:
        return DenseLoad(None, status, error=BundleMismatch(status.reason))
    errors: list[ModelError] = []
    encoder: TextEncoder | None = None
    for location in (loc for loc in status.locations if loc.matches):
        try:
            index = DenseIndex.open(location.path)
            if encoder is None or encoder.dim != index.dim:
                encoder = TextEncoder(model_dir(resources), threads=threads, dim=index.dim)
        except ModelError as exc:
            log.warning("%s vector index unusable: %s", location.kind, exc)
            errors.append(exc)
            continue
        log.info("dense search: %s index %s (%d vectors)", location.kind, location.path, len(index))
        return DenseLoad(DenseRetriever(encoder, index), status, location)
    return DenseLoad(None, status, error=errors[0])


def load_reranker(
    store: CatalogStore, resources: Path | None = None, threads: int | None = None
) -> tuple[CrossEncoderReranker | None, str | None]:
    """The bundled cross-encoder, or None and one line saying why (never raises).

    It reads passages from ``store``, so it serves any catalog, imported editions included.
    """
    directory = reranker_dir(resources)
    if not (directory / RERANKER_FILE).exists():
        return None, f"no reranker in {directory}"
    try:
        return CrossEncoderReranker(directory, store, threads=threads), None
    except ModelError as exc:
        log.warning("reranker unusable: %s", exc)
        return None, str(exc)


def load_ranker(resources: Path | None = None) -> tuple[LearnedRanker | None, str | None]:
    """The bundled learned ranker, or None and one line saying why (never raises)."""
    directory = (resources or resources_dir()) / RANKER_DIR
    if not (directory / RANKER_FILE).exists():
        return None, f"no learned ranker in {directory}"
    try:
        return LearnedRanker(directory), None
    except ModelError as exc:
        log.warning("learned ranker unusable: %s", exc)
        return None, str(exc)


def load_calibration(resources: Path | None = None) -> FirstStageCalibration | None:
    """The first stage's confidence calibration (None when absent or unreadable)."""
    path = (resources or resources_dir()) / CALIBRATION_FILE
    if not path.exists():
        return None
    try:
        return FirstStageCalibration.read(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("confidence calibration unusable: %s", exc)
        return None


def open_pipeline(
    store: CatalogStore,
    config: PipelineConfig | None = None,
    resources: Path | None = None,
    data: Path | None = None,
) -> tuple[SearchPipeline, str | None]:
    """The search pipeline a configuration asks for: its dense stage when needed, the
    learned ranker when the bundle has one and the first stage is the full hybrid one it was
    trained on (else the cross-encoder when the bundle has one), unless ``config.rerank`` is
    False, and the first stage's confidence calibration.

    Returns:
        ``(pipeline, note)``: ``note`` is one line for the user when a stage is missing or
        damaged (hybrid without its dense stage, an unloadable reranker); None otherwise.

    Raises:
        BundleMismatch: ``config.retriever == "dense"`` and no index serves the catalog.
        ModelError: ``config.retriever == "dense"`` and the index or encoder is damaged.

    Example: ``pipeline, note = open_pipeline(store, PipelineConfig(retriever="hybrid"))``
    """
    config = config or PipelineConfig()
    notes = []
    dense = None
    if config.retriever != "bm25":
        load = load_dense(store, resources, data)
        dense = load.retriever
        if dense is None:
            assert load.error is not None
            if config.retriever == "dense":
                raise load.error
            lexical = "BM25 + aliases" if config.aliases else "BM25"
            notes.append(f"{load.reason}. Searching with {lexical}.")
    # the ranker and the calibration were fitted on the full hybrid stage; elsewhere
    # their inputs would not hold
    full = config.retriever == "hybrid" and config.aliases and dense is not None
    ranker = reranker = None
    if config.rerank and full:
        ranker, problem = load_ranker(resources)
        if ranker is None and (resources or resources_dir()).joinpath(RANKER_DIR).exists():
            notes.append(f"{problem}: results keep the first stage's order.")
    if config.rerank and ranker is None and reranker_dir(resources).exists():
        reranker, problem = load_reranker(store, resources)
        if reranker is None:
            notes.append(f"{problem}: results keep the first stage's order.")
    pipeline = SearchPipeline(
        store, config=config, dense=dense, reranker=reranker, ranker=ranker,
        calibration=load_calibration(resources) if full else None,
    )
    return pipeline, " ".join(notes) or None
