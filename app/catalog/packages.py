"""Locate data files inside installed packages without importing them (importing
``simple_icd_10_cm`` parses its whole XML, seconds we do not need to spend)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from app.errors import CatalogSourceError


def package_file(package: str, *parts: str) -> Path:
    """Path of a file shipped inside an installed package.

    Raises:
        CatalogSourceError: the package is not installed or lacks the file.

    Example: ``package_file("cie", "data", "cie-10.zip").name == "cie-10.zip"``
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CatalogSourceError(
            f"package {package!r} is not installed; reinstall Cielo (pip install -e .)"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise CatalogSourceError(f"{path} is missing from package {package!r}; reinstall it")
    return path
