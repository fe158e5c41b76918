"""Favourites and history store (app.userdata)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.userdata import HISTORY_LIMIT, UserData, user_db_path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return user_db_path(tmp_path / "data")


def test_creates_folder_and_uses_wal(db_path: Path) -> None:
    ud = UserData(db_path)
    assert db_path.exists()
    assert ud.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    ud.close()


def test_favourites_persist_across_instances(db_path: Path) -> None:
    # Given a starred code
    first = UserData(db_path)
    first.add_favourite("s72001a", "Fractura")
    first.add_favourite("I10", "Hipertensión")
    first.close()
    # When a new instance opens the same file
    second = UserData(db_path)
    # Then the favourites are there, canonical and newest first
    assert second.is_favourite("S72.001A")
    assert [f.code for f in second.favourites()] == ["I10", "S72.001A"]
    second.set_favourite("I10", False)
    second.close()
    assert [f.code for f in UserData(db_path).favourites()] == ["S72.001A"]


def test_history_records_and_dedupes(db_path: Path) -> None:
    ud = UserData(db_path)
    assert ud.history_enabled
    assert ud.record("query", "fractura de cadera")
    assert ud.record("code", "s72001a")
    assert ud.record("query", "fractura de cadera")
    assert ud.history_count() == 3
    entries = ud.history()
    assert [(e.kind, e.value) for e in entries] == [
        ("query", "fractura de cadera"),
        ("code", "S72.001A"),
    ]
    assert [e.value for e in ud.history("code")] == ["S72.001A"]
    assert not ud.record("query", "   ")


def test_history_off_writes_nothing(db_path: Path) -> None:
    # Given history switched off
    ud = UserData(db_path)
    ud.set_history_enabled(False)
    # When the coder searches and looks at codes
    assert not ud.record("query", "IAM inferior")
    assert not ud.record("code", "I21.19")
    ud.close()
    # Then no row was written, and the setting persists
    reopened = UserData(db_path)
    assert reopened.history_count() == 0
    assert not reopened.history_enabled
    raw = sqlite3.connect(db_path).execute("SELECT count(*) FROM history").fetchone()[0]
    assert raw == 0


def test_purge_empties_history(db_path: Path) -> None:
    ud = UserData(db_path)
    for i in range(5):
        ud.record("query", f"consulta {i}")
    ud.purge_history()
    assert ud.history_count() == 0
    assert ud.history() == []


def test_history_is_capped(db_path: Path) -> None:
    ud = UserData(db_path)
    for i in range(HISTORY_LIMIT + 20):
        ud.record("code", f"I{10 + i % 80}")
    assert ud.history_count() == HISTORY_LIMIT


def test_bad_kind_rejected(db_path: Path) -> None:
    with pytest.raises(ValueError):
        UserData(db_path).record("other", "x")
