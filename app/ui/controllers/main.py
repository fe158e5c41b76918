"""The application controller: start-up, error state, favourites, history, menus."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from app.catalog.open import open_catalog
from app.errors import CieloError
from app.ui.controllers.browse import BrowseController
from app.ui.controllers.details import DetailsController
from app.ui.controllers.search import SearchController
from app.ui.i18n import tr
from app.ui.session import Session, StoreOpener, open_session
from app.ui.views.main_window import MainWindowView
from app.ui.worker import run_task
from app.userdata import Favourite, HistoryEntry

log = logging.getLogger(__name__)

_STAGES = {"tabular": "tabular", "codes": "códigos", "notes": "notas", "aliases": "alias",
           "fts": "índice"}


class MainController(QObject):
    """Wires the main window to the catalog, the pipeline and the user's data.

    Args:
        view: the window.
        open_store: opens (or builds) the catalog; ``open_catalog`` by default.
        userdata_path: the favourites/history database (None: none kept).

    Signals:
        ready(): the catalog is open and searches run.
        failed(str): the catalog could not be opened; the error page is shown.
    """

    ready = Signal()
    failed = Signal(str)

    def __init__(
        self,
        view: MainWindowView,
        open_store: StoreOpener = open_catalog,
        userdata_path: Path | None = None,
    ):
        super().__init__(view)
        self.view = view
        self.open_store = open_store
        self.userdata_path = userdata_path
        self.session: Session | None = None
        self.error: str | None = None
        self.history_enabled = True
        self.favourites: list[Favourite] = []
        self.history: list[HistoryEntry] = []
        self.search = SearchController(view)
        self.details = DetailsController(view.details)
        self.browse = BrowseController(view.browse)
        self.search.result_selected.connect(self.details.show_code)
        self.browse.code_selected.connect(self.details.show_code)
        self.details.details_shown.connect(self._sync_browse)
        view.tabs.currentChanged.connect(lambda _i: self._sync_browse())
        self.search.committed.connect(self._on_committed)
        self.details.details_shown.connect(lambda code: self.record("code", code))
        self.details.favourite_toggled.connect(self.set_favourite)
        view.quit_action.triggered.connect(view.close)
        view.favourites_menu.aboutToShow.connect(self._fill_favourites_menu)
        view.history_menu.aboutToShow.connect(self._fill_history_menu)
        view.history_toggle.toggled.connect(self.set_history_enabled)
        view.history_purge.triggered.connect(self._confirm_purge)

    # -- start-up ------------------------------------------------------------------------

    def start(self) -> None:
        """Open the catalog in the background; the window stays responsive meanwhile."""
        self.view.statusBar().showMessage(tr("loading_catalog"))
        self.view.progress.setRange(0, 0)
        self.view.progress.show()
        run_task(
            open_session, self.open_store, self.userdata_path,
            on_done=self._on_session, on_failed=self._on_failed, on_progress=self._on_progress,
        )

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.view.statusBar().showMessage(
            tr("building_catalog", stage=_STAGES.get(stage, stage))
        )
        if total > 1:
            self.view.progress.setRange(0, total)
            self.view.progress.setValue(done)
        else:
            self.view.progress.setRange(0, 0)

    def _on_session(self, session: Session) -> None:
        self.session = session
        self.view.progress.hide()
        self.view.statusBar().clearMessage()
        self.view.edition_label.setText(tr("edition", edition=session.store.edition))
        self.favourites = list(session.favourites)
        self.history = list(session.history)
        self.history_enabled = session.history_enabled
        self.view.history_toggle.blockSignals(True)
        self.view.history_toggle.setChecked(session.history_enabled)
        self.view.history_toggle.blockSignals(False)
        self.details.set_loader(session.details)
        self.browse.set_store(session.store)
        self.search.set_pipeline(session.pipeline)
        self.view.show_main_page()
        self.ready.emit()

    def _on_failed(self, exc: Exception) -> None:
        self.view.progress.hide()
        detail = str(exc) if isinstance(exc, CieloError) else f"{type(exc).__name__}: {exc}"
        message = tr("catalog_error_body", error=detail)
        self.error = message
        log.error("cannot open the catalog: %s", detail)
        self.view.statusBar().showMessage(tr("catalog_error_title"))
        self.view.show_error_page(message)
        self.failed.emit(message)

    def _sync_browse(self, code: str | None = None) -> None:
        """Reveal the shown code in the Browse tree when that tab is visible."""
        if self.view.tabs.currentWidget() is not self.view.browse:
            return
        if code is None and self.details.details is not None:
            code = self.details.details.record.code
        current = self.view.browse.tree.currentItem()
        if code and (current is None or current.text(0) != code):
            self.browse.reveal(code)

    # -- favourites ----------------------------------------------------------------------

    def set_favourite(self, code: str, title: str, starred: bool) -> None:
        """Star or unstar ``code``; written in the background."""
        self.favourites = [f for f in self.favourites if f.code != code]
        if starred:
            self.favourites.insert(0, Favourite(code, title, 0.0))
        userdata = self.session.userdata if self.session else None
        if userdata is not None:
            run_task(userdata.set_favourite, code, starred, title)

    def _fill_favourites_menu(self) -> None:
        menu = self.view.favourites_menu
        menu.clear()
        if not self.favourites:
            menu.addAction(tr("favourites_empty")).setEnabled(False)
        for fav in self.favourites[:40]:
            action = menu.addAction(f"{fav.code}  {fav.title}"[:90])
            action.triggered.connect(lambda _c=False, code=fav.code: self.details.show_code(code))

    # -- history -------------------------------------------------------------------------

    def record(self, kind: str, value: str) -> None:
        """Add to the history (nothing at all when history is off)."""
        if not self.history_enabled or not value.strip():
            return
        userdata = self.session.userdata if self.session else None
        if userdata is None:
            return
        entry = HistoryEntry(kind, value.strip(), 0.0)
        rest = [h for h in self.history if (h.kind, h.value) != (kind, entry.value)]
        self.history = [entry, *rest][:15]
        run_task(userdata.record, kind, value)

    def _on_committed(self, query: str, code: str) -> None:
        self.record("query", query)

    def set_history_enabled(self, enabled: bool) -> None:
        """Switch history on or off (persisted)."""
        self.history_enabled = enabled
        if self.view.history_toggle.isChecked() != enabled:
            self.view.history_toggle.setChecked(enabled)
        userdata = self.session.userdata if self.session else None
        if userdata is not None:
            run_task(userdata.set_history_enabled, enabled)

    def purge_history(self) -> None:
        """Delete the whole history (in the background)."""
        self.history = []
        userdata = self.session.userdata if self.session else None
        if userdata is not None:
            run_task(
                userdata.purge_history,
                on_done=lambda _r: self.view.statusBar().showMessage(tr("history_purged"), 4000),
            )

    def _confirm_purge(self) -> None:
        answer = QMessageBox.question(self.view, tr("history_purge"), tr("history_purge_confirm"))
        if answer == QMessageBox.StandardButton.Yes:
            self.purge_history()

    def _fill_history_menu(self) -> None:
        menu = self.view.history_menu
        menu.clear()
        menu.addAction(self.view.history_toggle)
        menu.addAction(self.view.history_purge)
        menu.addSeparator()
        if not self.history:
            menu.addAction(tr("history_empty")).setEnabled(False)
        for entry in self.history:
            action: QAction = menu.addAction(entry.value[:80])
            if entry.kind == "code":
                action.triggered.connect(lambda _c=False, v=entry.value: self.details.show_code(v))
            else:
                action.triggered.connect(
                    lambda _c=False, v=entry.value: self.view.search_box.setText(v)
                )
