"""Browse: fill tree levels on expansion (off the UI thread), filter by chapter and validity,
and sync with the details pane."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QTreeWidgetItem

from app.catalog.details import own_title
from app.catalog.store import CatalogStore, CodeRecord
from app.ui.browse import chapters, path_children
from app.ui.i18n import tr
from app.ui.views.browse_view import BrowseView
from app.ui.worker import run_task

CODE_ROLE = Qt.ItemDataRole.UserRole
LOADED_ROLE = Qt.ItemDataRole.UserRole + 1


class BrowseController(QObject):
    """Owns a :class:`BrowseView`.

    Signals:
        code_selected(str): the coder selected a node.
    """

    code_selected = Signal(str)

    def __init__(self, view: BrowseView):
        super().__init__(view)
        self.view = view
        self.store: CatalogStore | None = None
        self.items: dict[str, QTreeWidgetItem] = {}
        self._syncing = False
        view.tree.itemExpanded.connect(self._on_expanded)
        view.tree.currentItemChanged.connect(self._on_current)
        view.valid_only.toggled.connect(lambda _v: self._apply_filter())
        view.chapter.currentIndexChanged.connect(lambda _i: self._on_chapter())

    def set_store(self, store: CatalogStore) -> None:
        """Load the chapters (in the background)."""
        self.store = store
        run_task(chapters, store, on_done=self._fill_roots)

    def _make_item(self, record: CodeRecord) -> QTreeWidgetItem:
        item = QTreeWidgetItem([record.code, own_title(record)])
        item.setData(0, CODE_ROLE, record.code)
        item.setData(0, LOADED_ROLE, False)
        item.setData(1, CODE_ROLE, record.valid)
        item.setToolTip(1, record.title_en)
        if record.valid:
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
        if not (record.valid and len(record.code.replace(".", "")) >= 7):
            item.addChild(QTreeWidgetItem(["…", ""]))  # placeholder until expanded
        self.items[record.code] = item
        return item

    def _fill_roots(self, records: list[CodeRecord]) -> None:
        self.view.tree.clear()
        self.items.clear()
        self.view.tree.addTopLevelItems([self._make_item(r) for r in records])
        combo = self.view.chapter
        chosen = combo.currentData()
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for record in records:
            combo.addItem(tr("chapter_option", code=record.code, title=own_title(record)),
                          record.code)
            combo.setItemData(combo.count() - 1, record.title_en, Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(max(combo.findData(chosen), 0) if chosen else 0)
        combo.blockSignals(False)
        self._on_chapter()

    def chapter_filter(self) -> str | None:
        """The chapter the tree is restricted to (None: all chapters)."""
        return self.view.chapter.currentData()

    def set_chapter_filter(self, chapter: str | None) -> None:
        """Restrict the tree to ``chapter`` (None: show all chapters)."""
        self.view.chapter.setCurrentIndex(max(self.view.chapter.findData(chapter), 0))

    def _on_chapter(self) -> None:
        self._apply_filter()
        item = self.items.get(self.chapter_filter() or "")
        if item is not None:
            item.setExpanded(True)
            self.view.tree.scrollToItem(item)

    def _fill_children(self, item: QTreeWidgetItem, records: list[CodeRecord]) -> None:
        if item.data(0, LOADED_ROLE):
            return
        item.takeChildren()
        item.setData(0, LOADED_ROLE, True)
        item.addChildren([self._make_item(r) for r in records])
        self._apply_filter(item)

    def _on_expanded(self, item: QTreeWidgetItem) -> None:
        if item.data(0, LOADED_ROLE) or self.store is None:
            return
        code = item.data(0, CODE_ROLE)
        run_task(self.store.children, code, on_done=lambda rs, it=item: self._fill_children(it, rs))

    def _on_current(self, item: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        if item is not None and not self._syncing and item.data(0, CODE_ROLE):
            self.code_selected.emit(item.data(0, CODE_ROLE))

    def _apply_filter(self, parent: QTreeWidgetItem | None = None) -> None:
        """Hide chapters other than the chosen one, and (valid-only) leaves that are not valid."""
        valid_only = self.view.valid_only.isChecked()
        chapter = self.chapter_filter()
        root = self.view.tree.invisibleRootItem() if parent is None else parent
        for i in range(root.childCount()):
            child = root.child(i)
            if parent is None:
                hidden = chapter is not None and child.data(0, CODE_ROLE) != chapter
            else:
                leaf = child.childCount() == 0
                hidden = valid_only and leaf and not child.data(1, CODE_ROLE)
            child.setHidden(hidden)
            if child.data(0, LOADED_ROLE):
                self._apply_filter(child)

    def reveal(self, code: str) -> None:
        """Expand the tree down to ``code`` and select it, without re-emitting a selection."""
        if self.store is None:
            return
        run_task(path_children, self.store, code,
                 on_done=lambda levels, c=code: self._reveal(c, levels))

    def _reveal(self, code: str, levels: list[tuple[str, list[CodeRecord]]]) -> None:
        self._syncing = True
        try:
            chapter = levels[0][0] if levels else code
            if self.chapter_filter() not in (None, chapter):
                self.set_chapter_filter(None)  # the code is in another chapter: show all
            for parent, records in levels:
                item = self.items.get(parent)
                if item is None:
                    return
                self._fill_children(item, records)
                item.setExpanded(True)
            target = self.items.get(code)
            if target is not None:
                self.view.tree.setCurrentItem(target)
                self.view.tree.scrollToItem(target)
        finally:
            self._syncing = False
