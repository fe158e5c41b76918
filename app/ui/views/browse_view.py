"""The Browse tab: the classification as a lazily filled tree."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QSizePolicy,
    QTreeWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.i18n import tr


class BrowseView(QWidget):
    """A two-column tree (code, title), a chapter filter and a valid-only filter."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        self.chapter = QComboBox()
        self.chapter.setObjectName("chapter_filter")
        self.chapter.addItem(tr("all_chapters"), None)
        self.chapter.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.chapter.setMinimumContentsLength(20)
        self.chapter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.valid_only = QCheckBox(tr("valid_only"))
        self.valid_only.setObjectName("valid_only")
        self.tree = QTreeWidget()
        self.tree.setObjectName("browse_tree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([tr("code_column"), tr("title_column")])
        self.tree.setColumnWidth(0, 230)
        self.tree.setUniformRowHeights(True)
        filters = QHBoxLayout()
        filters.addWidget(self.chapter, 1)
        filters.addWidget(self.valid_only)
        layout.addLayout(filters)
        layout.addWidget(self.tree, 1)
