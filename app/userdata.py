"""The coder's own small store: favourite codes and search history (no Qt).

One SQLite file (``data_dir() / "user.db"`` in the app; any path in tests), in WAL mode;
every write is one transaction. History may contain patient data, so it can be switched
off (then nothing is written to it) and purged. Nothing here logs query text.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from app.codes import format_code

log = logging.getLogger(__name__)

USER_DB_NAME = "user.db"
USERDATA_SCHEMA_VERSION = 1
#: History keeps at most this many entries (oldest dropped first).
HISTORY_LIMIT = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS favourites (
    code TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('query', 'code')),
    value TEXT NOT NULL,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Favourite:
    """A starred code with the title it had when starred."""

    code: str
    title: str
    added: float


@dataclass(frozen=True)
class HistoryEntry:
    """A query typed or a code looked at."""

    kind: str
    value: str
    at: float


def user_db_path(root: Path) -> Path:
    """The user database inside a data folder. Example: ``user_db_path(data_dir())``"""
    return root / USER_DB_NAME


class UserData:
    """Favourites and history in a small SQLite database (thread-safe, WAL, atomic writes).

    Args:
        path: the database file (created with its folder when missing).

    Example: ``UserData(tmp / "user.db").add_favourite("I10", "Hipertensión esencial")``
    """

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self.conn.executescript(
                f"BEGIN;{_SCHEMA}INSERT OR IGNORE INTO settings (key, value) "
                f"VALUES ('schema_version', '{USERDATA_SCHEMA_VERSION}');COMMIT;"
            )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self.conn.close()

    def _write(self, sql: str, params: tuple = ()) -> None:
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute(sql, params)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    # -- favourites -----------------------------------------------------------------------

    def add_favourite(self, code: str, title: str = "") -> None:
        """Star a code (idempotent). Example: ``ud.add_favourite("s72001a")``"""
        self._write(
            "INSERT OR REPLACE INTO favourites (code, title, added) VALUES (?, ?, ?)",
            (format_code(code), title, time.time()),
        )

    def remove_favourite(self, code: str) -> None:
        """Unstar a code (no error when it was not starred)."""
        self._write("DELETE FROM favourites WHERE code = ?", (format_code(code),))

    def set_favourite(self, code: str, starred: bool, title: str = "") -> None:
        """Star or unstar a code."""
        if starred:
            self.add_favourite(code, title)
        else:
            self.remove_favourite(code)

    def is_favourite(self, code: str) -> bool:
        """True when the code is starred."""
        return bool(self._read("SELECT 1 FROM favourites WHERE code = ?", (format_code(code),)))

    def favourites(self) -> list[Favourite]:
        """Starred codes, most recent first."""
        rows = self._read("SELECT code, title, added FROM favourites ORDER BY added DESC, code")
        return [Favourite(*row) for row in rows]

    # -- history --------------------------------------------------------------------------

    @property
    def history_enabled(self) -> bool:
        """Whether queries and codes looked at are recorded (default: on)."""
        rows = self._read("SELECT value FROM settings WHERE key = 'history_enabled'")
        return not rows or rows[0][0] == "1"

    def set_history_enabled(self, enabled: bool) -> None:
        """Switch history recording on or off (existing entries stay until purged)."""
        self._write(
            "INSERT OR REPLACE INTO settings (key, value) VALUES ('history_enabled', ?)",
            ("1" if enabled else "0",),
        )

    def record(self, kind: str, value: str) -> bool:
        """Add a history entry (``kind`` is ``"query"`` or ``"code"``) when history is on.

        Returns:
            True when something was written.
        """
        if kind not in ("query", "code"):
            raise ValueError(f"history kind must be 'query' or 'code', not {kind!r}")
        value = value.strip()
        if not value or not self.history_enabled:
            return False
        if kind == "code":
            value = format_code(value)
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute(
                    "INSERT INTO history (kind, value, at) VALUES (?, ?, ?)",
                    (kind, value, time.time()),
                )
                self.conn.execute(
                    "DELETE FROM history WHERE id <= "
                    "(SELECT id FROM history ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (HISTORY_LIMIT,),
                )
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        return True

    def history(self, kind: str | None = None, limit: int = 50) -> list[HistoryEntry]:
        """Recent entries, newest first, distinct by (kind, value)."""
        sql = "SELECT kind, value, max(at) AS last FROM history"
        params: tuple = ()
        if kind is not None:
            sql += " WHERE kind = ?"
            params = (kind,)
        sql += " GROUP BY kind, value ORDER BY last DESC LIMIT ?"
        rows = self._read(sql, (*params, limit))
        return [HistoryEntry(*row) for row in rows]

    def history_count(self) -> int:
        """Number of stored history rows."""
        return int(self._read("SELECT count(*) FROM history")[0][0])

    def purge_history(self) -> None:
        """Delete every history entry and compact the file so nothing lingers on disk."""
        self._write("DELETE FROM history")
        with self._lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.execute("VACUUM")
        log.info("history purged")
