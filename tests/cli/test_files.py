"""The installed ``cielo`` command on real files: encodings, byte-order marks, binary junk,
output written whole or not at all, and clean one-line errors."""

from __future__ import annotations

import codecs
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

#: 256 good lines, then one that is not UTF-8 (a Latin-1 export), as the issue's file.
LATIN1_LINES = ["HTA"] * 256 + ["Hipertensión arterial", "neumonía"]


def _cielo_command() -> list[str]:
    """The console script installed beside this Python (``pip install -e .``)."""
    scripts = Path(sysconfig.get_path("scripts"))
    for name in ("cielo", "cielo.exe"):
        if (scripts / name).exists():
            return [str(scripts / name)]
    found = shutil.which("cielo")
    if found is None:
        pytest.skip("the cielo console script is not installed")
    return [found]


def cielo(data_dir: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ``cielo ARGS`` in a fresh process on the test's data folder."""
    env = {**os.environ, "CIELO_DATA_DIR": str(data_dir), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [*_cielo_command(), *args], env=env, input=stdin, capture_output=True, timeout=300,
        check=False,
    )


def _mentions(stdout: bytes) -> list[str]:
    return [json.loads(line)["mention"] for line in stdout.decode("utf-8").splitlines()]


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The failure's stderr, checked to be one ``Error:`` line and no traceback."""
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    """A folder for the test's input and output files (beside the data folder)."""
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_latin1_file_is_a_one_line_error_naming_line_and_byte(
    data_dir: Path, work: Path
) -> None:
    src = _write(work / "export.txt", ("\n".join(LATIN1_LINES) + "\n").encode("latin-1"))
    out = work / "coded.jsonl"
    message = _one_line_error(cielo(data_dir, "code-mentions", str(src), "-o", str(out)))
    offset = len(("HTA\n" * 256).encode()) + len("Hipertensi")
    assert str(src) in message and "line 257" in message and f"byte offset {offset}" in message
    assert "--encoding" in message
    assert not out.exists() and list(work.iterdir()) == [src]  # no partial file either


def test_a_failure_leaves_an_earlier_output_file_untouched(data_dir: Path, work: Path) -> None:
    src = _write(work / "export.txt", ("\n".join(LATIN1_LINES) + "\n").encode("latin-1"))
    out = work / "coded.jsonl"
    out.write_text("earlier run\n", encoding="utf-8")
    _one_line_error(cielo(data_dir, "code-mentions", str(src), "-o", str(out)))
    assert out.read_text(encoding="utf-8") == "earlier run\n"
    assert sorted(p.name for p in work.iterdir()) == ["coded.jsonl", "export.txt"]


def test_encoding_option_reads_latin1_and_writes_the_whole_file(
    data_dir: Path, work: Path
) -> None:
    src = _write(work / "export.txt", ("\r\n".join(LATIN1_LINES) + "\r\n").encode("cp1252"))
    out = work / "coded.jsonl"
    proc = cielo(data_dir, "code-mentions", str(src), "--encoding", "cp1252", "-k", "1",
                 "--retriever", "bm25", "-o", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    assert _mentions(out.read_bytes()) == LATIN1_LINES


@pytest.mark.parametrize(
    "encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"],
)
def test_a_byte_order_mark_decides_and_is_stripped(
    data_dir: Path, work: Path, encoding: str
) -> None:
    lines = ["HTA", "", "fractura de cadera", "neumonía"]
    data = "\n".join(lines).encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    src = _write(work / "m.txt", data)
    proc = cielo(data_dir, "code-mentions", str(src), "-k", "1", "--retriever", "bm25")
    assert proc.returncode == 0, proc.stderr.decode()
    assert _mentions(proc.stdout) == lines  # "HTA", not "\ufeffHTA"
    first = json.loads(proc.stdout.decode("utf-8").splitlines()[0])
    assert first["candidates"][0]["code"] == "I10"


def test_stdin_is_read_under_the_same_rules(data_dir: Path) -> None:
    proc = cielo(data_dir, "code-mentions", "-", "-k", "1", "--retriever", "bm25",
                 stdin=codecs.BOM_UTF8 + "HTA\nneumonía\n".encode())
    assert proc.returncode == 0, proc.stderr.decode()
    assert _mentions(proc.stdout) == ["HTA", "neumonía"]
    latin = cielo(data_dir, "code-mentions", "-", stdin="neumonía\n".encode("latin-1"))
    assert "<stdin>: line 1, byte offset 6: not valid utf-8" in _one_line_error(latin)


def test_binary_junk_is_refused_as_not_text(data_dir: Path, work: Path) -> None:
    junk = bytes(range(256)) * 4
    src = _write(work / "scan.pdf", b"%PDF-1.4\n" + junk)
    out = work / "coded.jsonl"
    for args in ([], ["--encoding", "latin-1"]):  # undecodable, or decoded into controls
        message = _one_line_error(cielo(data_dir, "code-mentions", str(src), *args,
                                        "-o", str(out)))
        assert str(src) in message and ("not valid utf-8" in message or "not text" in message)
        assert not out.exists()
    decodable = _write(work / "blob.bin", b"\x00\x01\x02ABC\x7f\x00")
    message = _one_line_error(cielo(data_dir, "code-mentions", str(decodable)))
    assert "not text: line 1: control character U+0000" in message


def test_unknown_encoding_is_a_clean_error(data_dir: Path, work: Path) -> None:
    src = _write(work / "m.txt", b"HTA\n")
    message = _one_line_error(cielo(data_dir, "code-mentions", str(src), "--encoding", "klingon"))
    assert "unknown encoding 'klingon'" in message


def test_catalog_import_reads_a_utf16_code_list(data_dir: Path, work: Path) -> None:
    src = _write(work / "cie10es.tsv", "código\tdescripción\nI10\tHipertensión esencial\n"
                 .encode("utf-16"))
    proc = cielo(data_dir, "catalog", "import", str(src), "--edition", "u16", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["edition"] == "u16"
    shown = cielo(data_dir, "lookup", "i10", "--json")
    assert json.loads(shown.stdout)["title_es"] == "Hipertensión esencial"


def test_the_seventh_character_speaks_spanish(data_dir: Path) -> None:
    proc = cielo(data_dir, "search", "s72.001", "-k", "1")
    text = proc.stdout.decode("utf-8")
    assert "→ código completo S72.001A (contacto inicial por fractura cerrada; por defecto)" in text
    assert "initial encounter" not in text
    lookup = cielo(data_dir, "lookup", "t81.31").stdout.decode("utf-8")
    assert "7º carácter: A = contacto inicial; D = contacto sucesivo; S = secuela" in lookup
    data = json.loads(cielo(data_dir, "search", "s72.001", "-k", "1", "--json").stdout)
    completion = data["results"][0]["completion"]
    assert completion["meaning_es"] == "contacto inicial por fractura cerrada"
    assert completion["meaning"] == "initial encounter for closed fracture"
    assert "title_es" in completion and completion["title_en"].endswith(completion["meaning"])


@pytest.mark.parametrize("given", ["", "   "])
def test_lookup_without_a_code_says_one_is_needed(data_dir: Path, given: str) -> None:
    message = _one_line_error(cielo(data_dir, "lookup", given))
    assert "a code is needed" in message and "S72.001A" in message and "s72001a" in message


def test_lookup_of_a_word_says_it_is_not_a_code(data_dir: Path) -> None:
    message = _one_line_error(cielo(data_dir, "lookup", "fractura"))
    assert "'fractura' is not a code" in message


def test_gui_document_uses_the_same_reading_rules(data_dir: Path, work: Path) -> None:
    latin = _write(work / "nota.txt", "Paciente con neumonía.\n".encode("latin-1"))
    message = _one_line_error(cielo(data_dir, "gui", "--document", str(latin), "--screenshot",
                                    str(work / "s.png")))
    assert "line 1, byte offset 19: not valid utf-8" in message
    junk = _write(work / "nota.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    message = _one_line_error(cielo(data_dir, "gui", "--document", str(junk), "--encoding",
                                    "cp1252", "--screenshot", str(work / "s.png")))
    assert "not text" in message
    assert not (work / "s.png").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="offscreen Qt is the Linux CI's")
def test_gui_screenshot_prints_no_qt_plugin_noise(data_dir: Path, work: Path) -> None:
    note = _write(work / "nota.txt", codecs.BOM_UTF16_LE
                  + "Paciente con neumonía.\n".encode("utf-16-le"))
    shot = work / "s.png"
    env_args = ("gui", "--screenshot", str(shot), "--document", str(note))
    proc = cielo(data_dir, *env_args)
    assert proc.returncode == 0, proc.stderr.decode()
    assert shot.read_bytes()[:4] == b"\x89PNG"
    assert "propagateSizeHints" not in proc.stderr.decode()
    assert [p.name for p in work.iterdir() if p.name.endswith(".tmp")] == []
