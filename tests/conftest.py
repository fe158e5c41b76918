"""Session fixtures: one real catalog built from the bundled sources, shared read-only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.catalog.default import build_default_catalog
from app.catalog.store import CatalogStore

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def catalog_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default catalog with CodiEsp train aliases (as evaluation on dev uses)."""
    path = tmp_path_factory.mktemp("catalog") / "catalog.db"
    build_default_catalog(path, alias_splits=("train",))
    return path


@pytest.fixture(scope="session")
def store(catalog_path: Path) -> CatalogStore:
    """A read-only store over the session catalog."""
    return CatalogStore(catalog_path)


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog_path: Path) -> Path:
    """A user data folder (``CIELO_DATA_DIR``) whose active catalog is the session one."""
    from app.catalog.editions import EditionManager
    from app.catalog.open import catalogs_dir

    root = tmp_path / "data"
    monkeypatch.setenv("CIELO_DATA_DIR", str(root))
    EditionManager(catalogs_dir(root)).install(
        "icd10cm-2026", lambda path: shutil.copyfile(catalog_path, path)
    )
    return root


def _seal(root: Path) -> Path:
    """Give a test's resources folder its own manifest (the app refuses unlisted files), with
    the other keys of the bundled one."""
    from app.integrity import MANIFEST_FILE, write_manifest
    from app.paths import resources_dir

    bundled = json.loads((resources_dir() / MANIFEST_FILE).read_text(encoding="utf-8"))
    (root / MANIFEST_FILE).unlink(missing_ok=True)
    write_manifest(root, bundled)
    return root


@pytest.fixture(scope="session")
def seal_resources():
    """``seal_resources(root)``: write ``root/manifest.json`` for the files now in ``root``."""
    return _seal


@pytest.fixture(scope="session")
def reranker_resources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled resources (linked) without the learned ranker, plus a ``reranker/``
    exported from a tiny randomly initialised cross-encoder over the real tokenizer: a real
    int8 ONNX reranker whose scores mean nothing, for testing the stage's plumbing, not its
    ranking."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from app.paths import resources_dir
    from training.rerank.export import export
    from training.rerank.model import CrossEncoder

    root = tmp_path_factory.mktemp("reranked")
    tokenizer = resources_dir() / "model" / "tokenizer.json"
    vocab = len(json.loads(tokenizer.read_text(encoding="utf-8"))["model"]["vocab"])
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=vocab, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=96, pad_token_id=1,
    )  # fmt: skip
    model = CrossEncoder(transformers.BertModel(config, add_pooling_layer=False))
    torch.nn.init.normal_(model.head.weight, std=1.0)
    model.save(root / "checkpoint", tokenizer)
    resources = root / "resources"
    resources.mkdir()
    for item in resources_dir().iterdir():
        if item.name not in ("reranker", "ranker"):  # the learned ranker would take over
            (resources / item.name).symlink_to(item)
    export(root / "checkpoint", resources / "reranker", top_n=8)
    return _seal(resources)


@pytest.fixture()
def with_reranker(monkeypatch: pytest.MonkeyPatch, reranker_resources: Path) -> Path:
    """Point the app at :func:`reranker_resources` for one test."""
    monkeypatch.setenv("CIELO_RESOURCES", str(reranker_resources))
    return reranker_resources
