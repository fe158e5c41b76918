"""Where Cielo's files live: the read-only bundled resources and the user's data folder.

``CIELO_RESOURCES`` and ``CIELO_DATA_DIR`` override the defaults (tests, portable installs).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "cielo"


def resources_dir() -> Path:
    """The bundled ``resources/`` folder (inside a frozen app: next to the executable).

    Example: ``(resources_dir() / "abbreviations.tsv").exists()``
    """
    override = os.environ.get("CIELO_RESOURCES")
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def data_dir() -> Path:
    """The user's data folder (catalog editions, favourites, history); not created here.

    Example: ``data_dir().name == "cielo"`` (on Linux: ``~/.local/share/cielo``)
    """
    override = os.environ.get("CIELO_DATA_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def notice_path() -> Path | None:
    """The ``NOTICE`` file (licences, data attributions): in the resources folder of an
    installed app, else at the root of a source checkout; None when neither has one.

    Example: ``notice_path().read_text().startswith("Cielo")``
    """
    candidates = (resources_dir() / "NOTICE", Path(__file__).resolve().parent.parent / "NOTICE")
    return next((path for path in candidates if path.is_file()), None)
