"""Document mode: paste a note, review its coded mentions, export the accepted ones."""

from __future__ import annotations

import csv
import io
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app.document.analyse import analyse_document
from app.document.types import CodedMention, DocumentAnalysis, Mention
from app.ui.document import (
    CSV_COLUMNS,
    MentionRow,
    carry_over,
    export_rows,
    find_cue,
    initial_rows,
    write_csv,
)
from app.ui.worker import wait_for_tasks
from app.userdata import UserData

ROOT = Path(__file__).resolve().parents[2]

#: A small case built from codes the test catalog has (I10, E11.9, J18.9, R50.9, A15.0).
NOTE = (
    "Varón de 67 años con hipertensión arterial y diabetes mellitus tipo 2 que ingresa por "
    "neumonía. No presenta fiebre. Sin tuberculosis pulmonar."
)


def _open_document(qtbot, view, controller, text: str = NOTE) -> None:
    """Switch to the Document tab and paste ``text``; wait for its analysis."""
    view.tabs.setCurrentWidget(view.document)
    QGuiApplication.clipboard().setText(text)
    with qtbot.waitSignal(controller.document.analysis_shown, timeout=60_000):
        view.document.editor.paste()
    assert controller.document.text == text


def _row(controller, mention: str) -> int:
    texts = [r.mention.text.casefold() for r in controller.document.rows]
    return texts.index(mention)


