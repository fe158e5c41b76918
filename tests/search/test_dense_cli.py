"""The CLI with the vector index: ``--retriever``, ``cielo catalog embed``, ``catalog info``
and ``catalog import`` (the small catalog and its index from this folder's conftest)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.catalog.editions import EditionManager
from app.catalog.open import catalogs_dir
from app.cli.catalog import EMBED_DTYPES
from app.cli.main import cli
from app.search.vector_index import DTYPES


def _install(root: Path, catalog: Path, edition: str = "small-test") -> None:
    EditionManager(catalogs_dir(root)).install(edition, lambda path: shutil.copyfile(catalog, path))


@pytest.fixture()
def small_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_catalog: Path, small_resources: Path
) -> Path:
    """A data folder whose active catalog is the small one; resources with its index."""
    root = tmp_path / "data"
    monkeypatch.setenv("CIELO_DATA_DIR", str(root))
    monkeypatch.setenv("CIELO_RESOURCES", str(small_resources))
    _install(root, small_catalog)
    return root


@pytest.fixture()
def no_index_env(monkeypatch: pytest.MonkeyPatch, small_env: Path, make_resources) -> Path:
    """As ``small_env`` but the resources folder has no index."""
    monkeypatch.setenv("CIELO_RESOURCES", str(make_resources()))
    return small_env


def _search(*args: str) -> tuple[int, dict | None, str]:
    result = CliRunner().invoke(cli, ["search", *args, "--json"])
    data = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, data, result.stderr


@pytest.mark.parametrize(
    ("retriever", "allowed"),
    [
        ("bm25", {"alias", "bm25"}),
        ("dense", {"alias", "dense"}),
        # the learned ranker adds alias neighbours and the codes it grows from candidates
        ("hybrid", {"alias", "bm25", "dense", "neighbour", "completion", "descendant",
                    "variant"}),
    ],
)
def test_retriever_option(small_env: Path, retriever: str, allowed: set[str]) -> None:
    code, data, stderr = _search("neumonía", "--retriever", retriever, "-k", "10")
    assert code == 0, stderr
    used = {name for r in data["results"] for name in r["retrievers"]}
    assert used and used <= allowed
    assert "note:" not in stderr


def test_dense_without_aliases_is_dense_only(small_env: Path) -> None:
    code, data, _ = _search("HTA", "--retriever", "dense", "--no-aliases", "-k", "3")
    assert code == 0
    assert {tuple(r["retrievers"]) for r in data["results"]} == {("dense",)}


def test_unknown_retriever_is_a_usage_error(small_env: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "x", "--retriever", "magic"])
    assert result.exit_code == 2


def test_mismatch_fails_dense_and_notes_hybrid(no_index_env: Path) -> None:
    code, _, stderr = _search("neumonía", "--retriever", "dense")
    assert code == 1
    assert "cielo catalog embed" in stderr and "Traceback" not in stderr
    code, data, stderr = _search("neumonía")
    assert code == 0 and data["results"]
    assert stderr.count("note:") == 1 and "Searching with BM25 + aliases" in stderr
    assert all("dense" not in r["retrievers"] for r in data["results"])


def test_code_mentions_with_each_retriever(small_env: Path) -> None:
    for retriever in ("bm25", "dense", "hybrid"):
        result = CliRunner().invoke(
            cli, ["code-mentions", "-", "--retriever", retriever, "-k", "2"], input="HTA\n\n"
        )
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["mention"] for r in lines] == ["HTA", ""]
        assert lines[0]["candidates"] and lines[1]["candidates"] == []


def test_info_shows_the_index_status(small_env: Path) -> None:
    result = CliRunner().invoke(cli, ["catalog", "info", "--json"])
    assert result.exit_code == 0, result.output
    index = json.loads(result.stdout)["vector_index"]
    assert index["status"] == "bundled" and index["count"] > 0
    text = CliRunner().invoke(cli, ["catalog", "info"]).stdout
    assert "vector index: bundled, serves this catalog" in text


def test_embed_builds_a_user_index_that_search_then_uses(no_index_env: Path) -> None:
    runner = CliRunner()
    info = json.loads(runner.invoke(cli, ["catalog", "info", "--json"]).stdout)["vector_index"]
    assert info["status"] == "missing" and "cielo catalog embed" in info["reason"]
    result = runner.invoke(cli, ["catalog", "embed", "--json"])
    assert result.exit_code == 0, result.output
    built = json.loads(result.stdout)
    assert built["built"] is True and built["dtype"] == "i8"
    assert Path(built["path"]).parent == no_index_env / "indexes"
    info = json.loads(runner.invoke(cli, ["catalog", "info", "--json"]).stdout)["vector_index"]
    assert info["status"] == "user"
    code, data, _ = _search("neumonía", "--retriever", "dense")
    assert code == 0 and data["results"]
    again = runner.invoke(cli, ["catalog", "embed"])
    assert again.exit_code == 0 and "nothing to do" in again.stderr


def test_embed_f16_to_an_output_folder(small_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle-index"
    result = CliRunner().invoke(
        cli, ["catalog", "embed", "--dtype", "f16", "--output", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["dtype"] == "f16"
    assert (out / "index.json").is_file()


def test_embed_choices_match_the_index_dtypes() -> None:
    assert EMBED_DTYPES == DTYPES


TINY_EDITION = "I10\tHipertensión arterial esencial\nJ18.9\tNeumonía, no especificada\n"


def test_import_says_the_index_does_not_serve_the_new_edition(
    no_index_env: Path, tmp_path: Path
) -> None:
    source = tmp_path / "edition.tsv"
    source.write_text(TINY_EDITION, encoding="utf-8")
    result = CliRunner().invoke(cli, ["catalog", "import", str(source), "--edition", "tiny"])
    assert result.exit_code == 0, result.output
    assert "cielo catalog embed" in result.stderr and "--embed" in result.stderr


def test_import_with_embed_builds_the_index(small_env: Path, tmp_path: Path) -> None:
    source = tmp_path / "edition.tsv"
    source.write_text(TINY_EDITION, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["catalog", "import", str(source), "--edition", "tiny", "--embed"])
    assert result.exit_code == 0, result.output
    assert "vector index for tiny" in result.stderr
    info = json.loads(runner.invoke(cli, ["catalog", "info", "--json"]).stdout)
    assert info["edition"] == "tiny" and info["vector_index"]["status"] == "user"
    code, data, stderr = _search("neumonía", "--retriever", "dense", "-k", "3")
    assert code == 0, stderr
    assert "J18.9" in [r["code"] for r in data["results"]]
