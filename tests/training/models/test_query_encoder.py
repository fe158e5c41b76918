"""The query encoder's asymmetric fine-tuning on tiny models: dequantising, the two-tower
export, the leakage guard, and a run killed mid-way that resumes where its checkpoint left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.search.encoder import TextEncoder
from training.data.sources.codiesp import LeakageError
from training.export import export, export_towers

torch = pytest.importorskip("torch")

TEXTS = ["fractura del cuello del fémur derecho", "infarto agudo de miocardio", "diabetes tipo"]
CODES = [
    "S72.001A",
    "S72.002A",
    "I21.9",
    "I21.4",
    "E11.9",
    "E10.9",
    "I10",
    "J18.9",
    "J44.1",
    "N18.30",
    "R07.9",
    "R07.89",
    "K80.00",
    "B02.9",
    "K64.9",
    "E03.9",
    "G44.209",
    "A09",
]


@pytest.fixture(scope="module")
def checkpoint(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with distinct weights, as a BertModel checkpoint directory."""
    from transformers import BertModel

    model = perturbed(BertModel.from_pretrained(tiny_model_dir, add_pooling_layer=False))
    out = tmp_path_factory.mktemp("tiny-distinct")
    model.save_pretrained(out)
    (out / "tokenizer.json").write_bytes((tiny_model_dir / "tokenizer.json").read_bytes())
    return out


