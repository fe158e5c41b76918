"""A whole recipe run on the real catalog with the deterministic backend: outputs, the data
card, curation, groups, the review round trip, and refusing to resume another config."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from app.catalog.store import CatalogStore
from app.paths import resources_dir
from app.search.encoder import TextEncoder
from training.data.examples import read_examples
from training.recipe import run as recipe_run
from training.recipe.config import parse_config
from training.recipe.review import ReviewError, read_rejections

RECIPE = """
[run]
seed = 5
chapters = ["9", "19"]
codes_per_chapter = 12
languages = ["es", "en", "fr"]

[backend]
kind = "deterministic"

[curation]
agreement = true
agreement_k = 7
review_per_cell = 3
"""


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder(resources_dir() / "model")


def _run(out: Path, store: CatalogStore, encoder: TextEncoder, **kwargs: object) -> dict:
    config = parse_config(RECIPE)
    recipe_run.prepare(out, config, RECIPE, restart=False)
    return recipe_run.run(out, config, store, encoder=encoder, progress=False, **kwargs)


def test_a_run_writes_examples_groups_review_and_card(
    tmp_path: Path, store: CatalogStore, encoder: TextEncoder
) -> None:
    card = _run(tmp_path, store, encoder)
    examples = list(read_examples(tmp_path / "examples.jsonl"))
    assert len(examples) == card["examples"] > 20
    assert {e.source for e in examples} == {"recipe"}
    assert {e.lang for e in examples} == {"es", "en"}
    assert card["candidates"]["total"] - card["dropped_total"] == card["examples"]
    assert card["dropped"]["equals_title"] > 0  # own Spanish titles are not mentions
    assert card["recipe"]["tasks"]["unsupported_by_language"]["fr"] == 24
    assert card["recipe"]["tasks"]["failed"] == 0
    assert set(card["counts"]["chapter"]) == {"9", "19"}
    groups = [json.loads(line) for line in (tmp_path / "groups.jsonl").open(encoding="utf-8")]
    assert len(groups) == card["recipe"]["groups"]["count"] > 0
    spanish = {(e.query, e.code) for e in examples if e.lang == "es"}
    for group in groups:
        assert (group["query"], group["positive"]) in spanish
        codes = [n["code"] for n in group["negatives"]]
        assert group["positive"] not in codes and len(codes) == len(set(codes))
    flipped = [g for g in groups if g["negatives"][0]["kind"] == "flipped"]
    assert flipped, "hard negatives lead their groups"
    assert (tmp_path / "recipe.toml").read_text(encoding="utf-8") == RECIPE
    assert json.loads((tmp_path / "run.json").read_text())["config"]["run"]["seed"] == 5
    assert "## Recipe" in (tmp_path / "data_card.md").read_text(encoding="utf-8")
    html = (tmp_path / "review" / "sample.html").read_text(encoding="utf-8")
    with (tmp_path / "review" / "sample.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert 0 < len(rows) <= 3 * 2 * 2  # at most 3 per chapter and language
    assert all(r["mention"] in html or "&" in r["mention"] for r in rows)


def test_the_same_run_again_generates_nothing_and_writes_the_same_files(
    tmp_path: Path, store: CatalogStore, encoder: TextEncoder
) -> None:
    _run(tmp_path, store, encoder)
    first = (tmp_path / "examples.jsonl").read_bytes(), (tmp_path / "groups.jsonl").read_bytes()
    card = _run(tmp_path, store, encoder)
    assert card["recipe"]["generation"]["generated"] == 0
    assert card["recipe"]["generation"]["resumed"] == card["recipe"]["tasks"]["planned"]
    assert first == ((tmp_path / "examples.jsonl").read_bytes(),
                     (tmp_path / "groups.jsonl").read_bytes())  # fmt: skip


def test_rejections_are_dropped_and_fed_back_to_the_prompts(
    tmp_path: Path, store: CatalogStore, encoder: TextEncoder
) -> None:
    _run(tmp_path, store, encoder)
    review = tmp_path / "review" / "sample.csv"
    with review.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rejected = next(r for r in rows if r["style"] != "hard_negative")
    rejected["verdict"] = "reject"
    reviewed = tmp_path / "reviewed.csv"
    with reviewed.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    card = _run(tmp_path, store, encoder, rejections=[reviewed])
    assert card["recipe"]["review"] == {"sampled": card["recipe"]["review"]["sampled"],
                                        "reviewed_rows_read": len(rows), "rejected": 1}  # fmt: skip
    assert card["recipe"]["generation"]["generated"] == 1  # that code's prompt changed
    kept = {(e.query, e.code) for e in read_examples(tmp_path / "examples.jsonl")}
    assert (rejected["mention"], rejected["code"]) not in kept
    assert any(name.startswith("rejections/") for name in card["inputs"])


def test_a_review_with_an_unknown_verdict_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("mention,code,language,verdict\nIAM,I21.9,es,maybe\n", encoding="utf-8")
    with pytest.raises(ReviewError, match=r"r.csv:2: verdict 'maybe'"):
        read_rejections(path)
    path.write_text("mention,code\nIAM,I21.9\n", encoding="utf-8")
    with pytest.raises(ReviewError, match="missing column"):
        read_rejections(path)


def test_a_folder_of_another_config_is_not_resumed(tmp_path: Path) -> None:
    recipe_run.prepare(tmp_path, parse_config(RECIPE), RECIPE, restart=False)
    (tmp_path / "generated.jsonl").write_text("{}\n", encoding="utf-8")
    other = RECIPE.replace("seed = 5", "seed = 6")
    with pytest.raises(recipe_run.RunError, match="another run/backend configuration"):
        recipe_run.prepare(tmp_path, parse_config(other), other, restart=False)
    recipe_run.prepare(tmp_path, parse_config(other), other, restart=True)
    assert not (tmp_path / "generated.jsonl").exists()


def test_the_command_line_reports_a_bad_config(
    tmp_path: Path, catalog_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[backend]\nkind = "endpoint"\nurl = "http://8.8.8.8/v1"\nmodel = "m"\n')
    args = ["--config", str(bad), "--out", str(tmp_path / "out"), "--catalog", str(catalog_path)]
    assert recipe_run.main([*args, "--no-progress"]) == 2
    assert "outside loopback and private networks" in caplog.text
