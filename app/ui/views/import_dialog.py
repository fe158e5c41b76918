"""File > Import catalog…: the new edition's name and the file's encoding."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from app.catalog.editions import EDITION_PATTERN, suggest_edition_name
from app.ui.i18n import tr

#: Encodings offered for TSV/CSV code lists: (label, Python codec).
ENCODINGS = (
    ("UTF-8", "utf-8"),
    ("Windows-1252", "cp1252"),
    ("Latin-1 (ISO-8859-1)", "latin-1"),
)


class ImportDialog(QDialog):
    """Asks for the edition name (suggested from the file name) and the encoding."""

    def __init__(self, path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("import_dialog")
        self.setWindowTitle(tr("import_title"))
        self.path = path
        self.setMinimumWidth(480)
        form = QFormLayout(self)
        hint = QLabel(tr("import_hint"))
        hint.setWordWrap(True)
        form.addRow(hint)
        form.addRow(tr("import_file"), QLabel(path.name))
        self.edition_edit = QLineEdit(suggest_edition_name(path))
        self.edition_edit.setObjectName("import_edition")
        self.edition_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(EDITION_PATTERN))
        )
        form.addRow(tr("import_edition"), self.edition_edit)
        self.encoding_combo = QComboBox()
        self.encoding_combo.setObjectName("import_encoding")
        for label, codec in ENCODINGS:
            self.encoding_combo.addItem(label, codec)
        self.encoding_combo.setEnabled(path.suffix.lower() != ".xml")
        form.addRow(tr("import_encoding"), self.encoding_combo)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.edition_edit.textChanged.connect(
            lambda text: self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
                bool(text)
            )
        )
        form.addRow(self.buttons)

    def edition(self) -> str:
        """The edition name typed (validated again by the importer)."""
        return self.edition_edit.text().strip()

    def encoding(self) -> str:
        """The chosen codec, e.g. ``"utf-8"``."""
        return self.encoding_combo.currentData()