@pytest.fixture(scope="module")
def init_dir(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny int8 encoder directory, as the bundle ships one."""
    return export(checkpoint, tmp_path_factory.mktemp("init"), "qint8-pc-emb", max_length=32)


def perturbed(model, layers=None):
    """Distinct weights (a fresh tiny model's zero biases are equal, and the exporter merges
    equal tensors; trained models have none)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for weight in (layers or model).parameters():
            weight.add_(torch.randn_like(weight) * 0.05)
    return model.eval()


@pytest.fixture(scope="module")
def index_dir(init_dir: Path, store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A USearch index over a few real codes, embedded by the tiny encoder's passage side."""
    import onnxruntime  # noqa: F401  (before usearch)
    from usearch.index import Index

    from app.search.passages import passage_text

    out = tmp_path_factory.mktemp("index")
    records = store.get_many(CODES)
    vectors = TextEncoder(init_dir).encode([passage_text(records[c]) for c in CODES], "passage")
    index = Index(ndim=vectors.shape[1], metric="cos", dtype="i8")
    index.add(np.arange(len(CODES), dtype=np.uint64), vectors)
    index.save(str(out / "vectors.usearch"))
    (out / "keys.txt").write_text("\n".join(CODES) + "\n", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def examples(store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = []
    for code, record in store.get_many(CODES).items():
        rows.append({"query": (record.title_es or record.title_en).lower(), "code": code,
                     "lang": "es", "source": "catalog", "style": "title"})  # fmt: skip
        rows.append({"query": record.title_en, "code": code, "lang": "en",
                     "source": "catalog", "style": "title"})  # fmt: skip
    rows.append({"query": "fractura de cadera dcha", "code": "S72.001A", "lang": "es",
                 "source": "codiesp-train", "style": "mention"})  # fmt: skip
    path = tmp_path_factory.mktemp("data") / "examples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_dequantised_weights_reproduce_the_shipped_encoder(init_dir: Path, checkpoint: Path):
    from transformers import BertModel

    from training.dequantize import load_bert

    original = BertModel.from_pretrained(checkpoint, add_pooling_layer=False)
    restored = load_bert(init_dir / "encoder.onnx")
    assert restored.config.num_attention_heads == original.config.num_attention_heads
    for name, weight in original.state_dict().items():
        if name.endswith("position_ids"):
            continue
        back = restored.state_dict()[name]
        scale = float(weight.abs().max()) / 127  # int8 step of that tensor at most
        assert torch.allclose(back, weight, atol=scale + 1e-6), name


def test_two_tower_file_runs_each_tower(init_dir: Path, tiny_model_dir: Path, tmp_path: Path):
    from transformers import BertModel

    passage = BertModel.from_pretrained(tiny_model_dir, add_pooling_layer=False).eval()
    perturbed(passage)
    query = BertModel.from_pretrained(tiny_model_dir, add_pooling_layer=False).eval()
    query.load_state_dict(passage.state_dict())
    perturbed(query, query.encoder.layer[1])
    towers = TextEncoder(export_towers(query, passage, init_dir, tmp_path / "towers", 1))
    query_alone = TextEncoder(export_single(query, init_dir, tmp_path / "query"))
    passage_alone = TextEncoder(export_single(passage, init_dir, tmp_path / "passage"))
    assert towers.two_towers and not passage_alone.two_towers
    # each side is its own model's, as a one-tower export of it computes it
    assert (
        cosines(towers.encode(TEXTS, "passage"), passage_alone.encode(TEXTS, "passage")).min()
        > 0.9999
    )
    assert cosines(towers.encode(TEXTS, "query"), query_alone.encode(TEXTS, "query")).min() > 0.9999
    assert (
        cosines(towers.encode(TEXTS, "query"), passage_alone.encode(TEXTS, "query")).min() < 0.999
    )
    # the query path is fused as the one-tower file is (its skip layer norms need the
    # exporter's shapes, and fusions inside an If branch are fewer)
    assert fused_ops(tmp_path / "towers", tmp_path) == fused_ops(tmp_path / "query", tmp_path)
    single = (tmp_path / "passage" / "encoder.onnx").stat().st_size
    assert (tmp_path / "towers" / "encoder.onnx").stat().st_size < 2 * single
    assert json.loads((tmp_path / "towers" / "encoder.json").read_text())["towers"] == {
        "query_layers_tuned": 1,
        "shared_layers": 1,
    }


def fused_ops(encoder_dir: Path, tmp_path: Path) -> int:
    """SkipLayerNormalization nodes of the main graph after onnxruntime's optimisations."""
    import onnx
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    onnxruntime.InferenceSession(str(encoder_dir / "encoder.onnx"), options,
                                 providers=["CPUExecutionProvider"])  # fmt: skip
    graph = onnx.load(str(tmp_path / "optimised.onnx")).graph
    return sum(node.op_type == "SkipLayerNormalization" for node in graph.node)


def export_single(model, init_dir: Path, out: Path) -> Path:
    from training.export import export_fp32, quantize

    out.mkdir()
    export_fp32(model, out / "fp32.onnx")
    quantize(out / "fp32.onnx", out / "encoder.onnx", "qint8-pc-emb")
    for name in ("tokenizer.json", "encoder.json"):
        (out / name).write_bytes((init_dir / name).read_bytes())
    return out


def test_dev_or_test_mentions_never_reach_training(tmp_path: Path) -> None:
    from training.train_query_encoder import QueryConfig, training_texts

    leaked = tmp_path / "examples.jsonl"
    leaked.write_text(json.dumps({"query": "x", "code": "I10", "lang": "es",
                                  "source": "codiesp-dev", "style": "mention"}) + "\n")  # fmt: skip
    with pytest.raises(LeakageError):
        training_texts(leaked, {"I10": 0}, QueryConfig())
    named = tmp_path / "devX_examples.jsonl"
    named.write_text("")
    with pytest.raises(LeakageError):
        training_texts(named, {"I10": 0}, QueryConfig())


def run_command(init_dir: Path, index_dir: Path, data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "training.train_query_encoder", "--data", str(data),
            "--out", str(out), "--init", str(init_dir), "--index", str(index_dir), "--set",
            "epochs=2", "batch_size=4", "checkpoint_minutes=0", "trainable_layers=1",
            "dims=32,16", "threads=1", "max_length=32", "other_languages=8", "lr=1e-3",
            "dev_limit=200"]  # fmt: skip


def test_killed_run_resumes_from_its_checkpoint(
    init_dir: Path, index_dir: Path, examples: Path, data_dir: Path, tmp_path: Path
) -> None:
    from training.train_query_encoder import BEST_FILE, CHECKPOINT_FILE, LOG_FILE, export_run

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(run_command(init_dir, index_dir, examples, whole), env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip

    process = subprocess.Popen(run_command(init_dir, index_dir, examples, killed), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.time() + 240
    while not (killed / CHECKPOINT_FILE).exists() and time.time() < deadline:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (
        not (killed / LOG_FILE).exists()
        or json.loads((killed / LOG_FILE).read_text())["epochs_done"] < 2
    )
    resumed = subprocess.run(run_command(init_dir, index_dir, examples, killed), env=env,
                             check=True, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert "resumed at epoch" in resumed.stderr

    logs = [json.loads((d / LOG_FILE).read_text()) for d in (whole, killed)]
    assert logs[0]["epochs_done"] == logs[1]["epochs_done"] == 2
    assert logs[0]["pairs_trained"] == logs[1]["pairs_trained"]
    assert logs[0]["loss"][0] != logs[0]["loss"][-1]  # it trained
    tops = [torch.load(d / BEST_FILE, weights_only=False)["top"] for d in (whole, killed)]
    for name in tops[0]:
        assert torch.allclose(tops[0][name], tops[1][name], atol=1e-5), name

    # a random tiny model does not beat its start on dev: nothing is exported ...
    with pytest.raises(SystemExit, match="does not beat"):
        export_run(killed, init_dir, index_dir, tmp_path / "model", tmp_path / "report")
    assert not (tmp_path / "model").exists()
    # ... unless told to export anyway; the other checks still hold
    metrics = export_run(
        killed, init_dir, index_dir, tmp_path / "model", tmp_path / "report", require_gain=False
    )
    assert TextEncoder(tmp_path / "model").two_towers
    assert metrics["passage_agreement"]["exported"] >= metrics["passage_agreement"]["init"] - 0.002
    assert "tuned query tower (int8)" in (tmp_path / "report" / "report.md").read_text()
