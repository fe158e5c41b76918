"""Search as you type: debounce, run the pipeline off the UI thread, drop stale results."""

from __future__ import annotations

import html
import logging
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QListWidgetItem

from app.search.types import Query, SearchResult
from app.ui.highlight import highlight_html
from app.ui.i18n import pick, tr
from app.ui.views.main_window import MainWindowView
from app.ui.views.results_delegate import HTML_ROLE, RESULT_ROLE
from app.ui.worker import run_task

log = logging.getLogger(__name__)

DEBOUNCE_MS = 150
#: Colour of each confidence level's badge.
CONFIDENCE_COLORS = {"alta": "#1e7b34", "media": "#8a5a00", "baja": "#a33"}
TOP_K = 25


class Searcher(Protocol):
    """What the controller needs from ``SearchPipeline``."""

    def search(self, text: str, top_k: int = 10) -> list[SearchResult]:
        """Ranked results."""
        ...


def result_html(result: SearchResult) -> str:
    """One result row as rich text: code, title with matches in bold, badges."""
    title = result.title_es or result.title_en
    body = highlight_html(title, result.matched_terms)
    note = ""
    if result.title_es_inherited:
        note = f' <i style="color:#8a5a00">({html.escape(tr("category_title"))})</i>'
    badge_color = "#1e7b34" if result.valid else "#a33"
    badge = tr("valid") if result.valid else tr("not_valid")
    chapter = tr("chapter", chapter=result.chapter) if result.chapter else ""
    confidence = ""
    if result.confidence_level is not None:
        color = CONFIDENCE_COLORS[result.confidence_level]
        label = tr("confidence", level=tr(f"level_{result.confidence_level}"))
        confidence = (
            f'&nbsp;&nbsp;<span style="color:{color}">◆ {html.escape(label)} '
            f"({result.confidence:.0%})</span>"
        )
    english = ""
    if result.title_es:
        english = (
            f'<br><span style="color:#666">{highlight_html(result.title_en, result.matched_terms)}'
            "</span>"
        )
    return (
        f'<b style="font-family:monospace">{html.escape(result.code)}</b>&nbsp;&nbsp;{body}{note}'
        f'{english}<br><span style="color:{badge_color}">● {html.escape(badge)}</span>'
        f"{confidence}"
        f'&nbsp;&nbsp;<span style="color:#666">{html.escape(chapter)}</span>'
        f"{_hints_html(result)}"
    )


def _hints_html(result: SearchResult) -> str:
    """The 7th-character completion and what tells this result from its sibling."""
    lines = []
    if result.completion is not None:
        c = result.completion
        meaning = pick(c.meaning_es, c.meaning)
        if c.read_from_query:
            text = tr("completion_read", code=c.code, meaning=meaning, cues=", ".join(c.cues))
        else:
            text = tr("completion_default", code=c.code, meaning=meaning)
        lines.append(f'<span style="color:#1e5a9b">→ {html.escape(text)}</span>')
    diff = result.explanation.difference if result.explanation else None
    if diff is not None and (diff.this or diff.other):
        text = tr(
            "differs_from", code=diff.other_code, aspect=tr(f"aspect_{diff.aspect}"),
            this=" ".join(diff.this) or "—", other=" ".join(diff.other) or "—",
        )
        lines.append(f'<span style="color:#666">≠ {html.escape(text)}</span>')
    return "".join(f"<br>{line}" for line in lines)


def query_notes(query: Query) -> str:
    """What the search corrected and read, for the line under the search box:
    "¿Quería decir «…»?" and each lay term with its clinical reading."""
    parts = []
    if query.corrected is not None:
        parts.append(tr("did_you_mean", text=query.corrected))
    for match in query.lay_terms:
        parts.append(tr("lay_term", term=match.term.term, clinical=" / ".join(match.clinical)))
    return " · ".join(parts)


def search_with_notes(pipeline: Searcher, text: str, top_k: int) -> tuple[list, str]:
    """Search, and say what the pipeline corrected or read (``analyze``, when it has one);
    runs on the worker thread."""
    results = pipeline.search(text, top_k)
    analyze = getattr(pipeline, "analyze", None)
    return results, query_notes(analyze(text)) if analyze is not None else ""


