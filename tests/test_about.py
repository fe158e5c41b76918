"""About data (no Qt): versions, model bundle from the manifest, licences and attributions."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import shutil
from pathlib import Path

import pytest

from app import __version__
from app.about import about_info, model_bundle
from app.paths import resources_dir


def test_about_info_has_versions_bundle_and_attributions() -> None:
    info = about_info("icd10cm-2026")
    assert info.app_version == __version__ and info.edition == "icd10cm-2026"
    components = dict(info.components)
    assert components["Python"] == platform.python_version()
    assert components["onnxruntime"] == importlib.metadata.version("onnxruntime")
    assert components["usearch"] == importlib.metadata.version("usearch")
    assert components["PySide6"]
    assert info.bundle is not None and info.bundle.name == "cielo-biencoder"
    assert info.bundle.base_model == "intfloat/multilingual-e5-small"
    assert len(info.bundle.version) == 12
    for credit in ("CodiEsp", "CC-BY-4.0", "Zenodo 10.5281/zenodo.3837305",
                   "multilingual-e5-small", "simple-icd-10-cm", "package cie", "GNU Health"):
        assert credit in info.notice, credit


def test_model_bundle_reads_the_manifest(tmp_path: Path) -> None:
    manifest = json.loads((resources_dir() / "manifest.json").read_text(encoding="utf-8"))
    bundle = model_bundle()
    assert bundle is not None
    assert bundle.version == manifest["files"]["model/encoder.onnx"][:12]
    assert bundle.label == f"cielo-biencoder {bundle.version}"
    assert bundle.dim == manifest["encoder"]["dim"]
    assert model_bundle(tmp_path) is None  # no manifest
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    assert model_bundle(tmp_path) is None


def test_installed_notice_is_found_in_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an installed app has no source checkout: the NOTICE ships in resources/
    shutil.copyfile(resources_dir() / "manifest.json", tmp_path / "manifest.json")
    (tmp_path / "NOTICE").write_text("Installed NOTICE: CodiEsp (CC-BY-4.0)\n", encoding="utf-8")
    monkeypatch.setenv("CIELO_RESOURCES", str(tmp_path))
    info = about_info()
    assert info.notice.startswith("Installed NOTICE")
    assert info.bundle is not None and info.edition is None
