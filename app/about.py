"""What the About dialog and the status bar say about this installation (no Qt).

Versions come from package metadata (or an already imported module); the model bundle from
``resources/manifest.json``; licences and data attributions from the ``NOTICE`` file.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from app import __version__
from app.integrity import MANIFEST_FILE
from app.paths import notice_path, resources_dir

ENCODER_FILE = "model/encoder.onnx"

#: Runtime components shown in the About dialog: (label, distribution, module).
COMPONENTS = (
    ("PySide6", "PySide6-Essentials", "PySide6"),
    ("onnxruntime", "onnxruntime", "onnxruntime"),
    ("usearch", "usearch", "usearch"),
    ("tokenizers", "tokenizers", "tokenizers"),
    ("NumPy", "numpy", "numpy"),
)


@dataclass(frozen=True)
class ModelBundle:
    """The bundled encoder as its manifest describes it.

    Attributes:
        name: the bundle's name, e.g. ``cielo-biencoder``.
        version: the first 12 hex digits of the encoder's SHA-256 (the manifest has no
            version number; this names one build exactly).
        base_model: e.g. ``intfloat/multilingual-e5-small``.
        base_source: where the base weights came from.
        quantization: e.g. ``qint8-pc-emb``.
        dim: vector dimensions.
    """

    name: str
    version: str
    base_model: str
    base_source: str
    quantization: str
    dim: int | None

    @property
    def label(self) -> str:
        """Name and version. Example: ``"cielo-biencoder 089a7be2f3ab"``"""
        return f"{self.name} {self.version}".strip()


def model_bundle(resources: Path | None = None) -> ModelBundle | None:
    """The bundle described by ``resources/manifest.json``; None when it is missing or unreadable.

    Example: ``model_bundle().base_model == "intfloat/multilingual-e5-small"``
    """
    path = (resources or resources_dir()) / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        base = manifest.get("base_model") or {}
        encoder = manifest.get("encoder") or {}
        return ModelBundle(
            name=str(manifest.get("bundle") or "?"),
            version=str((manifest.get("files") or {}).get(ENCODER_FILE) or "")[:12],
            base_model=str(base.get("name") or "?"),
            base_source=str(base.get("source") or ""),
            quantization=str(encoder.get("quantization") or ""),
            dim=encoder.get("dim"),
        )
    except (OSError, ValueError, AttributeError):
        return None


def package_version(distribution: str, module: str) -> str | None:
    """A package's version from its metadata, else from the module if already imported
    (nothing is imported here: importing usearch before onnxruntime crashes).

    Example: ``package_version("numpy", "numpy")``
    """
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        loaded = sys.modules.get(module)
        return getattr(loaded, "__version__", None) if loaded is not None else None


def notice_text() -> str:
    """The ``NOTICE`` text: from the resources or the source checkout, else from the
    installed package's metadata; empty when none is found."""
    path = notice_path()
    if path is not None:
        return path.read_text(encoding="utf-8")
    try:
        dist = importlib.metadata.distribution("cielo")
    except importlib.metadata.PackageNotFoundError:
        return ""
    return dist.read_text("licenses/NOTICE") or dist.read_text("NOTICE") or ""


@dataclass(frozen=True)
class AboutInfo:
    """Everything the About dialog shows.

    Attributes:
        components: ``(name, version)`` pairs; the version is None when unknown.
    """

    app_version: str
    edition: str | None
    bundle: ModelBundle | None
    components: tuple[tuple[str, str | None], ...]
    notice: str


def about_info(edition: str | None = None, resources: Path | None = None) -> AboutInfo:
    """Gather the About data: versions, active edition, model bundle, licences.

    Example: ``"CC-BY-4.0" in about_info("icd10cm-2026").notice``
    """
    components = (
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        *((label, package_version(dist, module)) for label, dist, module in COMPONENTS),
    )
    return AboutInfo(
        app_version=__version__,
        edition=edition,
        bundle=model_bundle(resources),
        components=components,
        notice=notice_text(),
    )
