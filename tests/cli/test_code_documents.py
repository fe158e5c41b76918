"""``cielo code-documents`` on real files, through the installed entry point: the schema,
input order, folders, encodings, offsets into the decoded text, and a bad file that is
reported in one line without stopping the others."""

from __future__ import annotations

import codecs
import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_files import cielo

NOTE_A = (
    "Varón de 67 años con hipertensión arterial y diabetes mellitus tipo 2.\r\n"
    "Acude por dolor abdominal y fiebre. No presenta disnea. Se descarta neumonía.\r\n"
)
NOTE_B = "Probable neumonía basal derecha.\nAntecedente de HTA.\n"
NOTE_C = "Mujer con insuficiencia cardíaca y anemia ferropénica.\n"

MENTION_KEYS = {"start", "end", "text", "negated", "cue", "uncertain", "uncertainty_cue",
                "accepted", "abstained", "candidates"}
CANDIDATE_KEYS = {"code", "title_es", "title_en", "valid", "confidence", "confidence_level"}


def _records(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode("utf-8").splitlines()]


def _run(data_dir: Path, *args: str, retriever: str = "bm25") -> subprocess.CompletedProcess:
    return cielo(data_dir, "code-documents", *args, "--retriever", retriever)


@pytest.fixture()
def notes(tmp_path: Path) -> Path:
    """A folder of notes (written out of name order) and a stray non-.txt file."""
    folder = tmp_path / "notas"
    folder.mkdir()
    (folder / "b.txt").write_bytes(codecs.BOM_UTF16_LE + NOTE_B.encode("utf-16-le"))
    (folder / "a.txt").write_bytes(NOTE_A.encode("utf-8"))
    (folder / "leeme.md").write_text("# no es una nota\n", encoding="utf-8")
    return folder


def test_schema_order_offsets_negation_and_uncertainty(
    data_dir: Path, notes: Path, tmp_path: Path
) -> None:
    single = tmp_path / "c.txt"
    single.write_text(NOTE_C, encoding="utf-8")
    proc = _run(data_dir, str(single), str(notes), "--top-k", "2")
    assert proc.returncode == 0, proc.stderr.decode()
    records = _records(proc.stdout)
    # input order; a folder is its .txt files sorted by name
    assert [r["document"] for r in records] == [
        str(single), str(notes / "a.txt"), str(notes / "b.txt")]
    texts = {str(single): NOTE_C, str(notes / "a.txt"): NOTE_A, str(notes / "b.txt"): NOTE_B}
    for record in records:
        assert set(record) == {"document", "truncated", "mentions"}
        assert record["truncated"] is False and record["mentions"]
        note = texts[record["document"]]  # decoded: CR LF kept, BOM stripped
        starts = [m["start"] for m in record["mentions"]]
        assert starts == sorted(starts)
        for m in record["mentions"]:
            assert set(m) == MENTION_KEYS
            assert note[m["start"]:m["end"]] == m["text"]
            assert 1 <= len(m["candidates"]) <= 2
            for c in m["candidates"]:
                assert set(c) == CANDIDATE_KEYS
    a = {m["text"].casefold(): m for m in records[1]["mentions"]}
    assert a["hipertensión arterial"]["candidates"][0]["code"] == "I10"
    assert a["hipertensión arterial"]["accepted"] and not a["hipertensión arterial"]["negated"]
    assert a["disnea"]["negated"] and a["disnea"]["cue"] == "No" and not a["disnea"]["accepted"]
    assert a["neumonía"]["negated"] and a["neumonía"]["cue"] == "Se descarta"
    b = {m["text"].casefold(): m for m in records[2]["mentions"]}
    pneumonia = next(m for text, m in b.items() if text.startswith("neumonía"))
    assert pneumonia["uncertain"] and pneumonia["uncertainty_cue"] == "Probable"
    assert not pneumonia["negated"]
    assert b["hta"]["candidates"][0]["code"] == "I10" and not b["hta"]["uncertain"]


def test_a_bad_file_is_one_line_and_the_others_are_written(
    data_dir: Path, notes: Path, tmp_path: Path
) -> None:
    latin = notes / "a2.txt"  # sorted between a.txt and b.txt
    latin.write_bytes("Paciente con neumonía.\n".encode("latin-1"))
    missing = tmp_path / "no-existe.txt"
    empty = tmp_path / "vacia"
    empty.mkdir()
    out = tmp_path / "out" / "notas.jsonl"
    out.parent.mkdir()
    out.write_text("earlier run\n", encoding="utf-8")
    proc = _run(data_dir, str(notes), str(missing), str(empty), "-k", "1", "-o", str(out))
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.decode("utf-8").splitlines()
              if line.startswith("Error: ")]
    assert len(errors) == 3 and "Traceback" not in proc.stderr.decode("utf-8")
    assert str(latin) in errors[0] and "line 1, byte offset 19: not valid utf-8" in errors[0]
    assert str(missing) in errors[1] and "cannot read" in errors[1]
    assert str(empty) in errors[2] and "no .txt files" in errors[2]
    assert proc.stdout == b""
    written = _records(out.read_bytes())
    assert [r["document"] for r in written] == [str(notes / "a.txt"), str(notes / "b.txt")]
    assert [p.name for p in out.parent.iterdir()] == ["notas.jsonl"]  # no temporary left


def test_encoding_option_and_min_confidence(data_dir: Path, tmp_path: Path) -> None:
    note = tmp_path / "nota.txt"
    note.write_bytes(NOTE_A.encode("cp1252"))
    proc = _run(data_dir, str(note), "--encoding", "cp1252", "-k", "3",
                "--min-confidence", "0.9", retriever="hybrid")  # calibrated
    assert proc.returncode == 0, proc.stderr.decode()
    (record,) = _records(proc.stdout)
    assert record["mentions"] and all(
        c["confidence"] >= 0.9 for m in record["mentions"] for c in m["candidates"])
    unread = _run(data_dir, str(note))  # strict UTF-8 without --encoding
    assert unread.returncode == 1 and "not valid utf-8" in unread.stderr.decode("utf-8")
    assert unread.stdout == b""
    for m in record["mentions"]:
        assert NOTE_A[m["start"]:m["end"]] == m["text"]
        if m["abstained"]:
            assert m["candidates"] == [] and not m["accepted"]
