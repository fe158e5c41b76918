"""Create the application and the main window; screenshot mode for docs and support."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from app.atomic import atomic_path
from app.textio import read_text_file

log = logging.getLogger(__name__)

#: Screenshot mode gives up after this long (the catalog may have to be built first).
SCREENSHOT_TIMEOUT_MS = 120_000
#: Qt messages dropped: platform-plugin chatter that says nothing about Cielo.
QT_NOISE = ("This plugin does not support propagateSizeHints()",)


def _ensure_platform(offscreen: bool) -> None:
    """Use Qt's offscreen platform when asked or when no display exists."""
    no_display = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if offscreen or no_display:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def create_window(userdata_path: Path | None = None, open_store=None):
    """Build the main window and its controller (a ``QApplication`` must exist).

    Returns:
        ``(view, controller)``; call ``controller.start()`` after ``view.show()``.
    """
    from app.catalog.open import open_catalog
    from app.ui.controllers.main import MainController
    from app.ui.views.main_window import MainWindowView

    view = MainWindowView()
    controller = MainController(view, open_store or open_catalog, userdata_path)
    return view, controller


def filter_qt_messages() -> None:
    """Pass Qt's messages to stderr, except :data:`QT_NOISE` (not the user's business)."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(_mode, context, message: str) -> None:
        if not message.startswith(QT_NOISE):
            category = context.category if context.category not in (None, "default") else ""
            sys.stderr.write(f"{category}: {message}\n" if category else f"{message}\n")

    qInstallMessageHandler(handler)


def run_gui(
    screenshot: Path | None = None,
    query: str | None = None,
    language: str = "es",
    document: Path | None = None,
    encoding: str | None = None,
) -> int:
    """Run the desktop app; with ``screenshot``, render offscreen, save a PNG and return.

    Args:
        screenshot: PNG to write once the results for ``query`` (or the error state) show;
            with ``document``, once its analysis shows with the first mention selected.
        query: text typed into the search box at start.
        language: ``"es"`` or ``"en"``.
        document: a clinical note opened in the Document tab and analysed at start.
        encoding: the note's encoding when it has no byte-order mark (``app.textio``).

    Returns:
        The process exit code.

    Raises:
        TextFileError: the note does not decode or is not text.
    """
    _ensure_platform(offscreen=screenshot is not None)
    from PySide6.QtCore import QLibraryInfo, QTimer, QTranslator
    from PySide6.QtWidgets import QApplication

    from app.paths import data_dir
    from app.ui.i18n import set_language
    from app.ui.worker import wait_for_tasks
    from app.userdata import user_db_path

    set_language(language)
    note = read_text_file(document, encoding) if document is not None else None
    filter_qt_messages()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Cielo")
    qt_strings = QTranslator(app)  # Qt's own buttons ("Cerrar", "Mostrar detalles…")
    if qt_strings.load(f"qtbase_{language}",
                       QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt_strings)
    view, controller = create_window(user_db_path(data_dir()))
    if screenshot is not None:
        view.resize(1280, 800)
    view.show()
    if query:
        view.search_box.setText(query)
    if note is not None:
        view.tabs.setCurrentWidget(view.document)
        view.document.editor.setPlainText(note)
        controller.document.analyse()
    status = {"code": 0, "grabbed": 0}

    if screenshot is not None:
        def grab() -> None:
            if status["grabbed"]:
                return
            status["grabbed"] = 1
            try:
                with atomic_path(screenshot) as tmp:
                    if not view.grab().save(str(tmp), "PNG"):
                        raise OSError("the PNG writer failed")
                log.info("screenshot written to %s", screenshot)
            except OSError as exc:
                log.error("could not write the screenshot %s: %s", screenshot, exc)
                status["code"] = 1
            app.quit()

        def after_results(_n: int) -> None:
            results = controller.search.results
            if results:
                controller.details.details_shown.connect(lambda _c: QTimer.singleShot(50, grab))
                controller.search.select(0)
            else:
                QTimer.singleShot(50, grab)

        def on_timeout() -> None:
            log.error("screenshot timed out")
            status["code"] = 1
            grab()

        def after_analysis(n: int) -> None:
            if n:
                controller.details.details_shown.connect(lambda _c: QTimer.singleShot(50, grab))
                controller.document.select(0)
            else:
                QTimer.singleShot(50, grab)

        if note is not None:
            controller.document.analysis_shown.connect(after_analysis)
        elif query:
            controller.search.results_shown.connect(after_results)
        else:
            controller.ready.connect(lambda: QTimer.singleShot(50, grab))
        controller.failed.connect(lambda _m: QTimer.singleShot(50, grab))
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, on_timeout)

    QTimer.singleShot(0, controller.start)
    code = app.exec()
    wait_for_tasks(10_000)
    return status["code"] or code
