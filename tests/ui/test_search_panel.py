"""Search as you type, stale results, keyboard and clipboard."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app.search.types import SearchResult
from app.ui.highlight import highlight_html

QUERY = "fractura del cuello del femur"  # QTest.keyClicks types ASCII only


def _type_and_wait(qtbot, view, controller, text: str) -> None:
    with qtbot.waitSignal(controller.search.results_shown, timeout=10_000):
        qtbot.keyClicks(view.search_box, text)
    assert controller.search.results


def test_typing_yields_results(qtbot, window) -> None:
    # Given the window with the catalog open
    view, controller = window
    # When the coder types a mention
    _type_and_wait(qtbot, view, controller, QUERY)
    # Then the list shows ranked codes with the matched words in bold
    assert view.results.count() == len(controller.search.results) > 0
    codes = [r.code for r in controller.search.results]
    assert any(code.startswith("S72") for code in codes[:3])
    from app.ui.views.results_delegate import HTML_ROLE

    first = view.results.item(0).data(HTML_ROLE)
    assert "<b>" in first and "válido" in first
    assert "25 resultados" in view.result_count.text() or "resultados" in view.result_count.text()
    assert view.edition_label.text() == "Catálogo: icd10cm-2026"


def test_typed_code_is_found(qtbot, window) -> None:
    view, controller = window
    _type_and_wait(qtbot, view, controller, "t8131xa")
    assert controller.search.results[0].code == "T81.31XA"


def test_debounce_runs_one_search_for_fast_typing(qtbot, window) -> None:
    view, controller = window
    before = controller.search.seq
    qtbot.keyClicks(view.search_box, "fractura")
    qtbot.waitUntil(lambda: bool(controller.search.results), timeout=10_000)
    assert controller.search.seq - before == 1


class _SlowFirst:
    """A pipeline whose first query answers late (to provoke a stale result)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def search(self, text: str, top_k: int = 10) -> list[SearchResult]:
        if text == "lento":
            self.release.wait(5)
        return [
            SearchResult(text.upper(), text, text, "who", None, "subcategory", "1", None, None,
                         True, 1.0)
        ]


def test_stale_results_are_dropped(qtbot, window) -> None:
    # Given a pipeline where the first query is slow
    view, controller = window
    slow = _SlowFirst()
    controller.search.set_pipeline(slow)
    # When two searches are sent quickly and the first finishes last
    controller.search.submit("lento")
    controller.search.submit("rapido")
    qtbot.waitUntil(lambda: bool(controller.search.results), timeout=5_000)
    slow.release.set()
    qtbot.waitUntil(lambda: controller.search.stale_dropped == 1, timeout=5_000)
    # Then only the last query's results are shown
    assert [r.code for r in controller.search.results] == ["RAPIDO"]
    assert view.results.count() == 1


def test_real_quick_searches_show_only_the_last(qtbot, window) -> None:
    view, controller = window
    controller.search.submit("diabetes")
    last = controller.search.submit("hipertension esencial")
    qtbot.waitUntil(lambda: controller.search.shown_seq == last, timeout=10_000)
    qtbot.wait(100)
    assert controller.search.shown_seq == last
    assert controller.search.results[0].code == "I10"


def test_enter_copies_code_and_ctrl_c_code_with_title(qtbot, window) -> None:
    view, controller = window
    _type_and_wait(qtbot, view, controller, QUERY)
    clipboard = QGuiApplication.clipboard()
    # Down moves from the box into the results
    qtbot.keyClick(view.search_box, Qt.Key.Key_Down)
    assert view.results.currentRow() == 0
    first = controller.search.results[0]
    # Enter copies the code
    qtbot.keyClick(view.results, Qt.Key.Key_Return)
    assert clipboard.text() == first.code
    # Ctrl+C copies "code title"
    qtbot.keyClick(view.results, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == f"{first.code} {first.title_es or first.title_en}"
    # Down then Enter copies the second code
    qtbot.keyClick(view.results, Qt.Key.Key_Down)
    qtbot.keyClick(view.results, Qt.Key.Key_Return)
    assert clipboard.text() == controller.search.results[1].code


def test_enter_in_search_box_copies_first_result(qtbot, window) -> None:
    view, controller = window
    _type_and_wait(qtbot, view, controller, "I10")
    qtbot.keyClick(view.search_box, Qt.Key.Key_Return)
    assert QGuiApplication.clipboard().text() == "I10"


def test_alt_number_picks_and_escape_clears(qtbot, window) -> None:
    view, controller = window
    _type_and_wait(qtbot, view, controller, QUERY)
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow, timeout=2_000)
    qtbot.keyClick(view.search_box, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert view.results.currentRow() == 2
    assert QGuiApplication.clipboard().text() == controller.search.results[2].code
    qtbot.keyClick(view.results, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert view.search_box.hasFocus()
    qtbot.keyClick(view.search_box, Qt.Key.Key_Escape)
    assert view.search_box.text() == ""
    qtbot.waitUntil(lambda: view.results.count() == 0, timeout=2_000)


def test_selecting_a_result_shows_its_details(qtbot, window) -> None:
    view, controller = window
    _type_and_wait(qtbot, view, controller, QUERY)
    with qtbot.waitSignal(controller.details.details_shown, timeout=5_000) as blocker:
        controller.search.select(0)
    assert blocker.args == [controller.search.results[0].code]
    assert view.details.code_label.text() == controller.search.results[0].code


def test_highlight_is_accent_insensitive_and_escaped() -> None:
    assert highlight_html("Fractura del fémur <x>", ["femur"]) == (
        "Fractura del <b>fémur</b> &lt;x&gt;"
    )
    assert highlight_html("Sin coincidencias", []) == "Sin coincidencias"


def test_results_show_confidence_and_the_full_code_to_use(with_reranker, qtbot, window) -> None:
    # Given the window with a reranker
    view, controller = window
    from app.ui.views.results_delegate import HTML_ROLE

    # When the coder types a fracture at a follow-up visit
    _type_and_wait(qtbot, view, controller, "fractura de cuello de femur derecho contacto sucesivo")
    results = controller.search.results
    # Then the reranked head carries a named confidence, on screen and in the tooltip
    first = view.results.item(0)
    assert results[0].confidence_level in {"alta", "media", "baja"}
    assert f"confianza {results[0].confidence_level}" in first.data(HTML_ROLE)
    assert "Probabilidad calibrada" in first.data(Qt.ItemDataRole.ToolTipRole)
    # And a code that needs a 7th character shows the valid full code read from the query
    row = next(i for i, r in enumerate(results) if r.completion is not None)
    completion = results[row].completion
    assert completion.code.endswith("D") and completion.read_from_query
    assert f"código completo: {completion.code}" in view.results.item(row).data(HTML_ROLE)
