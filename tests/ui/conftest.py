"""Qt test fixtures: offscreen platform and a fresh main window per test.

The session catalog (``catalog_path``, ``store``) and the installed ``data_dir`` come from
``tests/conftest.py``, so the real catalog is built once per test run.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.catalog.store import CatalogStore  # noqa: E402


@pytest.fixture
def empty_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user data folder without any catalog, which ``app.paths.data_dir()`` points at."""
    root = tmp_path / "empty-data"
    root.mkdir()
    monkeypatch.setenv("CIELO_DATA_DIR", str(root))
    return root


@pytest.fixture
def user_db(tmp_path: Path) -> Path:
    """Where the window keeps favourites and history in a test."""
    return tmp_path / "user" / "user.db"


@pytest.fixture
def window(qtbot, store: CatalogStore, user_db: Path) -> Iterator:
    """A started main window on the shared session catalog: ``(view, controller)``."""
    from app.ui.app import create_window
    from app.ui.worker import wait_for_tasks

    view, controller = create_window(
        userdata_path=user_db, open_store=lambda progress=None: store
    )
    qtbot.addWidget(view)
    view.show()
    controller.start()
    qtbot.waitUntil(lambda: controller.session is not None, timeout=10_000)
    yield view, controller
    wait_for_tasks()
    if controller.session is not None and controller.session.userdata is not None:
        controller.session.userdata.close()


@pytest.fixture
def installed_data_dir(data_dir: Path) -> Path:
    """The root conftest's ``data_dir``: the session catalog installed as the active edition."""
    return data_dir
