"""Edition import: validation with line numbers, and atomic replacement."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.catalog.editions import EditionManager
from app.catalog.importer import read_code_list
from app.catalog.open import catalogs_dir
from app.catalog.store import CatalogStore
from app.cli.main import cli
from app.errors import ImportValidationError
from app.textio import TextFileError

GOOD = (
    "code\tspanish\tenglish\n"
    "I10\tHipertensión esencial (primaria)\tEssential (primary) hypertension\n"
    "I21.4\tInfarto de miocardio sin elevación de ST (IAMSEST)\t\n"
    "S72.001A\tFractura de parte no especificada del cuello de fémur derecho, contacto inicial"
    " por fractura cerrada\t\n"
    "E11.9\tDiabetes mellitus tipo 2 sin complicaciones\n"
)


def _write(tmp_path: Path, text: str, name: str = "edition.tsv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_validation_reports_every_error_with_line_numbers(tmp_path: Path) -> None:
    bad = _write(
        tmp_path,
        "I10\tHipertensión\n"
        "XX1\tMal código\n"
        "I10\tDuplicado\n"
        "U50.1\tSin categoría\n"
        "E11.9\n"
        "E11.8\t\n",
    )
    with pytest.raises(ImportValidationError) as info:
        from app.catalog.recipes import load_edition_entries

        load_edition_entries(bad)
    messages = dict(info.value.errors)
    assert "invalid code syntax" in messages[2]
    assert "duplicate code I10 (first on line 1)" in messages[3]
    assert "expected 2 or 3 columns" in messages[5]
    assert "empty Spanish title" in messages[6]
    # parents are checked once the syntax is clean
    only_parent = _write(tmp_path, "I10\tHipertensión\nU50.1\tSin categoría\n", "p.tsv")
    with pytest.raises(ImportValidationError, match="line 2: U50.1: unknown parent"):
        load_edition_entries(only_parent)


def test_encoding_error_names_the_line(tmp_path: Path) -> None:
    latin = _write(tmp_path, "I10\tHipertensión\n", encoding="latin-1")
    with pytest.raises(TextFileError, match=r"line 1, byte offset 14: not valid utf-8"):
        read_code_list(latin)
    rows = read_code_list(latin, encoding="latin-1")
    assert rows[0].title_es == "Hipertensión"


def test_csv_layout(tmp_path: Path) -> None:
    rows = read_code_list(_write(tmp_path, 'i10,"Hipertensión, esencial"\n', "e.csv"))
    assert (rows[0].code, rows[0].title_es) == ("I10", "Hipertensión, esencial")


def test_import_activates_new_edition(tmp_path: Path, data_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["catalog", "import", str(_write(tmp_path, GOOD)), "--edition", "cie10es-test"]
    )
    assert result.exit_code == 0, result.output
    active = EditionManager(catalogs_dir(data_dir)).active()
    assert active.edition == "cie10es-test"
    store = CatalogStore(active.path)
    i10 = store.get("I10")
    assert (i10.title_es, i10.title_es_source, i10.valid) == (
        "Hipertensión esencial (primaria)", "edition", True)
    assert store.get("I21.4").title_en == "Non-ST elevation (NSTEMI) myocardial infarction"
    # base-only intermediate nodes keep the hierarchy whole; they are not valid
    assert [a.code for a in store.ancestors("S72.001A")] == [
        "19", "S70-S79", "S72", "S72.0", "S72.00", "S72.001"]
    assert not store.get("S72.0").valid and store.get("S72.001A").valid
    assert store.find("S72.002A") is None
    info = runner.invoke(cli, ["catalog", "info", "--json"])
    assert '"edition": "cie10es-test"' in info.output


def test_malformed_file_leaves_previous_catalog(tmp_path: Path, data_dir: Path) -> None:
    manager = EditionManager(catalogs_dir(data_dir))
    before = manager.active()
    bad = _write(tmp_path, "I10\tHipertensión\nI10\tDuplicado\n")
    result = CliRunner().invoke(cli, ["catalog", "import", str(bad), "--edition", "broken"])
    assert result.exit_code == 1
    assert "line 2: duplicate code I10" in result.output
    assert manager.active() == before
    assert CatalogStore(before.path).get("S72.001A").valid


def test_exception_mid_build_leaves_previous_catalog(data_dir: Path) -> None:
    manager = EditionManager(catalogs_dir(data_dir))
    before = manager.active()

    def crashing_builder(path: Path):
        path.write_bytes(b"SQLite format 3\x00 half written")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        manager.install("crash", crashing_builder)
    assert manager.active() == before
    assert not list(manager.root.glob("*.building"))


def test_killed_process_mid_build_leaves_previous_catalog(data_dir: Path) -> None:
    manager = EditionManager(catalogs_dir(data_dir))
    before = manager.active()
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from app.catalog.editions import EditionManager\n"
        "def slow(path: Path):\n"
        "    path.write_bytes(b'partial')\n"
        "    time.sleep(60)\n"
        f"EditionManager(Path({str(manager.root)!r})).install('killed', slow)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    deadline = time.monotonic() + 30
    while not list(manager.root.glob("*.building")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(manager.root.glob("*.building")), "the child never started building"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert manager.active() == before
    assert CatalogStore(before.path).get("I10").valid
    # the next build clears the leftover
    manager._remove_leftovers()
    assert not list(manager.root.glob("*.building"))


def test_bad_edition_name(tmp_path: Path, data_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["catalog", "import", str(_write(tmp_path, GOOD)), "--edition", "../evil"]
    )
    assert result.exit_code != 0
    assert "invalid edition name" in result.output


TINY_TABULAR = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <chapter>
    <name>9</name>
    <desc>Diseases of the circulatory system (I00-I99)</desc>
    <section id="I10-I1A">
      <desc>Hypertensive diseases (I10-I1A)</desc>
      <diag>
        <name>I10</name>
        <desc>Essential (primary) hypertension</desc>
        <inclusionTerm><note>High blood pressure</note></inclusionTerm>
      </diag>
      <diag>
        <name>I11</name>
        <desc>Hypertensive heart disease</desc>
        <diag><name>I11.0</name><desc>Hypertensive heart disease with heart failure</desc></diag>
        <diag><name>I11.9</name><desc>Hypertensive heart disease without heart failure</desc></diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""


def test_tabular_xml_edition(tmp_path: Path, data_dir: Path) -> None:
    xml = _write(tmp_path, TINY_TABULAR, "tabular.xml")
    result = CliRunner().invoke(cli, ["catalog", "import", str(xml), "--edition", "mini-xml"])
    assert result.exit_code == 0, result.output
    store = CatalogStore(EditionManager(catalogs_dir(data_dir)).active().path)
    assert store.edition == "mini-xml"
    assert store.get("I11.9").valid and not store.get("I11").valid
    assert store.get("I10").title_es == "Hipertensión esencial (primaria)"  # WHO, agreeing
    assert store.report["codes_by_kind"] == {"block": 1, "category": 2, "chapter": 1,
                                             "subcategory": 2}


def test_tabular_xml_with_duplicates_is_rejected(tmp_path: Path, data_dir: Path) -> None:
    dup = TINY_TABULAR.replace("<name>I11.9</name>", "<name>I11.0</name>")
    xml = _write(tmp_path, dup, "dup.xml")
    result = CliRunner().invoke(cli, ["catalog", "import", str(xml), "--edition", "dup"])
    assert result.exit_code == 1
    assert "duplicate code I11.0" in result.output
    assert EditionManager(catalogs_dir(data_dir)).active().edition == "icd10cm-2026"


def test_suggested_edition_names_are_valid() -> None:
    from app.catalog.editions import suggest_edition_name, validate_edition_name

    assert suggest_edition_name(Path("CIE 10 ES 2024.tsv")) == "CIE-10-ES-2024"
    assert suggest_edition_name(Path("catálogo_año.csv")) == "catalogo_ano"
    assert suggest_edition_name(Path("¿¿.xml")) == "importado"
    for name in ("x" * 80 + ".tsv", "-a b-.tsv"):
        validate_edition_name(suggest_edition_name(Path(name)))
