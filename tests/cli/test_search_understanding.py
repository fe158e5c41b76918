"""`cielo search` says what it corrected and which lay terms it read (text and JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from app.cli.main import cli

LEXICAL = ["--retriever", "bm25", "--no-rerank"]


def test_search_json_has_the_correction_beside_the_query(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "cefalea tensinal", "--json", *LEXICAL])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data)[:4] == ["query", "corrected", "corrections", "lay_terms"]
    assert data["query"] == "cefalea tensinal"
    assert data["corrected"] == "cefalea tensional"
    assert data["corrections"] == [
        {"word": "tensinal", "start": 8, "end": 16, "suggestion": "tensional", "distance": 1}
    ]
    assert data["results"][0]["code"].startswith("G44.2")


def test_search_json_lists_lay_terms(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "culebrilla", "--json", *LEXICAL])
    data = json.loads(result.stdout)
    assert data["corrected"] is None and data["corrections"] == []
    assert data["lay_terms"] == [{"term": "culebrilla", "clinical": ["herpes zóster"]}]
    assert data["results"][0]["code"].startswith("B02")


def test_search_text_says_did_you_mean_first(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "hipotiroidsmo", "-k", "3", *LEXICAL])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "¿Quería decir «hipotiroidismo»? (se ha buscado también)"
    assert "E03" in lines[1]


def test_search_text_without_slips_has_no_note(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "hipotiroidismo", "-k", "1", *LEXICAL])
    assert result.stdout.splitlines()[0].lstrip().startswith("1. E03")
