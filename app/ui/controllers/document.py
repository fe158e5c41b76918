"""Document mode: analyse a pasted note off the UI thread, review its mentions, export CSV.

The note is patient data: it is never logged, never put in the history and never written
to disk except in the CSV file the coder exports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QStandardItem, QStandardItemModel, QTextCursor
from PySide6.QtWidgets import QFileDialog, QLineEdit, QTableWidgetItem, QTextEdit

from app.catalog.store import CatalogStore, CodeRecord
from app.codes import parse_typed_code
from app.document.analyse import analyse_document
from app.document.types import DocumentAnalysis
from app.search.pipeline import SearchPipeline
from app.textio import text_problem
from app.ui.document import MentionRow, carry_over, export_rows, find_cue, initial_rows, write_csv
from app.ui.i18n import tr
from app.ui.views.document_view import CodeCombo, DocumentView
from app.ui.worker import run_task

log = logging.getLogger(__name__)

#: Re-analyse this long after the coder stops typing or pastes.
AUTO_ANALYSE_MS = 800
#: Codes proposed per mention.
TOP_K = 5

#: ``analyse(text) -> DocumentAnalysis`` (runs in a pool thread).
Analyser = Callable[[str], DocumentAnalysis]
#: ``lookup(code) -> CodeRecord | None`` (runs in a pool thread).
CodeLookup = Callable[[str], CodeRecord | None]

_ACCEPTED_BG = QColor("#fff0a0")
_REJECTED_BG = QColor("#e9e9e9")
_NEGATED_FG = QColor("#8a8a8a")
_CUE_FG = QColor("#a02828")
_CURRENT_BG = QColor("#a9cff5")
_UNKNOWN_FG = QColor("#b00020")
_NOT_BILLABLE_FG = QColor("#a35a00")
_ACCEPTED_FG = QColor("#1e7b34")


def make_analyser(pipeline: SearchPipeline, top_k: int = TOP_K) -> Analyser:
    """Document analysis over this session's pipeline (its spotter is built on first use,
    in the pool thread, and kept per pipeline by ``app.document.analyse``)."""
    return partial(analyse_document, pipeline=pipeline, top_k=top_k)


def _utf16_positions(text: str) -> Callable[[int], int]:
    """Map Python string offsets to QTextDocument positions (UTF-16 code units)."""
    if text.isascii() or max(text) <= "\uffff":
        return lambda i: i
    prefix = [0]
    for ch in text:
        prefix.append(prefix[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return lambda i: prefix[i]


class DocumentController(QObject):
    """Owns a :class:`DocumentView`.

    Signals:
        analysis_shown(int): the mentions of the current note are on screen (their count).
        code_selected(str): the selected mention's chosen code (a catalog code).
        row_changed(int): a row's code or decision changed (its index).
        exported(str, int): the CSV was written (path, rows).
        export_failed(str): the CSV could not be written (the reason).
    """

    analysis_shown = Signal(int)
    code_selected = Signal(str)
    row_changed = Signal(int)
    exported = Signal(str, int)
    export_failed = Signal(str)

    def __init__(
        self, view: DocumentView, auto_ms: int = AUTO_ANALYSE_MS, top_k: int = TOP_K
    ):
        super().__init__(view)
        self.view = view
        self.top_k = top_k
        self.analyser: Analyser | None = None
        self.lookup: CodeLookup | None = None
        self.seq = 0
        self.shown_seq = 0
        self.stale_dropped = 0
        self.generation = 0
        self.text = ""
        self.analysis: DocumentAnalysis | None = None
        self.rows: list[MentionRow] = []
        self.stale = False
        self._busy = False
        self._pending = False
        self._checking: set[int] = set()
        self._positions: Callable[[int], int] = lambda i: i
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(auto_ms)
        self.timer.timeout.connect(self.analyse)
        view.editor.textChanged.connect(self._on_text_changed)
        view.editor.installEventFilter(self)
        view.table.installEventFilter(self)
        view.table.currentCellChanged.connect(self._on_current_cell)
        view.analyse_button.clicked.connect(self.analyse)
        view.accept_button.clicked.connect(lambda: self.accept())
        view.reject_button.clicked.connect(lambda: self.reject())
        view.export_button.clicked.connect(self.ask_export)
        self._update_buttons()

    # -- analysis --------------------------------------------------------------------------

    def set_pipeline(self, pipeline: SearchPipeline, store: CatalogStore) -> None:
        """Analyse with ``app.document.analyse`` over ``pipeline``; check typed codes in
        ``store``."""
        self.set_analyser(make_analyser(pipeline, self.top_k), store.find)

    def set_analyser(self, analyser: Analyser, lookup: CodeLookup | None = None) -> None:
        """Start analysing with ``analyser`` (runs a request made while it was loading)."""
        self.analyser = analyser
        self.lookup = lookup
        if self._pending and not self._busy:
            self.analyse()

    def analyse(self) -> int:
        """Analyse the editor's text now, in the background; returns the request number.

        One analysis runs at a time: a request made meanwhile runs when it ends (unless the
        result it gets is for the same text and analyser), and a result whose text is no
        longer the editor's is dropped. Text that is not text (``app.textio.text_problem``:
        binary data) is not analysed; the status says why.
        """
        self.timer.stop()
        self.seq += 1
        seq = self.seq
        text = self.view.editor.toPlainText()
        problem = text_problem(text)
        if not text.strip() or problem is not None:
            self._pending = False
            self._show(seq, text, DocumentAnalysis(text, ()))
            if problem is not None:  # binary data pasted or opened: no mentions, say why
                self._set_status(tr("doc_not_text", reason=problem))
            return seq
        if self.analyser is None or self._busy:
            self._pending = True
            self._set_status(tr("doc_analysing") if self._busy else tr("doc_waiting"))
            return seq
        self._pending = False
        self._busy = True
        self._set_status(tr("doc_analysing"))
        analyser = self.analyser
        run_task(
            analyser, text,
            on_done=lambda analysis, s=seq, t=text: self._done(s, t, analyser, analysis),
            on_failed=lambda exc, s=seq: self._failed(s, exc),
        )
        return seq

    def _done(self, seq: int, text: str, analyser: Analyser, analysis: DocumentAnalysis) -> None:
        self._busy = False
        if text != self.view.editor.toPlainText():
            self.stale_dropped += 1
            log.debug("dropped stale analysis #%d (latest #%d)", seq, self.seq)
        else:
            if analyser is self.analyser:
                self._pending = False  # a later request for this text would get the same
            self._show(seq, text, analysis)
        self._resume()

    def _failed(self, seq: int, exc: Exception) -> None:
        self._busy = False
        if seq == self.seq:
            self._set_status(tr("doc_failed", error=type(exc).__name__))
        self._resume()

    def _resume(self) -> None:
        if self._pending:
            self.analyse()

    def _on_text_changed(self) -> None:
        text = self.view.editor.toPlainText()
        if self.analysis is not None and text != self.text and not self.stale:
            self.stale = True
            self.view.editor.setExtraSelections([])
            self.view.table.setEnabled(False)
            self._set_status(tr("doc_changed"))
            self._update_buttons()
        if text.strip():
            self.timer.start()
        else:
            self.analyse()

    def _show(self, seq: int, text: str, analysis: DocumentAnalysis) -> None:
        rows = initial_rows(analysis)
        kept = carry_over(self.rows, rows) if self.rows else 0
        self.shown_seq = seq
        self.generation += 1
        self.text = text
        self.analysis = analysis if text.strip() else None
        self.rows = rows
        self._checking.clear()
        self.stale = False
        self._positions = _utf16_positions(text)
        self._fill_table()
        self.view.table.setEnabled(True)
        self._highlight()
        self._update_buttons()
        self._summary()
        log.debug("analysis #%d shown: %d mentions, %d decisions kept", seq, len(rows), kept)
        self.analysis_shown.emit(len(rows))

    # -- table ----------------------------------------------------------------------------

    def _fill_table(self) -> None:
        table = self.view.table
        table.setRowCount(0)  # also resets the current row
        table.blockSignals(True)
        table.setRowCount(len(self.rows))
        for i, row in enumerate(self.rows):
            for col in (self.view.COL_MENTION, self.view.COL_NEGATED, self.view.COL_TITLE,
                        self.view.COL_STATUS):
                table.setItem(i, col, QTableWidgetItem())
            combo = CodeCombo()
            combo.setModel(self._choices_model(row, combo))
            combo.setModelColumn(0)
            combo.setEditText(row.code or "")
            combo.activated.connect(lambda index, i=i, c=combo: self._on_activated(i, c, index))
            combo.lineEdit().editingFinished.connect(
                lambda i=i, c=combo, g=self.generation: self._on_code_edited(i, c, g)
            )
            combo.lineEdit().returnPressed.connect(
                lambda: self.view.table.setFocus(Qt.FocusReason.OtherFocusReason)
            )
            combo.setProperty("row", i)
            combo.lineEdit().installEventFilter(self)
            table.setCellWidget(i, self.view.COL_CODE, combo)
            self._paint_row(i)  # sizes the row: a long mention wraps, the whole text shows
        table.blockSignals(False)

    def _choices_model(self, row: MentionRow, owner: QObject) -> QStandardItemModel:
        model = QStandardItemModel(0, 2, owner)
        for result in row.coded.results:
            code = QStandardItem(result.code)
            title = QStandardItem(result.title_es or result.title_en)
            if not result.valid:
                for item in (code, title):
                    item.setForeground(_NOT_BILLABLE_FG)
                title.setText(f"{title.text()}  [{tr('not_valid')}]")
            code.setToolTip(result.title_en)
            title.setToolTip(result.title_en)
            model.appendRow([code, title])
        return model

    def _paint_row(self, i: int) -> None:
        row = self.rows[i]
        table = self.view.table
        mention = row.mention
        item = table.item(i, self.view.COL_MENTION)
        item.setText(mention.text)
        item.setToolTip(mention.text)
        font = QFont(item.font())
        font.setStrikeOut(mention.negated)
        item.setFont(font)
        item.setForeground(_NEGATED_FG if mention.negated or not row.accepted else QColor("black"))
        neg = table.item(i, self.view.COL_NEGATED)
        if mention.negated:
            neg.setText(f"«{mention.cue or '?'}»")
            neg.setToolTip(tr("doc_negated_by", cue=mention.cue or "?"))
        elif mention.uncertain:  # a cue of doubt ("probable", "sospecha de"): shown with a "?"
            neg.setText(f"¿«{mention.uncertainty_cue or '?'}»?")
            neg.setToolTip(tr("doc_uncertain_by", cue=mention.uncertainty_cue or "?"))
        else:
            neg.setText("")
            neg.setToolTip("")
        neg.setForeground(_CUE_FG)
        title = table.item(i, self.view.COL_TITLE)
        combo = self.view.code_combo(i)
        if not row.code:
            title.setText(tr("doc_no_code"))
            colour = _UNKNOWN_FG
        elif i in self._checking:
            title.setText(tr("doc_checking"))
            colour = _NEGATED_FG
        elif not row.known:
            title.setText(tr("doc_code_unknown", code=row.code))
            colour = _UNKNOWN_FG
        elif not row.valid:
            title.setText(f"{row.title}  [{tr('not_valid')}]")
            colour = _NOT_BILLABLE_FG
        else:
            title.setText(row.title)
            colour = QColor("black")
        title.setForeground(colour)
        title.setToolTip(row.title_en or title.text())
        if combo is not None:
            combo.setStyleSheet(
                "" if colour == QColor("black")
                else f"QComboBox {{ color: {colour.name()}; font-weight: bold; }}"
            )
            combo.setToolTip(title.text())
        status = table.item(i, self.view.COL_STATUS)
        status.setText(tr("doc_accepted") if row.accepted else tr("doc_rejected"))
        status.setForeground(_ACCEPTED_FG if row.accepted else _NEGATED_FG)
        table.resizeRowToContents(i)

    def current_row(self) -> int:
        """The selected row, or -1."""
        row = self.view.table.currentRow()
        return row if 0 <= row < len(self.rows) else -1

    def select(self, row: int) -> None:
        """Make ``row`` current: its span is selected in the editor, its code shown."""
        if row == self.current_row():
            self._activate(row)
        elif 0 <= row < len(self.rows):
            self.view.table.setCurrentCell(row, self.view.COL_MENTION)

    def _on_current_cell(self, row: int, _col: int, previous: int, _pcol: int) -> None:
        if row != previous and 0 <= row < len(self.rows):
            self._activate(row)

    def _activate(self, row: int) -> None:
        mention = self.rows[row].mention
        cursor = QTextCursor(self.view.editor.document())
        cursor.setPosition(self._positions(mention.start))
        cursor.setPosition(self._positions(mention.end), QTextCursor.MoveMode.KeepAnchor)
        self.view.editor.setTextCursor(cursor)
        self.view.editor.ensureCursorVisible()
        self._highlight()
        self._emit_code(row)

    def _emit_code(self, i: int) -> None:
        row = self.rows[i]
        if row.code and row.known:
            self.code_selected.emit(row.code)

    # -- decisions ------------------------------------------------------------------------

    def accept(self, row: int | None = None) -> bool:
        """Accept ``row`` (default: the current one); refused without a catalog code."""
        i = self.current_row() if row is None else row
        if not 0 <= i < len(self.rows) or self.stale:
            return False
        target = self.rows[i]
        if not (target.code and target.known):
            self._set_status(tr("doc_cannot_accept"))
            return False
        return self._decide(i, True)

    def reject(self, row: int | None = None) -> bool:
        """Reject ``row`` (default: the current one)."""
        i = self.current_row() if row is None else row
        if not 0 <= i < len(self.rows) or self.stale:
            return False
        return self._decide(i, False)

    def _decide(self, i: int, accepted: bool) -> bool:
        self.rows[i].accepted = accepted
        self._changed(i)
        return True

    def _changed(self, i: int) -> None:
        self._paint_row(i)
        self._highlight()
        self._summary()
        self._update_buttons()
        self.row_changed.emit(i)

    def choose(self, row: int, index: int) -> None:
        """Choose the ``index``-th proposed code for ``row``."""
        target = self.rows[row]
        if 0 <= index < len(target.coded.results):
            self._set_code_result(row, index)

    def _on_activated(self, i: int, combo: CodeCombo, index: int) -> None:
        if i < len(self.rows) and self.view.code_combo(i) is combo:
            self.choose(i, index)

    def _set_code_result(self, i: int, index: int) -> None:
        row = self.rows[i]
        result = row.coded.results[index]
        combo = self.view.code_combo(i)
        if combo is not None and combo.currentText() != result.code:
            combo.setEditText(result.code)
        if row.code == result.code and row.known:
            return
        row.set_result(result)
        self._code_changed(i)

    def set_code(self, row: int, text: str) -> None:
        """Set ``row``'s code to a typed one (checked against the catalog in the background)."""
        combo = self.view.code_combo(row)
        if combo is not None and combo.currentText() != text:
            combo.setEditText(text)
        self._commit(row, text, self.generation)

    def _on_code_edited(self, i: int, combo: CodeCombo, generation: int) -> None:
        if generation == self.generation and self.view.code_combo(i) is combo:
            self._commit(i, combo.currentText(), generation)

    def _commit(self, i: int, text: str, generation: int) -> None:
        if generation != self.generation or not 0 <= i < len(self.rows):
            return
        row = self.rows[i]
        code = parse_typed_code(text) or text.strip().upper()
        if code == (row.code or ""):
            return
        if not code:
            row.code, row.title_es, row.title_en = None, None, ""
            row.known = row.valid = False
            self._code_changed(i)
            return
        result = row.alternative(code)
        if result is not None:
            self._set_code_result(i, row.coded.results.index(result))
            return
        if self.lookup is None or parse_typed_code(code) is None:
            row.set_record(code, None)
            self._code_changed(i)
            return
        # provisional until the catalog answers (not exported meanwhile: not known)
        row.code, row.title_es, row.title_en, row.known, row.valid = code, None, "", False, False
        self._checking.add(i)
        self._paint_row(i)
        run_task(
            self.lookup, code,
            on_done=lambda record, g=generation, c=code: self._looked_up(i, c, g, record),
            on_failed=lambda _exc, g=generation, c=code: self._looked_up(i, c, g, None),
        )

    def _looked_up(self, i: int, code: str, generation: int, record: CodeRecord | None) -> None:
        if generation != self.generation or self.rows[i].code != code:
            return
        self._checking.discard(i)
        self.rows[i].set_record(code, record)
        self._code_changed(i)

    def _code_changed(self, i: int) -> None:
        row = self.rows[i]
        combo = self.view.code_combo(i)
        if combo is not None and combo.currentText() != (row.code or ""):
            combo.setEditText(row.code or "")
        if row.accepted and not row.known:
            row.accepted = False
            self._set_status(tr("doc_unknown_rejected", code=row.code or "?"))
        self._changed(i)
        if i == self.current_row():
            self._emit_code(i)

    def _cancel_code_edit(self, combo: CodeCombo) -> None:
        i = combo.property("row")
        if isinstance(i, int) and 0 <= i < len(self.rows) and self.view.code_combo(i) is combo:
            combo.setEditText(self.rows[i].code or "")
        self.view.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def focus_code(self, row: int | None = None) -> None:
        """Put the keyboard in ``row``'s code choice to type another code (C, F2)."""
        i = self.current_row() if row is None else row
        combo = self.view.code_combo(i) if i >= 0 else None
        if combo is not None:
            combo.setFocus(Qt.FocusReason.ShortcutFocusReason)
            combo.lineEdit().selectAll()

    # -- editor highlighting --------------------------------------------------------------

    def _highlight(self) -> None:
        if self.stale:
            return
        editor = self.view.editor
        current = self.current_row()
        selections = []
        for i, row in enumerate(self.rows):
            mention = row.mention
            fmt_sel = QTextEdit.ExtraSelection()
            cursor = QTextCursor(editor.document())
            cursor.setPosition(self._positions(mention.start))
            cursor.setPosition(self._positions(mention.end), QTextCursor.MoveMode.KeepAnchor)
            fmt_sel.cursor = cursor
            fmt = fmt_sel.format
            if i == current:
                fmt.setBackground(_CURRENT_BG)
            elif row.accepted:
                fmt.setBackground(_ACCEPTED_BG)
            else:
                fmt.setBackground(_REJECTED_BG)
            if mention.negated:
                fmt.setForeground(_NEGATED_FG)
                fmt.setFontStrikeOut(True)
            fmt_sel.format = fmt
            selections.append(fmt_sel)
            cue = find_cue(self.text, mention)
            if cue is not None:
                cue_sel = QTextEdit.ExtraSelection()
                cue_cursor = QTextCursor(editor.document())
                cue_cursor.setPosition(self._positions(cue[0]))
                cue_cursor.setPosition(self._positions(cue[1]), QTextCursor.MoveMode.KeepAnchor)
                cue_sel.cursor = cue_cursor
                cue_fmt = cue_sel.format
                cue_fmt.setForeground(_CUE_FG)
                cue_fmt.setFontWeight(QFont.Weight.Bold)
                cue_fmt.setFontUnderline(True)
                cue_sel.format = cue_fmt
                selections.append(cue_sel)
        editor.setExtraSelections(selections)

    # -- status, keyboard -----------------------------------------------------------------

    def _set_status(self, text: str) -> None:
        self.view.status_label.setText(text)

    def _summary(self) -> None:
        if self.analysis is None:
            self._set_status("")
        elif not self.rows:
            self._set_status(tr("doc_no_mentions"))
        else:
            accepted = sum(r.accepted for r in self.rows)
            negated = sum(r.mention.negated for r in self.rows)
            self._set_status(
                tr("doc_summary", n=len(self.rows), accepted=accepted, negated=negated)
            )
        if self.analysis is not None and self.analysis.truncated:
            self._set_status(
                f"{self.view.status_label.text()} · "
                f"{tr('doc_truncated', n=self.analysis.analysed_chars or 0)}"
            )

    def _update_buttons(self) -> None:
        ready = bool(self.rows) and not self.stale
        self.view.accept_button.setEnabled(ready)
        self.view.reject_button.setEnabled(ready)
        self.view.export_button.setEnabled(ready and any(r.accepted for r in self.rows))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """Ctrl+Enter in the editor; A, R, C/F2 in the mentions table; Esc in a code choice."""
        if not isinstance(event, QKeyEvent):
            return False
        parent = watched.parent() if isinstance(watched, QLineEdit) else None
        if isinstance(parent, CodeCombo) and event.key() == Qt.Key.Key_Escape:
            if event.type() == QEvent.Type.ShortcutOverride:
                event.accept()  # Esc cancels the typed code, not the window's search
                return True
            if event.type() == QEvent.Type.KeyPress:
                self._cancel_code_edit(parent)
                return True
            return False
        if event.type() != QEvent.Type.KeyPress:
            return False
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if watched is self.view.editor:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                mods & Qt.KeyboardModifier.ControlModifier
            ):
                self.analyse()
                return True
            return False
        if watched is self.view.table and mods == Qt.KeyboardModifier.NoModifier:
            if key == Qt.Key.Key_A:
                self.accept()
                return True
            if key == Qt.Key.Key_R:
                self.reject()
                return True
            if key in (Qt.Key.Key_C, Qt.Key.Key_F2):
                self.focus_code()
                return True
        return False

    # -- export ---------------------------------------------------------------------------

    def ask_export(self) -> None:
        """"Exportar CSV…": ask where, then write the accepted rows."""
        if not export_rows(self.rows):
            self._set_status(tr("doc_nothing_accepted"))
            return
        path, _filter = QFileDialog.getSaveFileName(
            self.view, tr("doc_export_title"), str(Path.home() / tr("doc_export_default")),
            tr("doc_csv_filter"),
        )
        if path:
            if not path.lower().endswith(".csv"):
                path += ".csv"
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> int:
        """Write the accepted rows to ``path`` in the background; returns how many."""
        if self.stale:
            self._set_status(tr("doc_changed"))
            return 0
        records = export_rows(self.rows)
        if not records:
            self._set_status(tr("doc_nothing_accepted"))
            return 0
        run_task(
            write_csv, path, records,
            on_done=lambda n, p=path: self._exported(p, n),
            on_failed=self._export_failed,
        )
        return len(records)

    def _exported(self, path: Path, n: int) -> None:
        self._set_status(tr("doc_exported", n=n, path=path.name))
        self.exported.emit(str(path), n)

    def _export_failed(self, exc: Exception) -> None:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        self._set_status(tr("doc_export_failed", error=reason))
        self.export_failed.emit(reason)
