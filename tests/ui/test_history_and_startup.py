"""History switches, start-up states and the screenshot command."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt

from app.catalog.open import catalogs_dir, open_catalog
from app.ui.worker import wait_for_tasks
from app.userdata import UserData

ROOT = Path(__file__).resolve().parents[2]


def _search_pick(qtbot, view, controller, text: str) -> None:
    with qtbot.waitSignal(controller.search.results_shown, timeout=10_000):
        qtbot.keyClicks(view.search_box, text)
    assert controller.search.results
    with qtbot.waitSignal(controller.details.details_shown, timeout=5_000):
        qtbot.keyClick(view.search_box, Qt.Key.Key_Down)
    qtbot.keyClick(view.results, Qt.Key.Key_Return)
    assert wait_for_tasks()


def test_history_records_queries_and_codes(qtbot, window, user_db) -> None:
    view, controller = window
    _search_pick(qtbot, view, controller, "hipertension")
    kinds = {e.kind for e in UserData(user_db).history()}
    assert kinds == {"query", "code"}


def test_history_off_writes_nothing_and_purge_empties(qtbot, window, user_db) -> None:
    # Given history switched off from the menu action
    view, controller = window
    view.history_toggle.trigger()
    assert not controller.history_enabled
    assert wait_for_tasks()
    # When the coder searches, looks at and copies codes
    _search_pick(qtbot, view, controller, "hipertension")
    # Then nothing was written
    assert UserData(user_db).history_count() == 0
    assert not UserData(user_db).history_enabled
    # And with history back on, entries appear, and purge empties them
    view.history_toggle.trigger()
    assert wait_for_tasks()
    view.search_box.clear()
    _search_pick(qtbot, view, controller, "diabetes")
    assert UserData(user_db).history_count() > 0
    controller.purge_history()
    assert wait_for_tasks()
    assert UserData(user_db).history_count() == 0
    assert controller.history == []


def _start(qtbot, open_store, user_db: Path):
    from app.ui.app import create_window

    view, controller = create_window(userdata_path=user_db, open_store=open_store)
    qtbot.addWidget(view)
    view.show()
    return view, controller


def test_corrupt_catalog_shows_error_state(qtbot, empty_data_dir, user_db) -> None:
    # Given an active catalog file full of garbage
    root = catalogs_dir(empty_data_dir)
    root.mkdir(parents=True)
    (root / "broken.db").write_bytes(os.urandom(4096))
    (root / "active.json").write_text('{"edition": "x", "file": "broken.db"}', encoding="utf-8")
    view, controller = _start(qtbot, open_catalog, user_db)
    # When the app starts
    with qtbot.waitSignal(controller.failed, timeout=10_000):
        controller.start()
    # Then the error page says what is wrong and how to fix it
    assert view.stack.currentIndex() == view.PAGE_ERROR
    text = view.error_label.text()
    assert "cielo catalog build" in text and "broken.db" in text
    assert controller.session is None


def test_missing_catalog_that_cannot_be_built_shows_error_state(
    qtbot, empty_data_dir, user_db
) -> None:
    view, controller = _start(qtbot, partial(open_catalog, build_if_missing=False), user_db)
    with qtbot.waitSignal(controller.failed, timeout=10_000):
        controller.start()
    assert view.stack.currentIndex() == view.PAGE_ERROR
    assert "cielo catalog build" in view.error_label.text()


def test_window_appears_before_catalog_is_ready(qtbot, store, user_db) -> None:
    import threading

    gate = threading.Event()

    def slow_open(progress=None):
        progress("codes", 1, 10)
        gate.wait(5)
        return store

    view, controller = _start(qtbot, slow_open, user_db)
    controller.start()
    qtbot.waitUntil(lambda: "catálogo" in view.statusBar().currentMessage(), timeout=5_000)
    assert view.isVisible() and controller.session is None
    gate.set()
    with qtbot.waitSignal(controller.ready, timeout=5_000):
        pass
    assert wait_for_tasks()


def test_gui_screenshot_writes_png(installed_data_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    env = {**os.environ, "CIELO_DATA_DIR": str(installed_data_dir), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli.gui", "--screenshot", str(shot),
         "--query", "fractura del cuello del fémur"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gui_screenshot_of_error_state(empty_data_dir: Path, tmp_path: Path) -> None:
    root = catalogs_dir(empty_data_dir)
    root.mkdir(parents=True)
    (root / "active.json").write_text("not json", encoding="utf-8")
    shot = tmp_path / "error.png"
    env = {**os.environ, "CIELO_DATA_DIR": str(empty_data_dir), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli.gui", "--screenshot", str(shot)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert shot.stat().st_size > 1_000
