"""Fixtures of the release tests: the release tooling on sys.path, required system tools."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
sys.path.insert(0, str(PACKAGING))


def require_tool(name: str) -> str:
    """The tool's path; skips the test without it, except in CI, which must have it."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing: .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture()
def tool():
    """``tool(name)``: see :func:`require_tool`."""
    return require_tool