class SearchController(QObject):
    """Owns the search box and the result list of a :class:`MainWindowView`.

    Signals:
        results_shown(int): results of the latest query are on screen (their count).
        result_selected(str): the current result changed (its code).
        committed(str, str): the coder copied/picked a code for a query (query, code).
    """

    results_shown = Signal(int)
    result_selected = Signal(str)
    committed = Signal(str, str)

    def __init__(self, view: MainWindowView, debounce_ms: int = DEBOUNCE_MS, top_k: int = TOP_K):
        super().__init__(view)
        self.view = view
        self.top_k = top_k
        self.pipeline: Searcher | None = None
        self.seq = 0
        self.shown_seq = 0
        self.stale_dropped = 0
        self.results: list[SearchResult] = []
        self.notes = ""
        self._pending: str | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(debounce_ms)
        self.timer.timeout.connect(lambda: self.submit(self.view.search_box.text()))
        view.search_box.textChanged.connect(lambda _t: self.timer.start())
        view.search_box.installEventFilter(self)
        view.results.installEventFilter(self)
        view.results.currentRowChanged.connect(self._on_current_row)
        view.results.itemDoubleClicked.connect(lambda _i: self.copy_code())
        self._shortcuts(view)

    def _shortcuts(self, view: MainWindowView) -> None:
        QShortcut(QKeySequence("Ctrl+L"), view, activated=self.focus_search)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), view, activated=self.clear)
        for n in range(1, 10):
            QShortcut(QKeySequence(f"Alt+{n}"), view, activated=lambda n=n: self.pick(n - 1))

    # -- pipeline ------------------------------------------------------------------------

    def set_pipeline(self, pipeline: Searcher) -> None:
        """Start searching with ``pipeline`` (runs a query typed while it was loading)."""
        self.pipeline = pipeline
        if self._pending is not None or self.view.search_box.text().strip():
            self.submit(self.view.search_box.text())

    def submit(self, text: str) -> int:
        """Search ``text`` now (no debounce) on the thread pool; returns its sequence number."""
        self.timer.stop()
        self.seq += 1
        seq = self.seq
        if not text.strip():
            self._pending = None
            self._show(seq, [])
            return seq
        if self.pipeline is None:
            self._pending = text
            return seq
        self._pending = None
        self.view.result_count.setText(tr("searching"))
        run_task(
            search_with_notes, self.pipeline, text, self.top_k,
            on_done=lambda found, s=seq: self._show(s, *found),
            on_failed=lambda exc, s=seq: self._failed(s, exc),
        )
        return seq

    def _failed(self, seq: int, exc: Exception) -> None:
        if seq != self.seq:
            return
        self.view.result_count.setText(tr("search_failed", error=type(exc).__name__))

    def _show(self, seq: int, results: list[SearchResult], notes: str = "") -> None:
        if seq != self.seq:
            self.stale_dropped += 1
            log.debug("dropped stale results of search #%d (latest #%d)", seq, self.seq)
            return
        self.results = list(results)
        self.shown_seq = seq
        lst = self.view.results
        lst.blockSignals(True)
        lst.clear()
        for result in self.results:
            item = QListWidgetItem()
            item.setData(RESULT_ROLE, result)
            item.setData(HTML_ROLE, result_html(result))
            tip = result.title_en
            if result.completion is not None:  # the English beside the CIE-10-ES phrase
                tip += f"\n→ {result.completion.code}: {result.completion.meaning}"
            if result.confidence is not None:
                tip += "\n" + tr("confidence_tip", p=result.confidence)
            item.setData(Qt.ItemDataRole.ToolTipRole, tip)
            lst.addItem(item)
        lst.blockSignals(False)
        if self.view.search_box.text().strip():
            count = tr("n_results", n=len(self.results)) if self.results else tr("no_results")
        else:
            count = ""
        self.notes = notes if count else ""
        self.view.result_count.setText(" — ".join(t for t in (count, self.notes) if t))
        self.results_shown.emit(len(self.results))

    # -- selection, keyboard, clipboard --------------------------------------------------

    def current(self) -> SearchResult | None:
        """The selected result, or the first one when none is selected."""
        row = self.view.results.currentRow()
        if 0 <= row < len(self.results):
            return self.results[row]
        return self.results[0] if self.results else None

    def _on_current_row(self, row: int) -> None:
        if 0 <= row < len(self.results):
            self.result_selected.emit(self.results[row].code)

    def select(self, row: int) -> None:
        """Make ``row`` the current result (emits ``result_selected``)."""
        if 0 <= row < len(self.results):
            self.view.results.setCurrentRow(row)

    def pick(self, row: int) -> None:
        """Alt+N: select result ``row`` and copy its code."""
        if 0 <= row < len(self.results):
            self.select(row)
            self.copy_code()

    def copy_code(self) -> str | None:
        """Copy the current result's code to the clipboard (Enter)."""
        result = self.current()
        if result is None:
            return None
        self._copy(result.code)
        self.committed.emit(self.view.search_box.text(), result.code)
        return result.code

    def copy_code_and_title(self) -> str | None:
        """Copy "code title" of the current result (Ctrl+C)."""
        result = self.current()
        if result is None:
            return None
        text = f"{result.code} {result.title_es or result.title_en}"
        self._copy(text)
        self.committed.emit(self.view.search_box.text(), result.code)
        return text

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.view.statusBar().showMessage(tr("copied", text=text), 4000)

    def focus_search(self) -> None:
        """Ctrl+L: focus the search box with its text selected."""
        self.view.tabs.setCurrentIndex(0)
        self.view.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.view.search_box.selectAll()

    def clear(self) -> None:
        """Esc: clear the query and the results."""
        self.view.search_box.clear()
        self.submit("")
        self.focus_search()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """Arrow keys, Enter and Ctrl+C on the search box and the result list."""
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        key = event.key()
        if watched is self.view.search_box:
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.results:
                self.view.results.setFocus(Qt.FocusReason.OtherFocusReason)
                self.select(0 if key == Qt.Key.Key_Down else len(self.results) - 1)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self.timer.isActive():
                    self.submit(self.view.search_box.text())
                    return True
                self.copy_code()
                return True
            if event.matches(QKeySequence.StandardKey.Copy) and not (
                self.view.search_box.hasSelectedText()
            ):
                self.copy_code_and_title()
                return True
            return False
        if watched is self.view.results:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.copy_code()
                return True
            if event.matches(QKeySequence.StandardKey.Copy):
                self.copy_code_and_title()
                return True
            if key == Qt.Key.Key_Up and self.view.results.currentRow() <= 0:
                self.focus_search()
                return True
        return False
