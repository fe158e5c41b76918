"""Details pane: breadcrumbs, notes, validity, 7th-character picker, favourites."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from app.catalog.details import code_details, seventh_options
from app.catalog.store import CatalogStore
from app.userdata import UserData


def _show(qtbot, controller, code: str) -> None:
    with qtbot.waitSignal(controller.details.details_shown, timeout=5_000):
        controller.details.show_code(code)


def test_breadcrumbs_navigate(qtbot, window) -> None:
    view, controller = window
    _show(qtbot, controller, "S72.001A")
    crumbs = view.details.breadcrumbs.text()
    for code in ("S70-S79", "S72", "S72.0", "S72.00", "S72.001"):
        assert f'href="{code}"' in crumbs
    # When a breadcrumb is followed, the details move there
    with qtbot.waitSignal(controller.details.details_shown, timeout=5_000) as blocker:
        view.details.breadcrumbs.linkActivated.emit("S72")
    assert blocker.args == ["S72"]
    assert view.details.code_label.text() == "S72"


def test_invalid_code_lists_valid_descendants(qtbot, window) -> None:
    view, controller = window
    _show(qtbot, controller, "S72.0")
    details = view.details
    assert not details.invalid_banner.isHidden()
    assert "No válido para facturación" in details.invalid_banner.text()
    assert 'href="S72.001A"' in details.descendants.text()
    assert not details.descendants.isHidden()


def test_valid_code_has_no_banner_and_shows_inherited_notes(qtbot, window) -> None:
    view, controller = window
    _show(qtbot, controller, "S72.001A")
    assert view.details.invalid_banner.isHidden()
    notes = view.details.notes.text()
    assert "Excluye 2" in notes
    assert 'href="S72"' in notes  # inherited notes name their source code


def test_category_title_is_marked(qtbot, window, store: CatalogStore) -> None:
    view, controller = window
    record = store.get("S72.302")
    assert record.title_es_source == "who_ancestor"
    _show(qtbot, controller, "S72.302")
    assert not view.details.title_es_note.isHidden()
    assert "título de la categoría" in view.details.title_es_note.text()


def test_seventh_picker_yields_only_valid_existing_codes(qtbot, window, store) -> None:
    view, controller = window
    for code, char, expected in (("T81.31", "A", "T81.31XA"), ("S72.001", "A", "S72.001A")):
        _show(qtbot, controller, code)
        combo = view.details.seventh_combo
        assert not view.details.seventh_box.isHidden()
        offered = [combo.itemData(i) for i in range(1, combo.count())]
        assert offered
        for full in offered:
            record = store.find(full)
            assert record is not None and record.valid
        assert controller.details.choose_seventh(char) == expected
        assert expected in view.details.seventh_result.text()
        view.details.copy_button.click()
        assert QGuiApplication.clipboard().text() == expected


def test_seventh_picker_hidden_where_no_valid_composition(qtbot, window, store) -> None:
    view, controller = window
    _show(qtbot, controller, "S72.0")
    assert view.details.seventh_box.isHidden()
    assert seventh_options(store, "S72.0") == []
    assert seventh_options(store, "T81.31XA") == []
    assert seventh_options(store, "I10") == []


def test_load_details_groups_notes(store: CatalogStore) -> None:
    details = code_details(store, "S72.0")
    assert not details.record.valid
    assert all(d.valid for d in details.valid_descendants)
    kinds = list(details.grouped_notes)
    assert kinds.index("excludes1") < kinds.index("excludes2")


def test_favourite_star_persists(qtbot, window, user_db) -> None:
    # Given the details of a code
    view, controller = window
    _show(qtbot, controller, "I10")
    # When the coder stars it
    view.details.star.click()
    assert view.details.star.text() == "★"
    assert [f.code for f in controller.favourites] == ["I10"]
    from app.ui.worker import wait_for_tasks

    assert wait_for_tasks()
    # Then a new store on the same file has it
    assert UserData(user_db).is_favourite("I10")
    # And showing it again shows the star on
    _show(qtbot, controller, "I10")
    assert view.details.star.isChecked()
