"""The application controller: start-up, error state, catalog import, About, favourites,
history, menus."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.about import about_info
from app.catalog.build import BuildReport
from app.catalog.open import open_catalog
from app.catalog.recipes import import_edition
from app.errors import CieloError, ImportValidationError
from app.ui.controllers.browse import BrowseController
from app.ui.controllers.details import DetailsController
from app.ui.controllers.document import DocumentController
from app.ui.controllers.search import SearchController
from app.ui.i18n import tr
from app.ui.session import Session, StoreOpener, open_session, reopen_catalog
from app.ui.views.about_dialog import AboutDialog
from app.ui.views.import_dialog import ImportDialog
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
        self.document = DocumentController(view.document)
        self._quiet_code: str | None = None
        self._widened = False
        self.search.result_selected.connect(self.details.show_code)
        self.browse.code_selected.connect(self.details.show_code)
        self.document.code_selected.connect(self._show_document_code)
        self.details.details_shown.connect(self._sync_browse)
        view.tabs.currentChanged.connect(lambda _i: self._sync_browse())
        view.tabs.currentChanged.connect(self._widen_for_document)
        self.search.committed.connect(self._on_committed)
        self.details.details_shown.connect(self._record_shown)
        self.details.favourite_toggled.connect(self.set_favourite)
        view.quit_action.triggered.connect(view.close)
        view.favourites_menu.aboutToShow.connect(self._fill_favourites_menu)
        view.history_menu.aboutToShow.connect(self._fill_history_menu)
        view.history_toggle.toggled.connect(self.set_history_enabled)
        view.history_purge.triggered.connect(self._confirm_purge)
        view.import_action.triggered.connect(self.choose_import_file)
        view.about_action.triggered.connect(self.show_about)
        self.dialog: AboutDialog | ImportDialog | QMessageBox | None = None

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

    def _on_progress(
        self, stage: str, done: int, total: int, message: str = "building_catalog"
    ) -> None:
        self.view.statusBar().showMessage(tr(message, stage=_STAGES.get(stage, stage)))
        if total > 1:
            self.view.progress.setRange(0, total)
            self.view.progress.setValue(done)
        else:
            self.view.progress.setRange(0, 0)

    def _on_session(self, session: Session) -> None:
        self.view.progress.hide()
        self.view.statusBar().clearMessage()
        self.favourites = list(session.favourites)
        self.history = list(session.history)
        self.history_enabled = session.history_enabled
        self.view.history_toggle.blockSignals(True)
        self.view.history_toggle.setChecked(session.history_enabled)
        self.view.history_toggle.blockSignals(False)
        self._use_catalog(session)
        self.view.show_main_page()
        self.ready.emit()

    def _use_catalog(self, session: Session, message: str | None = None) -> None:
        """Search, browse and show details with the session's catalog and pipeline;
        ``message`` goes to the status bar (with why dense search is off, if it is)."""
        self.session = session
        self.view.edition_label.setText(tr("edition", edition=session.store.edition))
        self._show_search_mode(session, message)
        self.details.set_loader(session.details)
        self.browse.set_store(session.store)
        self.search.set_pipeline(session.pipeline)
        self.document.set_pipeline(session.pipeline, session.store)
        self.view.import_action.setEnabled(True)

    def _show_search_mode(self, session: Session, message: str | None) -> None:
        """The model and search mode in the status bar; why dense search is off, if it is."""
        label = self.view.model_label
        model = session.model.label if session.model else tr("model_missing")
        mode = tr("search_lexical") if session.search_note else tr("search_hybrid")
        if session.pipeline.ranker is not None:
            mode = f"{mode} · {tr('search_ranked')}"
        label.setText(tr("model_status", model=model, mode=mode))
        if session.search_note:
            note = tr("dense_off", reason=session.search_note)
            label.setToolTip(note)
            label.setStyleSheet("color: #8a5a00;")
            message = f"{message}. {note}" if message else note
        else:
            label.setToolTip(session.model.base_model if session.model else "")
            label.setStyleSheet("")
        if message:
            self.view.statusBar().showMessage(message, 30_000)

    def _on_failed(self, exc: Exception) -> None:
        self.view.progress.hide()
        detail = str(exc) if isinstance(exc, CieloError) else f"{type(exc).__name__}: {exc}"
        message = tr("catalog_error_body", error=detail)
        self.error = message
        log.error("cannot open the catalog: %s", detail)
        self.view.statusBar().showMessage(tr("catalog_error_title"))
        self.view.show_error_page(message)
        self.failed.emit(message)

    def _widen_for_document(self, _index: int = -1) -> None:
        """The first time the Document tab shows, give the note and its table more room."""
        if self.view.tabs.currentWidget() is not self.view.document or self._widened:
            return
        self._widened = True
        sizes = self.view.splitter.sizes()
        total = sum(sizes)
        if total and sizes[0] < total * 0.6:
            self.view.splitter.setSizes([int(total * 0.62), total - int(total * 0.62)])

    # -- catalog import ------------------------------------------------------------------

    def choose_import_file(self) -> None:
        """Ask for an edition file, then for its edition name and encoding."""
        name, _filter = QFileDialog.getOpenFileName(
            self.view, tr("import_title"), "", tr("import_filter")
        )
        if name:
            self.ask_import_options(Path(name))

    def ask_import_options(self, path: Path) -> ImportDialog:
        """Open the import dialog for ``path``; accepting it starts the import."""
        dialog = ImportDialog(path, self.view)
        dialog.accepted.connect(
            lambda: self.import_file(path, dialog.edition(), dialog.encoding())
        )
        self._show_dialog(dialog)
        return dialog

    def import_file(self, path: Path, edition: str, encoding: str = "utf-8") -> None:
        """Import ``path`` as ``edition`` in the background (validated in full, activated
        atomically), then reopen the catalog; searches keep the old one meanwhile."""
        self.view.import_action.setEnabled(False)
        self.view.statusBar().showMessage(tr("import_running"))
        self.view.progress.setRange(0, 0)
        self.view.progress.show()
        run_task(
            import_edition, path, edition, encoding,
            on_done=self._on_imported, on_failed=self._on_import_failed,
            on_progress=lambda s, d, t: self._on_progress(s, d, t, "import_building"),
        )

    def _on_imported(self, report: BuildReport) -> None:
        log.info("imported catalog edition %s", report.edition)
        assert self.session is not None  # importing is enabled once a catalog is open
        run_task(
            reopen_catalog, self.session, self.open_store,
            on_done=lambda session: self._on_reopened(session, report.edition),
            on_failed=lambda exc: self._import_error("reopen_failed", exc),
        )

    def _on_reopened(self, session: Session, edition: str) -> None:
        self.view.progress.hide()
        self._use_catalog(session, tr("import_done", edition=edition))
        if self.details.details is not None:  # refresh from the new catalog, not into history
            self._quiet_code = self.details.details.record.code
            self.details.show_code(self._quiet_code)

    def _on_import_failed(self, exc: Exception) -> None:
        self._import_error("import_failed", exc)

    def _import_error(self, message: str, exc: Exception) -> None:
        """Say why the import failed; the catalog in use is unchanged."""
        self.view.progress.hide()
        self.view.statusBar().clearMessage()
        self.view.import_action.setEnabled(True)
        detail = str(exc) if isinstance(exc, CieloError) else f"{type(exc).__name__}: {exc}"
        log.warning("catalog import failed: %s", detail)
        if isinstance(exc, ImportValidationError):
            lines = [tr("import_line", line=line, error=error) for line, error in exc.errors]
            summary = "\n".join([tr("import_errors", n=len(lines)), *lines[:5]])
            summary += "\n…" if len(lines) > 5 else ""
            detail = "\n".join(lines)
        else:
            summary = detail
        edition = self.session.store.edition if self.session else ""
        box = QMessageBox(
            QMessageBox.Icon.Critical, tr("import_title"),
            tr(message, edition=edition, error=summary), parent=self.view,
        )
        box.setObjectName("import_error")
        box.setDetailedText(detail)
        self._show_dialog(box)

    # -- About ---------------------------------------------------------------------------

    def show_about(self) -> AboutDialog:
        """Open Help > About: versions, catalog, model bundle, licences."""
        edition = self.session.store.edition if self.session else None
        dialog = AboutDialog(about_info(edition), self.view)
        self._show_dialog(dialog)
        return dialog

    def _show_dialog(self, dialog: AboutDialog | ImportDialog | QMessageBox) -> None:
        """Open a window-modal dialog without blocking (it replaces the previous one)."""
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = dialog
        dialog.open()

    def _show_document_code(self, code: str) -> None:
        """Show a document mention's code without putting it in the history (patient data)."""
        self._quiet_code = code
        self.details.show_code(code)

    def _record_shown(self, code: str) -> None:
        if code == self._quiet_code:
            self._quiet_code = None
            return
        self.record("code", code)

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
