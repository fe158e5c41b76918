"""Status bar (edition, model, search mode), Help > About, and File > Import catalog."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.catalog.editions import EditionManager
from app.catalog.open import catalogs_dir, open_catalog
from app.paths import resources_dir
from app.ui.views.about_dialog import AboutDialog
from app.ui.views.import_dialog import ImportDialog
from app.ui.worker import wait_for_tasks

GOOD = (
    "code\tspanish\tenglish\n"
    "I10\tHipertensión esencial (primaria)\tEssential (primary) hypertension\n"
    "I21.4\tInfarto de miocardio sin elevación de ST (IAMSEST)\t\n"
    "E11.9\tDiabetes mellitus tipo 2 sin complicaciones\n"
)
BAD = "I10\tHipertensión\nXX1\tMal código\nI10\tDuplicado\n"


def _start(qtbot, user_db: Path, open_store=open_catalog):
    from app.ui.app import create_window

    view, controller = create_window(userdata_path=user_db, open_store=open_store)
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(controller.ready, timeout=60_000):
        controller.start()
    return view, controller


def _close(controller) -> None:
    wait_for_tasks()
    if controller.session is not None and controller.session.userdata is not None:
        controller.session.userdata.close()


def test_status_bar_shows_edition_and_model(window) -> None:
    view, controller = window
    assert view.edition_label.text() == "Catálogo: icd10cm-2026"
    # the bundled vector index serves the default catalog: hybrid search, nothing to explain
    assert controller.session.search_note is None
    assert view.model_label.text().startswith("Modelo: cielo-biencoder ")
    assert view.model_label.text().endswith("· búsqueda híbrida · ordenación aprendida")
    assert view.statusBar().currentMessage() == ""


def test_status_bar_says_why_dense_search_is_off(
    qtbot, store, user_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seal_resources
) -> None:
    # Given resources with the manifest but without the encoder and index
    bare = tmp_path / "resources"
    bare.mkdir()
    for name in ("manifest.json", "abbreviations.tsv"):
        shutil.copyfile(resources_dir() / name, bare / name)
    monkeypatch.setenv("CIELO_RESOURCES", str(seal_resources(bare)))
    # When the app starts
    view, controller = _start(qtbot, user_db, lambda progress=None: store)
    try:
        # Then the status bar says searches are lexical, and why, without hovering
        note = controller.session.search_note
        assert note and "encoder is missing" in note
        assert view.model_label.text().endswith("· solo léxica")
        assert note in view.model_label.toolTip()
        assert "Búsqueda semántica desactivada" in view.statusBar().currentMessage()
        assert note in view.statusBar().currentMessage()
    finally:
        _close(controller)


def test_about_dialog_shows_versions_and_attributions(window) -> None:
    view, controller = window
    view.about_action.trigger()
    dialog = controller.dialog
    assert isinstance(dialog, AboutDialog) and dialog.isVisible()
    summary = dialog.summary.text()
    for expected in ("Versión 0.1.0", "icd10cm-2026", "cielo-biencoder",
                     "intfloat/multilingual-e5-small", "onnxruntime", "usearch", "Qt "):
        assert expected in summary, expected
    notice = dialog.notice.toPlainText()
    assert "CodiEsp" in notice and "CC-BY-4.0" in notice


def test_menu_import_swaps_the_catalog(
    qtbot, installed_data_dir: Path, user_db: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the app on the default catalog and an official code list
    view, controller = _start(qtbot, user_db)
    try:
        assert controller.session.store.find("A00") is not None
        edition_file = tmp_path / "CIE 10 ES test.tsv"
        edition_file.write_text(GOOD, encoding="utf-8")
        monkeypatch.setattr(
            QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(edition_file), "")
        )
        # When the coder imports it from File > Import catalog…
        view.import_action.trigger()
        dialog = controller.dialog
        assert isinstance(dialog, ImportDialog)
        assert dialog.edition() == "CIE-10-ES-test" and dialog.encoding() == "utf-8"
        dialog.edition_edit.setText("cie10es-test")
        dialog.accept()
        assert not view.import_action.isEnabled()  # one import at a time
        qtbot.waitUntil(
            lambda: controller.session.store.edition == "cie10es-test", timeout=120_000
        )
        # Then the new edition is active and searched, and the status bar says so
        assert EditionManager(catalogs_dir(installed_data_dir)).active().edition == "cie10es-test"
        assert view.edition_label.text() == "Catálogo: cie10es-test"
        assert controller.session.store.find("A00") is None
        assert "cie10es-test importado" in view.statusBar().currentMessage()
        # (no vector index serves the new edition: lexical, with the reason shown)
        assert view.model_label.text().endswith("· solo léxica")
        assert controller.session.search_note in view.model_label.toolTip()
        with qtbot.waitSignal(controller.search.results_shown, timeout=10_000):
            view.search_box.setText("hipertension esencial")
        top = controller.search.results[0]
        assert (top.code, top.title_es) == ("I10", "Hipertensión esencial (primaria)")
        assert view.import_action.isEnabled()
    finally:
        _close(controller)


def test_malformed_import_shows_errors_and_keeps_the_catalog(
    qtbot, installed_data_dir: Path, user_db: Path, tmp_path: Path
) -> None:
    view, controller = _start(qtbot, user_db)
    try:
        old_session = controller.session
        bad = tmp_path / "bad.tsv"
        bad.write_text(BAD, encoding="utf-8")
        # When a file with errors is imported
        controller.import_file(bad, "broken")
        qtbot.waitUntil(lambda: isinstance(controller.dialog, QMessageBox), timeout=60_000)
        # Then a message box lists the errors with line numbers and says nothing changed
        box = controller.dialog
        assert box.isVisible() and box.icon() == QMessageBox.Icon.Critical
        text = box.text()
        assert "no se ha importado" in text and "icd10cm-2026" in text
        assert "línea 2: invalid code syntax 'XX1'" in text
        assert "duplicate code I10" in box.detailedText()
        # And the old catalog is still active and searched
        assert EditionManager(catalogs_dir(installed_data_dir)).active().edition == "icd10cm-2026"
        assert controller.session is old_session
        assert view.import_action.isEnabled() and view.progress.isHidden()
        with qtbot.waitSignal(controller.search.results_shown, timeout=10_000):
            view.search_box.setText("fractura de cadera")
        assert controller.search.results
    finally:
        _close(controller)
