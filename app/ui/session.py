"""What the app opens at start-up, in one background call (no Qt)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.about import ModelBundle, model_bundle
from app.catalog.build import Progress
from app.catalog.details import CodeDetails, code_details
from app.catalog.store import CatalogStore
from app.integrity import ensure_resources_intact
from app.search.bundle import open_pipeline
from app.search.pipeline import SearchPipeline
from app.userdata import Favourite, HistoryEntry, UserData

log = logging.getLogger(__name__)

#: ``open_store(progress=...) -> CatalogStore`` (``app.catalog.open.open_catalog`` by default).
StoreOpener = Callable[..., CatalogStore]


@dataclass
class Session:
    """The open catalog, its pipeline and the coder's own data.

    Attributes:
        search_note: why searches are lexical only (None: hybrid, with the dense stage).
        model: the bundled model, as its manifest describes it (None: no manifest).
    """

    store: CatalogStore
    pipeline: SearchPipeline
    userdata: UserData | None = None
    favourites: list[Favourite] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    history_enabled: bool = True
    search_note: str | None = None
    model: ModelBundle | None = None

    def details(self, code: str) -> CodeDetails:
        """The details of a code, with its favourite flag (runs in a pool thread)."""
        starred = self.userdata.is_favourite(code) if self.userdata is not None else False
        return replace(code_details(self.store, code), favourite=starred)


def _open_search(
    open_store: StoreOpener, progress: Progress | None
) -> tuple[CatalogStore, SearchPipeline, str | None]:
    ensure_resources_intact()  # before anything reads them
    store = open_store(progress=progress)
    pipeline, note = open_pipeline(store)
    if note:
        log.warning("dense search disabled: %s", note)
    return store, pipeline, note


def open_session(
    open_store: StoreOpener, userdata_path: Path | None, progress: Progress | None = None
) -> Session:
    """Open (or build) the catalog, assemble the pipeline and open the user database.

    The pipeline is hybrid (aliases + BM25 + dense) when a vector index serves the catalog,
    else lexical, with the reason in ``search_note``. A user database that cannot be opened
    only disables favourites and history.

    Raises:
        CieloError: the catalog is missing, corrupt or cannot be built.
    """
    store, pipeline, note = _open_search(open_store, progress)
    session = Session(store=store, pipeline=pipeline, search_note=note, model=model_bundle())
    if userdata_path is not None:
        try:
            userdata = UserData(userdata_path)
            session.userdata = userdata
            session.favourites = userdata.favourites()
            session.history_enabled = userdata.history_enabled
            session.history = userdata.history(limit=15) if session.history_enabled else []
        except (sqlite3.Error, OSError) as exc:
            log.warning("favourites and history disabled: cannot open %s (%s)",
                        userdata_path, exc)
    return session


def reopen_catalog(
    session: Session, open_store: StoreOpener, progress: Progress | None = None
) -> Session:
    """``session`` on the now active catalog (after an import): a new store, pipeline and
    search note; the user's database stays open.

    Raises:
        CieloError: the catalog is missing, corrupt or cannot be built.
    """
    store, pipeline, note = _open_search(open_store, progress)
    return replace(session, store=store, pipeline=pipeline, search_note=note)
