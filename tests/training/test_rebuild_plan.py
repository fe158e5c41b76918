"""The rebuild's step plan: the recipe step and its outputs reach the data and reranker steps
only when a recipe is given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training import rebuild
from training.data import build as data_build
from training.recipe import run as recipe_run
from training.rerank import train as rerank_train


def _capture(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    calls: dict[str, list[str]] = {}
    for name, module in (("data", data_build), ("recipe", recipe_run), ("rerank", rerank_train)):
        monkeypatch.setattr(module, "main", lambda argv, name=name: calls.setdefault(name, argv)
                            and 0)  # fmt: skip
    return calls


def test_without_a_recipe_nothing_is_mixed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = _capture(monkeypatch)
    steps = rebuild.plan("small", tmp_path, tmp_path / "res", tmp_path / "codiesp")
    assert "recipe" not in steps and set(steps) == set(rebuild.STEPS) - {"recipe"}
    steps["data"][1]()
    steps["rerank"][1]()
    assert "--mix" not in calls["data"] and "--groups" not in calls["rerank"]


def test_a_recipe_feeds_the_data_and_reranker_steps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = _capture(monkeypatch)
    recipe = Path("training/recipe/configs/study.toml")
    steps = rebuild.plan("small", tmp_path, tmp_path / "res", tmp_path / "codiesp", recipe)
    assert set(steps) == set(rebuild.STEPS)
    marker, run = steps["recipe"]
    assert marker == tmp_path / "recipe-small" / "data_card.json"
    run()
    assert calls["recipe"][:4] == ["--config", str(recipe), "--out", str(tmp_path / "recipe-small")]
    steps["data"][1]()
    steps["rerank"][1]()
    assert calls["data"][-2:] == ["--mix", str(tmp_path / "recipe-small" / "examples.jsonl")]
    assert calls["rerank"][-2:] == ["--groups", str(tmp_path / "recipe-small" / "groups.jsonl")]


def test_only_steps_this_work_folder_completed_are_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    marker = tmp_path / "committed-output"  # like a fresh clone's resources/manifest.json
    marker.touch()
    ran: list[str] = []

    def fake_plan(config, work, out, codiesp, recipe=None):  # noqa: ANN001, ANN202
        names = [n for n in rebuild.STEPS if n != "recipe" or recipe]
        return {n: (marker, lambda n=n: ran.append(n) or 0) for n in names}

    monkeypatch.setattr(rebuild, "plan", fake_plan)
    monkeypatch.chdir(tmp_path)
    work = ["--work", str(tmp_path / "build")]
    assert rebuild.main(work) == 0
    assert ran == [n for n in rebuild.STEPS if n != "recipe"]
    report = json.loads((tmp_path / "training/reports/rebuild-small.json").read_text())
    assert report["seconds"]["recipe"] == "not configured"
    assert isinstance(report["seconds"]["train"], float)
    ran.clear()
    assert rebuild.main(work) == 0 and ran == []
    assert rebuild.main([*work, "--from", "bundle"]) == 0
    assert ran == list(rebuild.STEPS[rebuild.STEPS.index("bundle") :])
    ran.clear()
    assert rebuild.main([*work, "--recipe", "r.toml"]) == 0  # a new recipe: from there on
    assert ran == list(rebuild.STEPS[rebuild.STEPS.index("recipe") :])
