"""The details pane: widgets for one code (filled by ``DetailsController``)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.i18n import tr


def _label(object_name: str, rich: bool = False, selectable: bool = True) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    label.setWordWrap(True)
    if rich:
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
            | Qt.TextInteractionFlag.TextSelectableByMouse
        )
    else:
        label.setTextFormat(Qt.TextFormat.PlainText)
        if selectable:
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class DetailsView(QScrollArea):
    """Breadcrumbs, titles, validity, 7th-character picker, notes and children of one code."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("details")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(8)

        self.empty_label = _label("details_empty", selectable=False)
        self.empty_label.setText(tr("details_empty"))
        self.empty_label.setStyleSheet("color: palette(mid); font-style: italic;")
        layout.addWidget(self.empty_label)

        self.content = QWidget()
        content = QVBoxLayout(self.content)
        content.setContentsMargins(0, 0, 0, 0)
        content.setSpacing(8)
        self.breadcrumbs = _label("breadcrumbs", rich=True)
        content.addWidget(self.breadcrumbs)

        header = QHBoxLayout()
        self.code_label = _label("code")
        self.code_label.setStyleSheet("font-size: 20pt; font-weight: bold;")
        self.code_label.setWordWrap(False)
        self.badge = _label("badge", selectable=False)
        self.badge.setWordWrap(False)
        self.star = QToolButton()
        self.star.setObjectName("star")
        self.star.setCheckable(True)
        self.star.setText("☆")
        self.star.setStyleSheet("font-size: 16pt;")
        self.copy_button = QPushButton(tr("copy"))
        self.copy_button.setObjectName("copy")
        header.addWidget(self.code_label)
        header.addWidget(self.badge)
        header.addStretch(1)
        header.addWidget(self.star)
        header.addWidget(self.copy_button)
        content.addLayout(header)

        self.title_es = _label("title_es")
        self.title_es.setStyleSheet("font-size: 13pt;")
        self.title_es_note = _label("title_es_note", selectable=False)
        self.title_es_note.setStyleSheet("color: #8a5a00; font-style: italic;")
        self.title_en = _label("title_en")
        self.title_en.setStyleSheet("color: palette(dark);")
        self.seventh_meaning = _label("seventh_meaning")
        content.addWidget(self.title_es)
        content.addWidget(self.title_es_note)
        content.addWidget(self.title_en)
        content.addWidget(self.seventh_meaning)

        self.invalid_banner = _label("invalid_banner", selectable=False)
        self.invalid_banner.setText(tr("not_valid_long"))
        self.invalid_banner.setStyleSheet(
            "background: #fdecea; color: #8b1a1a; border: 1px solid #f5c2c0;"
            " border-radius: 4px; padding: 6px; font-weight: bold;"
        )
        content.addWidget(self.invalid_banner)

        self.seventh_box = QWidget()
        seventh_rows = QVBoxLayout(self.seventh_box)
        seventh_rows.setContentsMargins(0, 0, 0, 0)
        seventh = QHBoxLayout()
        composed = QHBoxLayout()
        seventh_rows.addLayout(seventh)
        seventh_rows.addLayout(composed)
        seventh_title = QLabel(tr("seventh") + ":")
        self.seventh_combo = QComboBox()
        self.seventh_combo.setObjectName("seventh_combo")
        self.seventh_combo.setMinimumContentsLength(16)
        self.seventh_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.seventh_result = _label("seventh_result")
        self.seventh_result.setWordWrap(True)
        self.seventh_result.setStyleSheet("font-weight: bold;")
        self.seventh_open = QPushButton(tr("go"))
        self.seventh_open.setObjectName("seventh_open")
        seventh.addWidget(seventh_title)
        seventh.addWidget(self.seventh_combo, 1)
        composed.addWidget(self.seventh_result)
        composed.addStretch(1)
        composed.addWidget(self.seventh_open)
        content.addWidget(self.seventh_box)

        self.children = _label("children", rich=True)
        content.addWidget(self.children)
        self.descendants = _label("valid_descendants", rich=True)
        content.addWidget(self.descendants)
        self.notes = _label("notes", rich=True)
        content.addWidget(self.notes)
        content.addStretch(1)
        layout.addWidget(self.content)
        self.content.hide()
        self.setWidget(body)
