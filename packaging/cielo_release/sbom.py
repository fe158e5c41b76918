"""A CycloneDX 1.5 SBOM (JSON) of the frozen app: Cielo itself, every Python distribution it
contains (with PyPI purls and licences) and the system libraries copied into it."""

from __future__ import annotations

import json
from pathlib import Path

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.output.json import JsonV1Dot5
from packageurl import PackageURL

from cielo_release.contents import Distribution, SystemLibrary


def _licences(text: str) -> list:
    if text == "UNKNOWN":
        return []
    if " OR " in text or " AND " in text or "(" in text:
        return [LicenseExpression(text)]
    return [DisjunctiveLicense(name=text)]


def build_sbom(version: str, dists: list[Distribution], libraries: list[SystemLibrary]) -> str:
    """The SBOM as JSON text (the packages' own hashes are in the signed ``SHA256SUMS``)."""
    root = Component(
        name="cielo", version=version, type=ComponentType.APPLICATION,
        bom_ref=f"cielo@{version}", licenses=[DisjunctiveLicense(id="MIT")],
        description="Offline CIE-10-ES coding assistant (frozen one-folder build)",
    )
    bom = Bom()
    bom.metadata.component = root
    for dist in dists:
        component = Component(
            name=dist.name, version=dist.version, type=ComponentType.LIBRARY,
            bom_ref=f"pypi:{dist.name}@{dist.version}",
            purl=PackageURL("pypi", name=dist.name.lower(), version=dist.version),
            licenses=_licences(dist.licence),
        )
        bom.components.add(component)
        bom.register_dependency(root, [component])
    for lib in libraries:
        purl = (PackageURL("deb", "debian", lib.package, lib.version)
                if lib.package and lib.package != "python" else None)
        component = Component(
            name=lib.package or lib.file, version=lib.version or "", type=ComponentType.LIBRARY,
            bom_ref=f"file:{lib.file}", purl=purl, description=f"shared library {lib.file}",
        )
        bom.components.add(component)
        bom.register_dependency(root, [component])
    text = JsonV1Dot5(bom).output_as_string(indent=1)
    json.loads(text)  # fail here, not at the reader, if the library wrote bad JSON
    return text


def write_sbom(
    path: Path, version: str, dists: list[Distribution], libraries: list[SystemLibrary]
) -> Path:
    """Write :func:`build_sbom` to ``path``."""
    path.write_text(build_sbom(version, dists, libraries) + "\n", encoding="utf-8")
    return path
