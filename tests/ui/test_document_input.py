"""Document mode and the details pane with what a coder really hands them: binary junk,
spans that are no words, low-confidence codes, long mentions, Spanish 7th characters."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt

from app.document.types import CodedMention, DocumentAnalysis, Mention
from app.search.pipeline import SearchPipeline
from app.ui.controllers.document import DocumentController
from app.ui.document import initial_rows
from app.ui.views.document_view import DocumentView

#: Binary data as Windows-1252 reads it (the issue's "ÇU" -> K51.90, "ÏM" -> I34.0).
JUNK = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR ÇU ÏM\x07 hipertensión arterial \x00\x13"


def test_pasted_binary_is_refused_not_analysed(qtbot, window) -> None:
    view, controller = window
    view.tabs.setCurrentWidget(view.document)
    with qtbot.waitSignal(controller.document.analysis_shown, timeout=60_000) as shown:
        view.document.editor.setPlainText(JUNK)
        controller.document.analyse()
    assert shown.args == [0] and controller.document.rows == []
    status = view.document.status_label.text()
    assert status.startswith("Esto no es texto") and "U+0089" in status
    assert "--encoding" not in status
    assert not view.document.export_button.isEnabled()


def _best(store, query: str, confidence: float):
    result = SearchPipeline(store).search(query, 1)[0]
    assert result.valid
    return replace(result, confidence=confidence)


def test_only_real_words_with_a_confident_valid_code_start_accepted(store) -> None:
    note = "xÇU ÇU colitis ulcerosa; colitis ulcerosa"
    sure, unsure = _best(store, "colitis ulcerosa", 0.9), _best(store, "colitis ulcerosa", 0.1)
    analysis = DocumentAnalysis(note, (
        CodedMention(Mention(1, 3, "ÇU"), (sure,)),  # inside a run of characters
        CodedMention(Mention(4, 6, "ÇU"), (sure,)),  # letters Spanish does not spell with
        CodedMention(Mention(7, 23, "colitis ulcerosa"), (sure,)),
        CodedMention(Mention(25, 41, "colitis ulcerosa"), (unsure,)),  # confidence "baja"
    ))  # fmt: skip
    assert [r.accepted for r in initial_rows(analysis)] == [False, False, True, False]
    assert [r.code for r in initial_rows(analysis)] == [sure.code] * 4  # still proposed


def test_a_long_mention_wraps_instead_of_being_cut(qtbot) -> None:
    long = "fibrilación auricular paroxística en tratamiento anticoagulante oral con acenocumarol"
    note = f"HTA. {long}."
    view = DocumentView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    controller = DocumentController(view, auto_ms=10_000)
    analysis = DocumentAnalysis(note, (
        CodedMention(Mention(0, 3, "HTA"), ()),
        CodedMention(Mention(5, 5 + len(long), long), ()),
    ))  # fmt: skip
    controller.set_analyser(lambda _text: analysis)
    with qtbot.waitSignal(controller.analysis_shown, timeout=10_000):
        view.editor.setPlainText(note)
        controller.analyse()
    table = view.table
    item = table.item(1, view.COL_MENTION)
    assert item.text() == long and item.toolTip() == long
    assert table.wordWrap() and table.textElideMode() == Qt.TextElideMode.ElideNone
    assert table.rowHeight(1) > table.rowHeight(0)  # the whole text shows, on more lines


def _show(qtbot, controller, code: str) -> None:
    with qtbot.waitSignal(controller.details.details_shown, timeout=5_000):
        controller.details.show_code(code)


def test_seventh_characters_speak_spanish_with_english_on_demand(qtbot, window) -> None:
    view, controller = window
    _show(qtbot, controller, "S72.001")
    combo = view.details.seventh_combo
    texts = [combo.itemText(i) for i in range(1, combo.count())]
    assert "D — contacto sucesivo por fractura cerrada con curas rutinarias" in texts
    d = texts.index("D — contacto sucesivo por fractura cerrada con curas rutinarias") + 1
    assert combo.itemData(d, Qt.ItemDataRole.ToolTipRole).endswith(
        "subsequent encounter for closed fracture with routine healing"
    )
    _show(qtbot, controller, "S02.0")  # a code with a Spanish title of its own
    assert controller.details.choose_seventh("A") == "S02.0XXA"
    result = view.details.seventh_result
    assert result.text() == ("Código completo: S02.0XXA — Fractura de la bóveda del cráneo, "
                             "contacto inicial por fractura cerrada")
    assert result.toolTip().endswith("initial encounter for closed fracture")
    _show(qtbot, controller, "S72.001D")
    label = view.details.seventh_meaning
    assert not label.isHidden()
    assert label.text() == (
        "7º carácter D: contacto sucesivo por fractura cerrada con curas rutinarias"
    )
    assert label.toolTip() == "subsequent encounter for closed fracture with routine healing"
    _show(qtbot, controller, "I10")
    assert label.isHidden()
