import pytest

from app.codes import (
    category_of,
    format_code,
    is_code_syntax,
    pad_placeholder,
    parse_typed_code,
    strip_dot,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("s72001a", "S72.001A"),
        ("S72.001A", "S72.001A"),
        ("s72.001a", "S72.001A"),
        (" i10 ", "I10"),
        ("t8131xa", "T81.31XA"),
        ("A00-A09", "A00-A09"),
        ("1", "1"),
    ],
)
def test_format_code_any_form(raw: str, canonical: str) -> None:
    assert format_code(raw) == canonical


@pytest.mark.parametrize("code", ["S72.001A", "T81.31XA", "I10", "W19.XXXA", "C7A.01"])
def test_round_trip(code: str) -> None:
    assert format_code(strip_dot(code)) == code
    assert format_code(code.lower()) == code


@pytest.mark.parametrize(
    ("typed", "code"),
    [("s72.0", "S72.0"), ("S7200", "S72.00"), ("t81.31xa", "T81.31XA"), ("I10", "I10"),
     ("e11.9", "E11.9"), ("S72. 0", "S72.0")],
)
def test_typed_codes(typed: str, code: str) -> None:
    assert parse_typed_code(typed) == code


@pytest.mark.parametrize("text", ["IAM", "dm2", "hta", "fractura", "", "ACxFA", "S72.00000"])
def test_words_are_not_codes(text: str) -> None:
    assert parse_typed_code(text) is None


def test_syntax_and_helpers() -> None:
    assert is_code_syntax("t81.31xa")
    assert not is_code_syntax("S7")
    assert category_of("S72.001A") == "S72"
    assert pad_placeholder("W19", "A") == "W19.XXXA"
    assert pad_placeholder("T81.31", "a") == "T81.31XA"
    assert pad_placeholder("S72.001", "A") == "S72.001A"
