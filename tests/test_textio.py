"""The one reading policy (``app.textio``) and the one atomic writer (``app.atomic``)."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from app.atomic import atomic_path, atomic_text_writer
from app.textio import TextFileError, decode_text, read_text_file, text_lines, text_problem

TEXT = "HTA\nfractura de cadera\nneumonía"


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
     (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF32_LE, "utf-32-le"),
     (codecs.BOM_UTF32_BE, "utf-32-be")],
)
def test_a_byte_order_mark_decides_over_the_encoding_given(bom: bytes, encoding: str) -> None:
    data = bom + TEXT.encode(encoding)
    assert decode_text(data, "f") == TEXT
    assert decode_text(data, "f", encoding="latin-1") == TEXT


def test_without_a_mark_the_encoding_given_or_strict_utf8() -> None:
    latin = TEXT.encode("latin-1")
    assert decode_text(latin, "f", "latin-1") == TEXT
    with pytest.raises(TextFileError, match=r"^f: line 3, byte offset 29: not valid utf-8"):
        decode_text(latin, "f")


def test_decoding_errors_name_the_line_in_utf16_too() -> None:
    data = codecs.BOM_UTF16_LE + "HTA\nEPOC\n".encode("utf-16-le") + b"\x00\xdc"  # lone surrogate
    with pytest.raises(TextFileError, match=r"line 3, byte offset 20: not valid utf-16-le"):
        decode_text(data, "f")


def test_unknown_encoding() -> None:
    with pytest.raises(TextFileError, match="unknown encoding 'klingon'"):
        decode_text(b"HTA", "f", "klingon")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("HTA\nEPOC\x07", "line 2: control character U+0007"),
        ("HTA\x00", "line 1: control character U+0000"),
        ("Caf\x92", "line 1: control character U+0092"),
        ("ne\ufffdmonía", "line 1: replacement character U+FFFD"),
        ("1234 5678 -- ..", "no letters"),
    ],
)
def test_text_that_is_not_text(text: str, problem: str) -> None:
    assert text_problem(text).startswith(problem)


@pytest.mark.parametrize("text", ["", " \n", "HTA\tEPOC\r\n\fDM2", "ÇU ÏM Ñandú"])
def test_text_that_is_text(text: str) -> None:
    assert text_problem(text) is None


def test_read_text_file_checks_and_strips(tmp_path: Path) -> None:
    good = tmp_path / "m.txt"
    good.write_bytes(codecs.BOM_UTF8 + b"HTA\r\nEPOC\r\n")
    assert text_lines(read_text_file(good)) == ["HTA", "EPOC"]
    junk = tmp_path / "j.bin"
    junk.write_bytes(b"AB\x00\x01")
    with pytest.raises(TextFileError, match=r"j.bin: not text: line 1: .* U\+0000 \(binary data"):
        read_text_file(junk)
    latin1 = tmp_path / "w.txt"
    latin1.write_bytes("Caf\u00e9 \u201cHTA\u201d".encode("cp1252"))
    with pytest.raises(TextFileError, match=r"U\+0093 \(Windows-1252 read as Latin-1\?"):
        read_text_file(latin1, "latin-1")
    assert read_text_file(latin1, "cp1252") == "Café “HTA”"
    with pytest.raises(TextFileError, match="cannot read"):
        read_text_file(tmp_path / "missing.txt")


def test_text_lines() -> None:
    assert text_lines("") == []
    assert text_lines("a\n") == ["a"]
    assert text_lines("a\r\n\rb\nc") == ["a", "", "b", "c"]
    assert text_lines("a\x0bb\u2028c") == ["a\x0bb\u2028c"]  # only CR/LF end lines


def test_atomic_writer_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "out.jsonl"
    with atomic_text_writer(out) as fh:
        fh.write("one\n")
    assert out.read_text(encoding="utf-8") == "one\n"
    with pytest.raises(RuntimeError), atomic_text_writer(out) as fh:
        fh.write("half")
        raise RuntimeError("killed mid-way")
    assert out.read_text(encoding="utf-8") == "one\n"
    assert [p.name for p in out.parent.iterdir()] == ["out.jsonl"]


def test_atomic_path_respects_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "shot.png") as tmp:
            tmp.write_bytes(b"png")
    finally:
        os.umask(old)
    if os.name == "posix":
        assert (tmp_path / "shot.png").stat().st_mode & 0o777 == 0o644
