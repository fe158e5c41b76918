"""The main window's widgets: search box, results, details pane, menus, status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.i18n import tr
from app.ui.views.browse_view import BrowseView
from app.ui.views.details_view import DetailsView
from app.ui.views.document_view import DocumentView
from app.ui.views.results_delegate import RichTextDelegate


class MainWindowView(QMainWindow):
    """Layout only; ``app.ui.controllers`` give it behaviour."""

    PAGE_MAIN = 0
    PAGE_ERROR = 1

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(tr("window_title"))
        self.resize(1280, 800)

        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.setObjectName("main_splitter")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 4, 8)
        self.search_box = QLineEdit()
        self.search_box.setObjectName("search_box")
        self.search_box.setPlaceholderText(tr("search_placeholder"))
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setStyleSheet("font-size: 13pt; padding: 4px;")
        self.result_count = QLabel()
        self.result_count.setObjectName("result_count")
        self.result_count.setStyleSheet("color: palette(dark);")
        self.results = QListWidget()
        self.results.setObjectName("results")
        self.results.setItemDelegate(RichTextDelegate(self.results))
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.results.setWordWrap(True)
        self.results.setUniformItemSizes(False)
        self.results.setAlternatingRowColors(True)
        self.results.setStyleSheet(
            "QListWidget::item:selected { background: #cfe3f7; color: black; }"
            "QListWidget::item:selected:!active { background: #dde9f5; }"
        )
        search_page = QWidget()
        search_layout = QVBoxLayout(search_page)
        search_layout.setContentsMargins(0, 4, 0, 0)
        search_layout.addWidget(self.search_box)
        search_layout.addWidget(self.result_count)
        search_layout.addWidget(self.results, 1)
        self.browse = BrowseView()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(search_page, tr("tab_search"))
        self.tabs.addTab(self.browse, tr("tab_browse"))
        self.document = DocumentView()
        self.tabs.addTab(self.document, tr("tab_document"))
        left_layout.addWidget(self.tabs)

        self.details = DetailsView()
        main.addWidget(left)
        main.addWidget(self.details)
        main.setStretchFactor(0, 5)
        main.setStretchFactor(1, 4)
        main.setSizes([700, 580])
        self.splitter = main
        self.stack.addWidget(main)

        self.error_page = QWidget()
        error_layout = QVBoxLayout(self.error_page)
        error_layout.setContentsMargins(48, 48, 48, 48)
        self.error_title = QLabel(tr("catalog_error_title"))
        self.error_title.setObjectName("error_title")
        self.error_title.setStyleSheet("font-size: 18pt; font-weight: bold; color: #8b1a1a;")
        self.error_label = QLabel()
        self.error_label.setObjectName("error_label")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet("font-size: 12pt;")
        error_layout.addWidget(self.error_title)
        error_layout.addWidget(self.error_label)
        error_layout.addStretch(1)
        self.stack.addWidget(self.error_page)

        self.edition_label = QLabel()
        self.edition_label.setObjectName("edition_label")
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setMaximumWidth(240)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.model_label = QLabel()
        self.model_label.setObjectName("model_label")
        self.model_label.setContentsMargins(12, 0, 4, 0)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.edition_label)
        self.statusBar().addPermanentWidget(self.model_label)

        menu_bar = self.menuBar()
        file_menu = menu_bar.addMenu(tr("menu_file"))
        self.import_action = QAction(tr("menu_import"), self)
        self.import_action.setObjectName("import_action")
        self.import_action.setEnabled(False)  # until a catalog is open
        file_menu.addAction(self.import_action)
        file_menu.addSeparator()
        self.quit_action = QAction(tr("menu_quit"), self)
        self.quit_action.setShortcut("Ctrl+Q")
        file_menu.addAction(self.quit_action)
        self.favourites_menu: QMenu = menu_bar.addMenu(tr("menu_favourites"))
        self.history_menu: QMenu = menu_bar.addMenu(tr("menu_history"))
        self.history_toggle = QAction(tr("history_on"), self)
        self.history_toggle.setObjectName("history_toggle")
        self.history_toggle.setCheckable(True)
        self.history_toggle.setChecked(True)
        self.history_purge = QAction(tr("history_purge"), self)
        self.history_purge.setObjectName("history_purge")
        self.history_menu.addAction(self.history_toggle)
        self.history_menu.addAction(self.history_purge)
        help_menu = menu_bar.addMenu(tr("menu_help"))
        self.about_action = QAction(tr("menu_about"), self)
        self.about_action.setObjectName("about_action")
        help_menu.addAction(self.about_action)

    def show_error_page(self, message: str) -> None:
        """Replace the workspace with the error explanation."""
        self.error_label.setText(message)
        self.stack.setCurrentIndex(self.PAGE_ERROR)

    def show_main_page(self) -> None:
        """Show the search workspace."""
        self.stack.setCurrentIndex(self.PAGE_MAIN)
