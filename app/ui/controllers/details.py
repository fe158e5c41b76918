"""The details pane: load a code off the UI thread and show it; navigation; 7th character."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication

from app.catalog.details import CodeDetails, SeventhOption, own_title
from app.catalog.store import CodeRecord
from app.codes import strip_dot
from app.ui.i18n import language, pick, tr
from app.ui.views.details_view import DetailsView
from app.ui.worker import run_task

log = logging.getLogger(__name__)

#: ``loader(code) -> CodeDetails`` (run in a pool thread).
DetailsLoader = Callable[[str], CodeDetails]


def _link(record: CodeRecord, with_title: bool = True) -> str:
    code = html.escape(record.code)
    text = f'<a href="{code}">{code}</a>'
    if with_title:
        text += f" {html.escape(own_title(record))}"
    return text


def breadcrumbs_html(details: CodeDetails) -> str:
    """Chapter > block > category > code, every ancestor a link."""
    parts = []
    for record in details.ancestors:
        label = f"{tr('chapter', chapter=record.code)}" if record.kind == "chapter" else record.code
        parts.append(
            f'<a href="{html.escape(record.code)}" title="{html.escape(record.title)}">'
            f"{html.escape(label)}</a>"
        )
    parts.append(f"<b>{html.escape(details.record.code)}</b>")
    return " &gt; ".join(parts)


def notes_html(details: CodeDetails) -> str:
    """Notes grouped by kind; inherited ones name the code that declares them."""
    blocks = []
    for kind, notes in details.grouped_notes.items():
        key = f"note_{kind}"
        try:
            heading = tr(key)
        except KeyError:
            heading = kind
        items = []
        for note in notes:
            origin = ""
            if note.from_code != details.record.code:
                origin = (
                    f' <span style="color:#777">({tr("inherited_from", code="")}'
                    f'<a href="{html.escape(note.from_code)}">{html.escape(note.from_code)}</a>)'
                    "</span>"
                )
            items.append(f"<li>{html.escape(note.text)}{origin}</li>")
        blocks.append(
            f"<p style='margin-bottom:0'><b>{html.escape(heading)}</b></p>"
            f"<ul style='margin-top:0'>{''.join(items)}</ul>"
        )
    return "".join(blocks)


def code_list_html(title: str, records: tuple[CodeRecord, ...]) -> str:
    """A titled list of code links (children, valid descendants)."""
    if not records:
        return ""
    rows = []
    for record in records:
        flag = "" if record.valid else ' <span style="color:#a33">…</span>'
        rows.append(f"{_link(record)}{flag}")
    return f"<p style='margin-bottom:2px'><b>{html.escape(title)}</b></p>" + "<br>".join(rows)


class DetailsController(QObject):
    """Fills a :class:`DetailsView`; emits what the coder does there.

    Signals:
        details_shown(str): a code's details are on screen.
        favourite_toggled(str, str, bool): star changed (code, title, starred).
        navigated(str): the coder followed a link to a code.
    """

    details_shown = Signal(str)
    favourite_toggled = Signal(str, str, bool)
    navigated = Signal(str)

    def __init__(self, view: DetailsView, loader: DetailsLoader | None = None):
        super().__init__(view)
        self.view = view
        self.loader = loader
        self.details: CodeDetails | None = None
        self.seq = 0
        for label in (view.breadcrumbs, view.children, view.descendants, view.notes):
            label.linkActivated.connect(self.navigate)
        view.seventh_combo.currentIndexChanged.connect(self._on_seventh)
        view.seventh_open.clicked.connect(self._open_seventh)
        view.star.toggled.connect(self._on_star)
        view.copy_button.clicked.connect(self.copy_code)

    def set_loader(self, loader: DetailsLoader) -> None:
        """Use ``loader`` (the catalog is open)."""
        self.loader = loader

    def show_code(self, code: str) -> None:
        """Load and show ``code`` (latest request wins)."""
        if self.loader is None:
            return
        self.seq += 1
        seq = self.seq
        run_task(
            self.loader, code,
            on_done=lambda details, s=seq: self._render(s, details),
            on_failed=lambda exc, s=seq: self._failed(s, exc),
        )

    def navigate(self, code: str) -> None:
        """Follow a link (breadcrumb, child, note origin)."""
        self.navigated.emit(code)
        self.show_code(code)

    def _failed(self, seq: int, exc: Exception) -> None:
        if seq == self.seq:
            log.warning("details failed: %s", type(exc).__name__)

    def _render(self, seq: int, details: CodeDetails) -> None:
        if seq != self.seq:
            return
        self.details = details
        view = self.view
        record = details.record
        view.empty_label.hide()
        view.content.show()
        view.breadcrumbs.setText(breadcrumbs_html(details))
        view.code_label.setText(record.code)
        if record.valid:
            view.badge.setText(tr("valid_long"))
            view.badge.setStyleSheet("color: white; background: #1e7b34; padding: 3px 8px;"
                                     " border-radius: 8px;")
        else:
            view.badge.setText(tr("not_valid"))
            view.badge.setStyleSheet("color: white; background: #a33; padding: 3px 8px;"
                                     " border-radius: 8px;")
        view.star.blockSignals(True)
        view.star.setChecked(details.favourite)
        view.star.setText("★" if details.favourite else "☆")
        view.star.setToolTip(tr("favourite_remove" if details.favourite else "favourite_add"))
        view.star.blockSignals(False)
        view.title_es.setText(record.title_es or tr("no_spanish"))
        if record.title_es_inherited:
            view.title_es_note.setText(tr("category_title_of", code=record.title_es_from or ""))
            view.title_es_note.show()
        else:
            view.title_es_note.hide()
        view.title_en.setText(f"{tr('title_en')}: {record.title_en}")
        self._show_own_seventh(details)
        view.invalid_banner.setVisible(not record.valid)
        view.descendants.setText(code_list_html(tr("valid_descendants"), details.valid_descendants))
        child_codes = {c.code for c in details.children}
        view.descendants.setVisible(
            any(d.code not in child_codes for d in details.valid_descendants)
        )
        view.children.setText(code_list_html(tr("children"), details.children))
        view.children.setVisible(bool(details.children))
        view.notes.setText(notes_html(details))
        self._fill_seventh(details)
        view.verticalScrollBar().setValue(0)
        self.details_shown.emit(record.code)

    def _show_own_seventh(self, details: CodeDetails) -> None:
        """For a code with a 7th character: its CIE-10-ES phrase (English in the tooltip)."""
        label, code = self.view.seventh_meaning, details.record.code
        char = code[-1] if len(strip_dot(code)) == 7 else ""
        meaning = details.seventh_characters.get(char) if char else None
        label.setVisible(meaning is not None)
        if meaning is not None:
            shown = pick(details.seventh_characters_es.get(char), meaning)
            label.setText(tr("seventh_of_code", char=char, meaning=shown))
            label.setToolTip(meaning)

    def _fill_seventh(self, details: CodeDetails) -> None:
        combo = self.view.seventh_combo
        combo.blockSignals(True)
        combo.clear()
        if details.seventh_options:
            combo.addItem(tr("seventh_pick"), None)
            for option in details.seventh_options:
                combo.addItem(f"{option.char} — {pick(option.meaning_es, option.meaning)}",
                              option.code)
                combo.setItemData(combo.count() - 1, option.title_en or option.meaning,
                                  Qt.ItemDataRole.ToolTipRole)
        combo.blockSignals(False)
        self.view.seventh_box.setVisible(bool(details.seventh_options))
        self.view.seventh_result.setText("")
        self.view.seventh_open.setEnabled(False)

    def seventh_code(self) -> str | None:
        """The full code the picker composed (only ever a valid existing code), or None."""
        return self.view.seventh_combo.currentData()

    def choose_seventh(self, char: str) -> str | None:
        """Pick the 7th character ``char`` in the combo; returns the composed code or None."""
        combo = self.view.seventh_combo
        for i in range(1, combo.count()):
            if combo.itemText(i).startswith(f"{char} "):
                combo.setCurrentIndex(i)
                return self.seventh_code()
        return None

    def _on_seventh(self, _index: int) -> None:
        code = self.seventh_code()
        option = self._seventh_option(code)
        text = tr("full_code", code=code) if code else ""
        title = option and (option.title_es if language() == "es" else option.title_en)
        self.view.seventh_result.setText(f"{text} — {title}" if title else text)
        self.view.seventh_result.setToolTip(option.title_en if option is not None else "")
        self.view.seventh_open.setEnabled(code is not None)

    def _seventh_option(self, code: str | None) -> SeventhOption | None:
        options = self.details.seventh_options if self.details is not None else ()
        return next((o for o in options if o.code == code), None)

    def _open_seventh(self) -> None:
        code = self.seventh_code()
        if code:
            self.navigate(code)

    def _on_star(self, starred: bool) -> None:
        if self.details is None:
            return
        record = self.details.record
        self.view.star.setText("★" if starred else "☆")
        self.view.star.setToolTip(tr("favourite_remove" if starred else "favourite_add"))
        self.favourite_toggled.emit(record.code, record.title, starred)

    def copy_code(self) -> None:
        """Copy the shown code (or the composed full code when one is picked)."""
        if self.details is None:
            return
        QGuiApplication.clipboard().setText(self.seventh_code() or self.details.record.code)
