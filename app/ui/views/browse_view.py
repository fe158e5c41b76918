"""The Browse tab: the classification as a lazily filled tree."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QTreeWidget, QVBoxLayout, QWidget

from app.ui.i18n import tr


class BrowseView(QWidget):
    """A two-column tree (code, title) and a valid-only filter."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        self.valid_only = QCheckBox(tr("valid_only"))
        self.valid_only.setObjectName("valid_only")
        self.tree = QTreeWidget()
        self.tree.setObjectName("browse_tree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([tr("code_column"), tr("title_column")])
        self.tree.setColumnWidth(0, 230)
        self.tree.setUniformRowHeights(True)
        layout.addWidget(self.valid_only)
        layout.addWidget(self.tree, 1)
