"""The example record and its JSON Lines file."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.data.examples import Example, example_to_json, read_examples, write_examples


def test_round_trip_keeps_fields_order_and_unicode(tmp_path: Path) -> None:
    examples = [
        Example("Fractura del cuello de fémur", "S72.0", "es", "catalog", "title"),
        Example('ataque "al" corazón', "I21.9", "es", "synthetic", "lay_term"),
    ]
    path = tmp_path / "out" / "examples.jsonl"
    assert write_examples(path, examples) == 2
    assert list(read_examples(path)) == examples
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == example_to_json(examples[0])
    assert first.startswith('{"query":"Fractura del cuello de fémur","code":"S72.0"')


def test_write_is_atomic_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "examples.jsonl"
    write_examples(path, [Example("HTA", "I10", "es", "synthetic", "abbreviation")])

    def broken():
        yield Example("IAM", "I21.9", "es", "synthetic", "abbreviation")
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError):
        write_examples(path, broken())
    assert [e.query for e in read_examples(path)] == ["HTA"]  # old file untouched
    assert [p.name for p in tmp_path.iterdir()] == ["examples.jsonl"]  # no temp left


def test_read_rejects_wrong_keys(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"query": "x", "code": "I10"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        list(read_examples(path))
