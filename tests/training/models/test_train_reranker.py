"""Reranker training on a tiny random backbone over real catalog groups."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from app.catalog.store import CatalogStore
from training.data.catalog_view import CatalogView
from training.rerank.groups import NegativeMiner, build_groups
from training.rerank.train import CONFIGS, group_batches, group_card, select_pairs, train

torch = pytest.importorskip("torch")

ROWS = [
    ("fractura de cuello de fémur derecho", "S72.001A", "codiesp-train", "es"),
    ("diabetes tipo 2", "E11.9", "synthetic", "es"),
    ("hipertensión arterial", "I10", "codiesp-train", "es"),
    ("Essential hypertension", "I10", "catalog", "en"),
    ("gonartrosis derecha", "M17.11", "synthetic", "es"),
]


def test_select_pairs_puts_real_mentions_first_and_keeps_spanish() -> None:
    config = replace(CONFIGS["small"], max_groups=3)
    pairs = select_pairs(ROWS, config, random.Random(0))
    assert len(pairs) == 3
    assert [s for _, _, s in pairs[:2]] == ["codiesp-train", "codiesp-train"]
    every = select_pairs(ROWS, replace(config, max_groups=10, spanish_only=False), random.Random(0))
    assert len(every) == 5


def test_dev_rows_are_refused() -> None:
    rows = [*ROWS, ("insuficiencia renal", "N19", "codiesp-dev", "es")]
    with pytest.raises(ValueError, match="codiesp-dev"):
        select_pairs(rows, CONFIGS["small"], random.Random(0))


def test_group_batches_cover_every_group_each_pass() -> None:
    stream = group_batches(list(range(6)), 3, random.Random(0))
    assert sorted(next(stream) + next(stream)) == list(range(6))
    assert len(next(group_batches([1], 4, random.Random(0)))) == 1


def test_train_writes_a_checkpoint_and_log(
    tiny_model_dir: Path, store: CatalogStore, tmp_path: Path
) -> None:
    miner = NegativeMiner(CatalogView.load(store).records.values())
    groups = build_groups([(q, c, s) for q, c, s, _ in ROWS], miner, size=4, kinds=("sibling",))
    card = group_card(groups, ("sibling",))
    assert card["groups"] == 5 and card["codes"] == 4
    assert card["negatives_by_kind"] == {"sibling": sum(len(g.negatives) for g in groups)}
    assert all(0 < len(g.negatives) <= 3 for g in groups)
    config = replace(CONFIGS["small"], steps=6, groups_per_batch=2, layers=1, log_every=2)
    summary = train(groups, tmp_path / "ce", tiny_model_dir, store, config)
    assert summary["device"] == "cpu" and len(summary["loss"]) == 6
    assert all(x > 0 for x in summary["loss"])
    log = json.loads((tmp_path / "ce" / "train_log.json").read_text())
    assert log["config"]["layers"] == 1
    assert (tmp_path / "ce" / "head.safetensors").exists()
