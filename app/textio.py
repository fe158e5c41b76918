"""One reading policy for every text file Cielo reads: batch mentions, clinical notes and
catalog code lists, from the CLI and the desktop app alike.

- A byte-order mark decides the encoding (UTF-8, UTF-16 or UTF-32, either byte order) and
  is stripped; otherwise the encoding given (``--encoding``) is used, UTF-8 by default.
- Decoding is strict: a byte that does not decode is a one-line error naming the file, the
  line and the byte offset, never a silent replacement or a guess.
- Text that is not text is refused the same way: control characters other than tab, line
  and page breaks, the replacement character U+FFFD, or no letter at all.
"""

from __future__ import annotations

import codecs
import re
import sys
from pathlib import Path

from app.errors import CieloError

#: Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: Control characters (Unicode category Cc) other than tab, line feed, carriage return and
#: form feed, and the replacement character U+FFFD.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
DEFAULT_ENCODING = "utf-8"


class TextFileError(CieloError):
    """A file that cannot be read as text under the reading policy (one-line message)."""


def detect_bom(data: bytes) -> tuple[str | None, int]:
    """The encoding a byte-order mark at the start of ``data`` names, and the mark's length.

    Example: ``detect_bom(b"\\xef\\xbb\\xbfHTA") == ("utf-8", 3)``
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None, 0


def _line_at(text: str, index: int) -> int:
    return len(_LINE_BREAK.findall(text, 0, index)) + 1


def decode_text(data: bytes, name: str, encoding: str | None = None) -> str:
    """Decode a file's bytes under the reading policy (BOM first, then ``encoding``).

    Raises:
        TextFileError: an unknown encoding, or bytes that do not decode (file, line, byte).

    Example: ``decode_text("Hipertensión".encode("latin-1"), "m.txt", "latin-1")``
    """
    bom_encoding, skip = detect_bom(data)
    chosen = bom_encoding or encoding or DEFAULT_ENCODING
    try:
        codecs.lookup(chosen)
    except LookupError:
        raise TextFileError(f"{name}: unknown encoding {chosen!r}") from None
    body = data[skip:]
    try:
        return body.decode(chosen)
    except UnicodeDecodeError as exc:
        line = _line_at(body[: exc.start].decode(chosen, errors="replace"), exc.start)
        hint = "" if bom_encoding else "; give the file's encoding, e.g. --encoding cp1252"
        raise TextFileError(
            f"{name}: line {line}, byte offset {skip + exc.start}: not valid {chosen} "
            f"({exc.reason}){hint}"
        ) from None


def text_problem(text: str) -> str | None:
    """Why ``text`` is not text (where, and what), or None when it is; blank text is text.

    Example: ``text_problem("HTA\\x07") == "line 1: control character U+0007"``
    """
    found = _NOT_TEXT.search(text)
    if found is not None:
        char, line = found.group(), _line_at(text, found.start())
        if char == "\ufffd":
            return f"line {line}: replacement character U+FFFD"
        return f"line {line}: control character U+{ord(char):04X}"
    if text.strip() and not any(char.isalpha() for char in text):
        return "no letters"
    return None


def check_text(text: str, name: str) -> str:
    """``text`` itself when it is text.

    Raises:
        TextFileError: ``"<name>: not text (<why>)"``, e.g. for a binary file.
    """
    problem = text_problem(text)
    if problem is None:
        return text
    found = _NOT_TEXT.search(text)
    char = found.group() if found is not None else ""
    if char == "\0":
        problem += " (binary data, or UTF-16 without a byte-order mark: --encoding utf-16-le)"
    elif "\x80" <= char <= "\x9f":
        problem += " (Windows-1252 read as Latin-1? --encoding cp1252)"
    raise TextFileError(f"{name}: not text: {problem}")


def read_text_file(path: Path | str, encoding: str | None = None) -> str:
    """A text file's contents under the reading policy; ``"-"`` reads standard input.

    Raises:
        TextFileError: unreadable, undecodable or not text (one line: file, line, byte).

    Example: ``read_text_file(Path("mentions.txt"), encoding="cp1252")``
    """
    name = str(path)
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise TextFileError(f"{name}: cannot read ({exc.strerror or exc})") from None
    name = "<stdin>" if name == "-" else name
    return check_text(decode_text(data, name, encoding), name)


def text_lines(text: str) -> list[str]:
    """The lines of ``text`` (CR LF, CR or LF ends; a final line end adds no empty line).

    Example: ``text_lines("HTA\\r\\n\\nEPOC") == ["HTA", "", "EPOC"]``
    """
    lines = _LINE_BREAK.split(text)
    return lines[:-1] if lines[-1] == "" else lines
