"""Contrastive fine-tuning on a tiny random model: negatives, batches, a falling loss."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from training.config import with_overrides  # noqa: E402
from training.train_biencoder import (
    CONFIGS,
    SiblingMiner,
    TrainConfig,
    batches,
    cap_per_code,
    contrastive_loss,
    load_examples,
    repeat_sources,
    train,
)

torch = pytest.importorskip("torch")


def test_sibling_negatives_share_the_parent_and_differ(store) -> None:
    miner = SiblingMiner(store)
    rng = random.Random(0)
    for code in ("S72.001A", "I21.19", "E11.21", "J18.9"):
        negatives = miner.negatives(code, 3, rng)
        assert negatives and code not in negatives
        for negative in negatives:
            assert negative[:3] == code[:3]  # same category at least
    same_parent = miner.negatives("S72.001A", 2, rng)
    assert all(store.get(n).parent == store.get("S72.001A").parent for n in same_parent)


def test_batches_never_repeat_a_code() -> None:
    pairs = [(f"q{i}", f"C{i % 5}") for i in range(40)]
    stream = batches(pairs, 4, random.Random(1))
    for _ in range(20):
        batch = next(stream)
        assert len(batch) == 4 and len({code for _, code in batch}) == 4


def test_cap_per_code_limits_frequent_codes() -> None:
    rows = [(f"q{i}", "A00", "s") for i in range(10)] + [("x", "B00", "s")]
    capped = cap_per_code(rows, 3, random.Random(0))
    assert sum(row[1] == "A00" for row in capped) == 3 and ("x", "B00", "s") in capped


def test_repeat_sources_multiplies_only_named_sources() -> None:
    rows = [("a", "A00", "codiesp-train"), ("b", "B00", "catalog")]
    assert repeat_sources(rows, ["codiesp-train=3"]) == [("a", "A00")] * 3 + [("b", "B00")]


def test_matryoshka_loss_is_low_for_aligned_pairs() -> None:
    torch.manual_seed(0)
    q = torch.randn(8, 16)
    aligned = contrastive_loss(q, q.clone(), 0.05, (16, 8))
    shuffled = contrastive_loss(q, q[torch.randperm(8)], 0.05, (16, 8))
    assert aligned < shuffled


def test_overrides_parse_types() -> None:
    config = with_overrides(CONFIGS["small"], ["steps=7", "matryoshka_dims=32,16", "lr=0.001"])
    assert (config.steps, config.matryoshka_dims, config.lr) == (7, (32, 16), 0.001)
    with pytest.raises(SystemExit):
        with_overrides(CONFIGS["small"], ["nonsense=1"])


def test_training_lowers_the_loss_on_a_toy_set(store, tiny_model_dir: Path, tmp_path: Path):
    rows = store.query(
        "SELECT code, title_es FROM codes WHERE title_es_source = 'who' AND kind = 'subcategory' "
        "ORDER BY code LIMIT 12"
    )
    data = tmp_path / "examples.jsonl"
    data.write_text(
        "".join(json.dumps({"query": t, "code": c, "source": "toy"}) + "\n" for c, t in rows)
    )
    assert len(load_examples(data)) == 12 and load_examples(data, ("other",)) == []
    config = replace(
        TrainConfig(), steps=40, batch_size=6, lr=2e-3, warmup=0.05, freeze_layers=0,
        freeze_embeddings=False, matryoshka_dims=(32, 16), log_every=5, max_length=32,
        source_repeat=(),
    )  # fmt: skip
    summary = train(data, tmp_path / "out", tiny_model_dir, store, config)
    assert summary["loss_last"] < summary["loss_first"] * 0.8
    assert (tmp_path / "out" / "model.safetensors").exists()
    assert json.loads((tmp_path / "out" / "train_log.json").read_text())["pairs"] == 12
