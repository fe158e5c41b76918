"""ICD-10-CM / CIE-10-ES code syntax: canonical dotted form, parsing of typed codes.

Codes are stored in canonical dotted upper case (``S72.001A``); input may come in any
form (``s72001a``, ``S72.001A``, ``s72.001a``). Chapters are numbered ``"1"``..``"22"``
and blocks are ranges (``A00-A09``); both pass through unchanged.

A category is a letter, a digit and a letter or digit (``S72``, ``C4A``), or, as in the
2026 edition's genetic disorders, ``Q``, a letter and a digit (``QA0``); up to four letters
or digits follow (``QA0.0139``, ``T81.31XA``). Words such as "dm2" or "ca125" are no codes.
"""

from __future__ import annotations

import re

from app.errors import InvalidCode

_CATEGORY = r"(?:[A-Z][0-9][0-9A-Z]|Q[A-Z][0-9])"
_CODE_RE = re.compile(rf"^{_CATEGORY}(?:\.?[0-9A-Z]{{1,4}})?$")
_TYPED_RE = re.compile(
    rf"^\s*({_CATEGORY})\s*\.?\s*([0-9A-Z]{{0,4}})\s*$", re.IGNORECASE
)
_BLOCK_RE = re.compile(rf"^{_CATEGORY}-{_CATEGORY}$")
#: What a code looks like, for messages.
CODE_FORMS = (
    "such as S72.001A (any case, dot optional: s72001a, s72.001a), a block (S70-S79) or a "
    "chapter number (19)"
)


def format_code(code: str) -> str:
    """Return the canonical dotted upper-case form of a code, block or chapter.

    Example: ``format_code("s72001a") == "S72.001A"``
    """
    raw = code.strip().upper()
    if raw.isdigit() or _BLOCK_RE.match(raw):
        return raw
    raw = raw.replace(".", "").replace(" ", "")
    return raw if len(raw) <= 3 else f"{raw[:3]}.{raw[3:]}"


def strip_dot(code: str) -> str:
    """Return a code without its dot, upper case.

    Example: ``strip_dot("i21.4") == "I214"``
    """
    return code.strip().upper().replace(".", "")


def is_code_syntax(code: str) -> bool:
    """True when ``code`` (any case, surrounding blanks ignored, with or without the dot
    after the category) has ICD-10-CM code syntax.

    Example: ``is_code_syntax("t81.31xa") is True``; ``is_code_syntax("S720.01") is False``
    """
    return bool(_CODE_RE.match(code.strip().upper()))


def require_code(text: str) -> str:
    """The canonical form of a code, block or chapter typed as ``text``.

    Raises:
        InvalidCode: ``text`` is blank or not a code (the message shows the accepted forms).

    Example: ``require_code(" s72001a ") == "S72.001A"``
    """
    raw = text.strip()
    if not raw:
        raise InvalidCode(f"a code is needed, {CODE_FORMS}")
    if not (raw.isdigit() or is_block(raw) or is_code_syntax(raw)):
        raise InvalidCode(f"{raw!r} is not a code: give one {CODE_FORMS}")
    return format_code(raw)


def is_block(code: str) -> bool:
    """True for a block range such as ``A00-A09``.

    Example: ``is_block("S70-S79") is True``
    """
    return bool(_BLOCK_RE.match(code.strip().upper()))


def parse_typed_code(text: str) -> str | None:
    """Return the canonical code if ``text`` is a typed code (possibly partial), else None.

    Accepts ``s72.0``, ``S7200``, ``t81.31xa``, ``I10``. Words such as ``IAM`` or ``dm2``
    are not codes (the second character of a code is a digit).

    Example: ``parse_typed_code(" s72.0 ") == "S72.0"``
    """
    match = _TYPED_RE.match(text)
    if not match:
        return None
    return format_code(match.group(1) + match.group(2))


def category_of(code: str) -> str:
    """Return the 3-character category of a code.

    Example: ``category_of("S72.001A") == "S72"``
    """
    return strip_dot(code)[:3]


def pad_placeholder(code: str, seventh: str) -> str:
    """Compose a 7-character code, padding with placeholder ``X`` up to the 6th character.

    Example: ``pad_placeholder("T81.31", "A") == "T81.31XA"``
    """
    base = strip_dot(code)
    return format_code(base.ljust(6, "X") + seventh.upper())