def test_document_mode_finds_codes_and_highlights_mentions(
    qtbot, window, user_db, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    view, controller = window
    doc = controller.document
    # When the coder pastes a case
    _open_document(qtbot, view, controller)
    # Then its diagnostic mentions are found, with spans into the note, and coded
    found = {r.mention.text.casefold(): r for r in doc.rows}
    assert {"hipertensión arterial", "diabetes mellitus tipo 2", "neumonía", "fiebre"} <= set(found)
    for row in doc.rows:
        assert NOTE[row.mention.start:row.mention.end] == row.mention.text
    assert found["hipertensión arterial"].code == "I10"
    assert found["diabetes mellitus tipo 2"].code == "E11.9"
    assert found["neumonía"].code == "J18.9"
    # And non-negated mentions are proposed (accepted), negated ones rejected with their cue
    fever = found["fiebre"]
    assert fever.mention.negated and fever.mention.cue.casefold() == "no"
    assert not fever.accepted
    assert found["hipertensión arterial"].accepted
    table = view.document.table
    assert table.rowCount() == len(doc.rows)
    i = _row(controller, "fiebre")
    assert table.item(i, view.document.COL_NEGATED).text() == "«No»"
    assert table.item(i, view.document.COL_MENTION).font().strikeOut()
    assert view.document.code_combo(i).currentText() == "R50.9"
    assert table.item(_row(controller, "neumonía"), view.document.COL_TITLE).text().startswith(
        "Neumonía"
    )
    # And every mention is highlighted in the note, negated ones struck out, the cue marked
    selections = view.document.editor.extraSelections()
    spans = {(s.cursor.selectionStart(), s.cursor.selectionEnd()): s.format for s in selections}
    for row in doc.rows:
        fmt = spans[(row.mention.start, row.mention.end)]
        assert fmt.fontStrikeOut() == row.mention.negated
    cue = NOTE.index("No presenta")
    assert (cue, cue + 2) in spans
    # When a mention is selected, its span is selected in the note and its code shown
    with qtbot.waitSignal(controller.details.details_shown, timeout=5_000) as shown:
        doc.select(_row(controller, "neumonía"))
    assert shown.args == ["J18.9"]
    assert view.document.editor.textCursor().selectedText() == "neumonía"
    assert view.details.code_label.text() == "J18.9"
    # And nothing of the note reached the history or the log
    assert wait_for_tasks()
    assert UserData(user_db).history_count() == 0
    assert "neumonía" not in caplog.text and "Varón" not in caplog.text


def test_keyboard_accepts_rejects_and_changes_codes(qtbot, window) -> None:
    view, controller = window
    doc = controller.document
    _open_document(qtbot, view, controller)
    table = view.document.table
    hta = _row(controller, "hipertensión arterial")
    doc.select(hta)
    # R rejects, A accepts the current mention
    qtbot.keyClick(table, Qt.Key.Key_R)
    assert not doc.rows[hta].accepted
    assert "Rechazada" in table.item(hta, view.document.COL_STATUS).text()
    qtbot.keyClick(table, Qt.Key.Key_A)
    assert doc.rows[hta].accepted
    # Down moves to the next mention
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert doc.current_row() == hta + 1
    # A negated mention can be accepted too
    fever = _row(controller, "fiebre")
    doc.select(fever)
    qtbot.keyClick(table, Qt.Key.Key_A)
    assert doc.rows[fever].accepted
    # The code choice offers the alternatives: Down in it picks the next one
    doc.select(hta)
    combo = view.document.code_combo(hta)
    assert combo.count() == len(doc.rows[hta].coded.results) > 1
    second = doc.rows[hta].coded.results[1]
    with qtbot.waitSignal(doc.row_changed, timeout=5_000):
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert doc.rows[hta].code == second.code == combo.currentText()
    assert doc.rows[hta].accepted
    # C puts the keyboard in the code choice; a typed code is checked against the catalog
    qtbot.keyClick(table, Qt.Key.Key_C)
    line = combo.lineEdit()
    assert line.selectedText() == second.code
    # Esc there cancels the typing (and stays in the Document tab)
    qtbot.keyClicks(line, "zz")
    qtbot.keyClick(line, Qt.Key.Key_Escape)
    assert combo.currentText() == second.code and doc.rows[hta].code == second.code
    assert view.tabs.currentWidget() is view.document
    line.clear()
    with qtbot.waitSignal(doc.row_changed, timeout=5_000):
        qtbot.keyClicks(line, "i110")
        qtbot.keyClick(line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: doc.rows[hta].known, timeout=5_000)
    assert doc.rows[hta].code == "I11.0" and doc.rows[hta].valid and doc.rows[hta].accepted
    # A category that is not billable is marked; an unknown code is marked and rejected
    with qtbot.waitSignal(doc.row_changed, timeout=5_000):
        doc.set_code(hta, "I11")
    qtbot.waitUntil(lambda: doc.rows[hta].known, timeout=5_000)
    assert not doc.rows[hta].valid
    assert "no válido" in table.item(hta, view.document.COL_TITLE).text()
    with qtbot.waitSignal(doc.row_changed, timeout=5_000):
        doc.set_code(hta, "Z99.999")
    qtbot.waitUntil(lambda: hta not in doc._checking, timeout=5_000)
    assert not doc.rows[hta].known and not doc.rows[hta].accepted
    assert "no existe" in table.item(hta, view.document.COL_TITLE).text()
    assert not doc.accept(hta)


def test_csv_export_has_exactly_the_accepted_rows(qtbot, window, tmp_path: Path) -> None:
    view, controller = window
    doc = controller.document
    _open_document(qtbot, view, controller)
    # Given the coder rejects pneumonia and picks another code for diabetes
    doc.reject(_row(controller, "neumonía"))
    dm = _row(controller, "diabetes mellitus tipo 2")
    valid_alternatives = [r for r in doc.rows[dm].coded.results[1:] if r.valid]
    doc.choose(dm, doc.rows[dm].coded.results.index(valid_alternatives[0]))
    # When the accepted list is exported
    folder = tmp_path / "export"
    folder.mkdir()
    out = folder / "codigos.csv"
    with qtbot.waitSignal(doc.exported, timeout=5_000) as done:
        doc.export_csv(out)
    # Then the file has a BOM, the header and exactly the accepted rows with their codes
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(records[0]) == CSV_COLUMNS
    accepted = [r for r in doc.rows if r.accepted]
    assert done.args == [str(out), len(accepted)]
    assert [(int(r[0]), int(r[1]), r[2], r[4]) for r in records[1:]] == [
        (r.mention.start, r.mention.end, r.mention.text, r.code) for r in accepted
    ]
    exported = {r[2].casefold(): r for r in records[1:]}
    assert "neumonía" not in exported and "fiebre" not in exported
    assert exported["diabetes mellitus tipo 2"][4] == valid_alternatives[0].code
    assert exported["hipertensión arterial"][5].startswith("Hipertensión")
    # And no temporary file is left behind
    assert sorted(p.name for p in folder.iterdir()) == ["codigos.csv"]


def test_stale_analysis_results_are_dropped(qtbot, window) -> None:
    view, controller = window
    doc = controller.document
    gate = threading.Event()
    started = threading.Event()
    pipeline = controller.session.pipeline

    def slow(text: str) -> DocumentAnalysis:
        started.set()
        gate.wait(10)
        return analyse_document(text, pipeline)

    doc.set_analyser(slow, controller.session.store.find)
    view.tabs.setCurrentWidget(view.document)
    # Given an analysis in flight for a first text
    view.document.editor.setPlainText("Paciente con neumonía.")
    doc.analyse()
    assert started.wait(5)
    # When the text changes before its result arrives
    view.document.editor.setPlainText(NOTE)
    doc.analyse()
    with qtbot.waitSignal(doc.analysis_shown, timeout=30_000):
        gate.set()
    # Then the first result was dropped and only the current text's mentions are shown
    assert doc.stale_dropped >= 1
    assert doc.text == NOTE
    assert all(NOTE[r.mention.start:r.mention.end] == r.mention.text for r in doc.rows)
    assert "hipertensión arterial" in {r.mention.text for r in doc.rows}


def test_decisions_survive_reanalysis_of_an_edited_note(qtbot, window) -> None:
    view, controller = window
    doc = controller.document
    _open_document(qtbot, view, controller)
    doc.reject(_row(controller, "neumonía"))
    # When the coder adds a sentence, the note is analysed again after a pause
    editor = view.document.editor
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    with qtbot.waitSignal(doc.analysis_shown, timeout=30_000):
        qtbot.keyClicks(editor, " Tos.")
    assert doc.text.endswith("Tos.")
    # Then the earlier decision is kept
    assert not doc.rows[_row(controller, "neumonía")].accepted
    assert doc.rows[_row(controller, "hipertensión arterial")].accepted


def test_ctrl_enter_analyses_at_once(qtbot, window) -> None:
    view, controller = window
    doc = controller.document
    doc.timer.setInterval(600_000)  # no automatic analysis within the test
    view.tabs.setCurrentWidget(view.document)
    view.document.editor.insertPlainText("Paciente con neumonía.")
    assert doc.timer.isActive() and doc.analysis is None
    with qtbot.waitSignal(doc.analysis_shown, timeout=30_000):
        qtbot.keyClick(view.document.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert [r.mention.text for r in doc.rows] == ["neumonía"]
    assert view.document.editor.toPlainText() == "Paciente con neumonía."  # no newline typed


# -- Qt-free helpers ---------------------------------------------------------------------


def _coded(start: int, text: str, negated: bool = False, cue: str | None = None) -> CodedMention:
    return CodedMention(Mention(start, start + len(text), text, negated, cue), ())


def test_find_cue_is_the_nearest_cue_before_the_mention() -> None:
    note = "No tos ni fiebre."
    mention = Mention(10, 16, "fiebre", True, "ni")
    assert find_cue(note, mention) == (7, 9)
    assert find_cue(note, Mention(3, 6, "tos", False)) is None


def test_initial_rows_and_carry_over() -> None:
    analysis = DocumentAnalysis("x", (_coded(0, "tos"), _coded(10, "fiebre", True, "no")))
    rows = initial_rows(analysis)
    assert [r.accepted for r in rows] == [False, False]  # nothing proposed: nothing accepted
    rows[0].set_record("R05.9", None)
    rows[0].accepted = True
    again = initial_rows(DocumentAnalysis("y", (_coded(4, "tos"),)))
    assert carry_over(rows, again) == 1
    assert again[0].code == "R05.9" and again[0].accepted


def test_write_csv_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old", encoding="utf-8")
    row = MentionRow(_coded(0, "tos"), code="R05.9", title_es="Tos", known=True, accepted=True)
    records = export_rows([row, MentionRow(_coded(5, "fiebre"), code="R50.9", known=True)])
    assert write_csv(out, records) == 1
    assert out.read_text(encoding="utf-8-sig").splitlines()[1] == "0,3,tos,0,R05.9,Tos,,0"

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_csv(out, records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_gui_screenshot_with_document_writes_png(installed_data_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "doc.png"
    note = tmp_path / "nota.txt"
    note.write_text(NOTE, encoding="utf-8")
    env = {**os.environ, "CIELO_DATA_DIR": str(installed_data_dir), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli.gui", "--screenshot", str(shot),
         "--document", str(note)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


def test_a_code_that_needs_more_characters_starts_rejected(store) -> None:
    from app.search.pipeline import SearchPipeline

    pipeline = SearchPipeline(store)
    category = pipeline.search("S72.1", 1)[0]  # pertrochanteric fracture: not billable
    billable = pipeline.search("I10", 1)[0]
    assert not category.valid and billable.valid
    analysis = DocumentAnalysis("fractura hta", (
        CodedMention(Mention(0, 8, "fractura"), (category, billable)),
        CodedMention(Mention(9, 12, "hta"), (billable,)),
    ))  # fmt: skip
    rows = initial_rows(analysis)
    assert rows[0].code == "S72.1" and not rows[0].valid and not rows[0].accepted
    assert rows[1].code == "I10" and rows[1].accepted


def test_uncertain_mentions_show_their_cue(qtbot, window) -> None:
    view, controller = window
    # When the note hedges a diagnosis
    _open_document(qtbot, view, controller, "Probable neumonía. No presenta fiebre.")
    doc = controller.document
    # Then the hedged mention shows its cue of doubt, the negated one its negation cue
    pneumonia, fever = _row(controller, "neumonía"), _row(controller, "fiebre")
    assert doc.rows[pneumonia].mention.uncertain
    cue = view.document.table.item(pneumonia, view.document.COL_NEGATED)
    assert cue.text() == "¿«Probable»?" and "Probable" in cue.toolTip()
    assert view.document.table.item(fever, view.document.COL_NEGATED).text() == "«No»"
