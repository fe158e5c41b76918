"""The Document tab: the note editor, its mentions table and the review buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.ui.i18n import tr


class CodeCombo(QComboBox):
    """An editable code choice: the proposed codes (code and title in the popup) or a typed one."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(8)
        completer = self.completer()
        if completer is not None:  # suggest, never complete a typed code behind the coder's back
            completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        popup = QTreeView()
        popup.setHeaderHidden(True)
        popup.setRootIsDecorated(False)
        popup.setItemsExpandable(False)
        popup.setAllColumnsShowFocus(True)
        popup.setMinimumWidth(520)
        self.setView(popup)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.lineEdit().setFont(font)

    def showPopup(self) -> None:  # noqa: N802 - Qt API
        """Open the alternatives with the code column fitted to its contents."""
        view = self.view()
        if isinstance(view, QTreeView):
            view.resizeColumnToContents(0)
        super().showPopup()


class DocumentView(QWidget):
    """Layout only; ``DocumentController`` gives it behaviour.

    Columns of ``table``: mention, negation, code (a :class:`CodeCombo`), title, status.
    """

    COL_MENTION = 0
    COL_NEGATED = 1
    COL_CODE = 2
    COL_TITLE = 3
    COL_STATUS = 4

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)

        bar = QHBoxLayout()
        self.analyse_button = QPushButton(tr("doc_analyse"))
        self.analyse_button.setObjectName("doc_analyse")
        self.analyse_button.setToolTip(tr("doc_analyse_tip"))
        self.status_label = QLabel()
        self.status_label.setObjectName("doc_status")
        self.status_label.setStyleSheet("color: palette(dark);")
        self.export_button = QPushButton(tr("doc_export"))
        self.export_button.setObjectName("doc_export")
        self.export_button.setEnabled(False)
        bar.addWidget(self.analyse_button)
        bar.addWidget(self.status_label, 1)
        bar.addWidget(self.export_button)

        self.editor = QPlainTextEdit()
        self.editor.setObjectName("doc_editor")
        self.editor.setPlaceholderText(tr("doc_placeholder"))
        self.editor.setStyleSheet("font-size: 11pt;")
        self.editor.setTabChangesFocus(True)

        self.table = QTableWidget(0, 5)
        self.table.setObjectName("doc_mentions")
        self.table.setHorizontalHeaderLabels([
            tr("doc_col_mention"), tr("doc_col_negated"), tr("code_column"),
            tr("title_column"), tr("doc_col_status"),
        ])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(True)  # a long mention wraps instead of being cut off
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.verticalHeader().hide()
        self.table.setStyleSheet(
            "QTableWidget::item:selected { background: #cfe3f7; color: black; }"
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(self.COL_MENTION, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(self.COL_NEGATED, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(self.COL_CODE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(self.COL_TITLE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(self.COL_STATUS, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(self.COL_MENTION, 190)
        self.table.setColumnWidth(self.COL_CODE, 120)
        header.sectionResized.connect(lambda *_: self.table.resizeRowsToContents())

        buttons = QHBoxLayout()
        self.accept_button = QPushButton(tr("doc_accept"))
        self.accept_button.setObjectName("doc_accept")
        self.reject_button = QPushButton(tr("doc_reject"))
        self.reject_button.setObjectName("doc_reject")
        self.hint_label = QLabel(tr("doc_keys_hint"))
        self.hint_label.setStyleSheet("color: palette(dark);")
        for button in (self.accept_button, self.reject_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the table keeps the keyboard
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.hint_label, 1)

        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.table, 1)
        lower_layout.addLayout(buttons)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("doc_splitter")
        self.splitter.addWidget(self.editor)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)

        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)

    def code_combo(self, row: int) -> CodeCombo | None:
        """The code choice of ``row``."""
        widget = self.table.cellWidget(row, self.COL_CODE)
        return widget if isinstance(widget, CodeCombo) else None
