"""Item delegate painting a result row as rich text (code, title with bold matches, badges)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

#: Item data role holding the row's rich text.
HTML_ROLE = Qt.ItemDataRole.UserRole + 1
#: Item data role holding the row's ``SearchResult``.
RESULT_ROLE = Qt.ItemDataRole.UserRole


class RichTextDelegate(QStyledItemDelegate):
    """Paints ``HTML_ROLE`` with a ``QTextDocument`` over the normal item background."""

    def _document(self, option: QStyleOptionViewItem, html: str) -> QTextDocument:
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(4)
        doc.setHtml(html)
        doc.setTextWidth(max(option.rect.width(), 200))
        return doc

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        """Draw the selection/background, then the rich text."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        html = index.data(HTML_ROLE) or ""
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        doc = self._document(opt, html)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(QPalette.ColorRole.Text))
        painter.save()
        painter.translate(opt.rect.topLeft())
        painter.setClipRect(QRectF(0, 0, opt.rect.width(), opt.rect.height()))
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        """Height of the wrapped rich text at the view's width."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        if opt.widget is not None:
            opt.rect.setWidth(opt.widget.viewport().width())
        doc = self._document(opt, index.data(HTML_ROLE) or "")
        return QSize(int(doc.idealWidth()), int(doc.size().height()))
