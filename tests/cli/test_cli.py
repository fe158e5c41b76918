"""The ``cielo`` command: JSON schemas, ordering, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from app.cli.main import cli


def test_search_json(data_dir: Path) -> None:
    args = ["search", "fractura del cuello del fémur", "--json", "-k", "3"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == "fractura del cuello del fémur"
    assert len(data["results"]) == 3
    first = data["results"][0]
    assert first["code"].startswith("S72.0")
    assert {"code", "title_es", "title_en", "chapter", "category", "valid", "score"} <= set(first)


def test_search_text_output(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "t81.31xa"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split()[1] == "T81.31XA"


def test_code_mentions_schema_and_order(data_dir: Path, tmp_path: Path) -> None:
    mentions = ["HTA", "", "fractura del cuello del fémur", "NOT (", "diabetes mellitus tipo 2"]
    infile = tmp_path / "m.txt"
    infile.write_text("\n".join(mentions) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["code-mentions", str(infile), "-k", "4", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["mention"] for r in lines] == mentions
    assert lines[1]["candidates"] == []
    assert lines[0]["candidates"][0]["code"] == "I10"
    for record in lines:
        assert set(record) == {"mention", "candidates"}
        assert len(record["candidates"]) <= 4
        for cand in record["candidates"]:
            assert set(cand) == {"code", "title_es", "title_en", "score"}
            assert isinstance(cand["score"], float)


def test_code_mentions_stdin(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["code-mentions", "-"], input="I10\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["candidates"][0]["code"] == "I10"


def test_lookup(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["lookup", "i21.4", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["code"] == "I21.4" and data["valid"] is True
    assert [p["code"] for p in data["path"]] == ["9", "I20-I25", "I21"]
    assert {"kind": "excludes2", "text": "old myocardial infarction (I25.2)", "from": "I21"} in (
        data["notes"])
    text = CliRunner().invoke(cli, ["lookup", "T81.31"])
    assert "no válido" in text.stdout and "T81.31XA" in text.stdout


def test_lookup_text_layout(data_dir: Path) -> None:
    lines = CliRunner().invoke(cli, ["lookup", "T81.31"]).stdout.splitlines()
    assert lines[:4] == [
        "19 > T07-T88 > T80-T88 > T81 > T81.3 > T81.31",
        "T81.31  no válido: elija un código más específico",
        "  es: Complicaciones de procedimientos, no clasificadas en otra parte (título de T81)",
        "  en: Disruption of external operation (surgical) wound, not elsewhere classified",
    ]
    assert "  excludes1: dehiscence of amputation stump (T87.81)" in lines
    assert lines[-4:] == [
        "  7º carácter: A = initial encounter; D = subsequent encounter; S = sequela",
        "  - T81.31XA  Complicaciones de procedimientos, no clasificadas en otra parte",
        "  - T81.31XD  Complicaciones de procedimientos, no clasificadas en otra parte",
        "  - T81.31XS  Complicaciones de procedimientos, no clasificadas en otra parte",
    ]


def test_unknown_code_is_a_clean_error(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["lookup", "Z99.999"])
    assert result.exit_code == 1
    assert "Error: Z99.999 is not in catalog edition" in result.output
    assert "Traceback" not in result.output


def test_corrupt_catalog_is_a_clean_error(data_dir: Path) -> None:
    from app.catalog.editions import EditionManager
    from app.catalog.open import catalogs_dir

    active = EditionManager(catalogs_dir(data_dir)).active()
    active.path.write_bytes(b"this is not sqlite" * 100)
    result = CliRunner().invoke(cli, ["search", "hta"])
    assert result.exit_code == 1
    assert "not a Cielo catalog" in result.output


def test_catalog_info(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["catalog", "info", "--json"])
    data = json.loads(result.stdout)
    assert data["edition"] == "icd10cm-2026"
    assert data["codes_by_kind"]["chapter"] == 22


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "cielo" in result.output
