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
        assert set(record) == {"mention", "abstained", "candidates"}
        assert record["abstained"] is False
        assert len(record["candidates"]) <= 4
        for cand in record["candidates"]:
            assert set(cand) == {
                "code", "title_es", "title_en", "valid", "score", "confidence", "confidence_level"
            }
            assert isinstance(cand["score"], float)
            assert 0.0 < cand["confidence"] < 1.0
            assert cand["confidence_level"] in {"alta", "media", "baja"}


def test_min_confidence_abstains_and_keeps_confident_codes(data_dir: Path) -> None:
    text = "HTA\nsíndrome raro inespecífico de algo\n"
    plain = CliRunner().invoke(cli, ["code-mentions", "-", "-k", "10"], input=text)
    rows = [json.loads(line) for line in plain.stdout.splitlines()]
    least = min(c["confidence"] for r in rows for c in r["candidates"])
    most = max(c["confidence"] for r in rows for c in r["candidates"])
    threshold = (least + most) / 2
    args = ["code-mentions", "-", "-k", "10", "--min-confidence", str(threshold)]
    result = CliRunner().invoke(cli, args, input=text)
    assert result.exit_code == 0, result.output
    kept = [json.loads(line) for line in result.stdout.splitlines()]
    for before, after in zip(rows, kept, strict=True):
        expected = [c for c in before["candidates"] if c["confidence"] >= threshold]
        assert after["candidates"] == expected
        assert after["abstained"] is (not expected)
    everything = CliRunner().invoke(
        cli, ["code-mentions", "-", "--min-confidence", "1"], input=text
    )
    assert all(json.loads(line)["abstained"] for line in everything.stdout.splitlines())


def test_no_rerank_is_the_first_stage_with_its_own_confidence(
    data_dir: Path, with_reranker: Path
) -> None:
    query = ["search", "fractura de cuello de fémur derecho", "--json", "-k", "5"]
    fast = json.loads(CliRunner().invoke(cli, [*query, "--no-rerank"]).stdout)["results"]
    full = json.loads(CliRunner().invoke(cli, query).stdout)["results"]
    assert all("rerank" not in r["retrievers"] for r in fast)
    assert all(r["confidence"] is not None and "rerank" in r["retrievers"] for r in full)
    assert all(0 < r["confidence"] < 1 for r in fast)  # from resources/calibration.json
    lexical = CliRunner().invoke(
        cli, ["code-mentions", "-", "--no-rerank", "--retriever", "bm25", "--min-confidence",
              "0.5"], input="HTA\n",  # fmt: skip
    )
    assert lexical.exit_code == 1 and "needs a calibrated confidence" in lexical.output


def test_search_json_explains_and_completes(data_dir: Path) -> None:
    args = ["search", "fractura de cuello de fémur derecho, contacto sucesivo", "--json"]
    results = json.loads(CliRunner().invoke(cli, args).stdout)["results"]
    for r in results:
        assert r["explanation"]["code"] == r["code"]
        words = [m["word"] for m in r["explanation"]["matches"]]
        assert r["matched_terms"] == list(dict.fromkeys(words))
        if r["valid"]:
            assert r["completion"] is None
    # the learned ranker lists the full code itself, completed from the episode words
    assert results[0]["valid"] and results[0]["code"].startswith("S72.0")
    assert results[0]["code"][-1] == "D"
    typed = json.loads(CliRunner().invoke(cli, ["search", "s72.001", "--json"]).stdout)
    first = typed["results"][0]
    assert first["code"] == "S72.001" and not first["valid"]
    assert first["completion"]["code"] == "S72.001A"  # ICD-10-CM's default: initial, closed
    assert first["completion"]["read_from_query"] is False


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
        "  7º carácter: A = contacto inicial; D = contacto sucesivo; S = secuela",
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
